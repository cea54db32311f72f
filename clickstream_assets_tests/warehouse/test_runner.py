import logging
import subprocess
import sys
import traceback

import pytest
from dagster import EnvVar
from dagster_snowflake import SnowflakeResource

from clickstream_assets.resources.warehouse import WarehouseLocked, WarehouseResource
from clickstream_assets.warehouse.clickstream import load_clickstream
from clickstream_assets.warehouse.runner import bootstrap, ensure_bootstrapped
from clickstream_assets.warehouse.statements import InvalidIdentifier
from clickstream_assets_tests.warehouse.conftest import scalar

SECRET = "sentinel-Pa55word-4815"


def test_bootstrap_twice_is_safe_and_skips_snowflake_only(warehouse, caplog):
    caplog.set_level(logging.INFO)

    first = bootstrap(warehouse)
    second = bootstrap(warehouse)

    assert first.applied == second.applied
    assert "bootstrap/00_warehouse.sql#1" in first.skipped
    assert "bootstrap/15_pipeline_role.sql#1" in first.skipped
    assert "skipped bootstrap/00_warehouse.sql#1 on fakesnow" in caplog.text
    assert (
        scalar(
            warehouse,
            "SELECT COUNT(*) FROM ANALYTICS.INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'RAW'",
        )
        >= 7
    )
    assert ensure_bootstrapped(warehouse) is False


def test_load_clickstream_refuses_a_malicious_table_before_any_sql(tmp_path):
    # No warehouse directory exists: a statement reaching the warehouse would create it.
    untouched = WarehouseResource(
        snowflake=SnowflakeResource(account="fakesnow", user="u", password="p"),
        embedded_path=str(tmp_path / "never"),
    )
    source = tmp_path / "clickstream-enwiki-2024-10.tsv"
    source.write_text("a\tb\tlink\t10\n")

    with pytest.raises(InvalidIdentifier, match="PAGEVIEWS; DROP TABLE X"):
        load_clickstream(untouched, source, "enwiki", "2024-10-01", table="PAGEVIEWS; DROP TABLE X")

    assert not (tmp_path / "never").exists()


def test_locked_warehouse_error_names_no_password(tmp_path, monkeypatch):
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", SECRET)
    directory = tmp_path / "warehouse"
    directory.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; held = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); "
            "time.sleep(30)",
            str(directory / "ANALYTICS.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        resource = WarehouseResource(
            snowflake=SnowflakeResource(
                account="fakesnow",
                user="u",
                password=EnvVar("SNOWFLAKE_PASSWORD"),
                database="ANALYTICS",
            ),
            embedded_path=str(directory),
            lock_timeout_s=1.0,
        ).process_config_and_initialize_cm()

        with resource as warehouse, pytest.raises(WarehouseLocked) as raised:
            bootstrap(warehouse)
    finally:
        holder.kill()
        holder.wait()

    text = "".join(traceback.format_exception(raised.value))
    assert "stayed locked by another process" in text
    assert SECRET not in text
