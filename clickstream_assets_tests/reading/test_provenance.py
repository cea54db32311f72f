import os
import shutil
from datetime import timedelta

from clickstream_assets import settings
from clickstream_assets.reading import catalog, provenance
from clickstream_assets.reading.catalog import ClickstreamDataset
from clickstream_assets_tests.reading.materialized import MONTHS, WIKI

MONTH = ClickstreamDataset(WIKI, MONTHS[1])


def test_materialization_of_names_the_run_that_wrote_the_file(materialized):
    instance = provenance.open_instance()
    version = catalog.version_of(MONTH.analytics("page_exits"))

    shown = provenance.materialization_of(instance, "page_exits", MONTH.partition_key, version)

    assert shown.run_id == materialized.runs[MONTH.partition_key]
    assert shown.recorded
    assert shown.timestamp >= version.modified - provenance.CLOCK_SLACK


def test_materialization_of_a_file_newer_than_its_record_says_so(materialized, tmp_path):
    instance = provenance.open_instance()
    record = provenance.latest_materialization(instance, "page_exits", MONTH.partition_key)
    copy = tmp_path / "page_exits.parquet"
    shutil.copy(MONTH.analytics("page_exits"), copy)
    later = (record.timestamp + timedelta(hours=1)).timestamp()
    os.utime(copy, (later, later))

    shown = provenance.materialization_of(
        instance, "page_exits", MONTH.partition_key, catalog.version_of(copy)
    )

    assert not shown.recorded
    assert shown.timestamp == catalog.version_of(copy).modified
    assert "newer than the last recorded materialization" in shown.note


def test_materialization_of_without_instance_is_the_file_time(materialized, tmp_path):
    version = catalog.version_of(MONTH.analytics("page_exits"))

    shown = provenance.materialization_of(None, "page_exits", MONTH.partition_key, version)

    assert (shown.run_id, shown.timestamp) == (None, version.modified)
    assert "no Dagster instance" in shown.note


def test_materialization_of_nothing_anywhere_is_none(materialized):
    instance = provenance.open_instance()

    shown = provenance.materialization_of(instance, "page_exits", "2020-01-01|dewiki", None)

    assert shown is None


def test_open_instance_of_a_home_never_set_up_is_none(tmp_path):
    instance = provenance.open_instance(tmp_path / "dagster_home")

    assert instance is None
    assert not (tmp_path / "dagster_home").exists()


def test_asset_url_opens_the_partition_in_the_configured_ui(monkeypatch):
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "https://dagster.example.org/prod/")

    url = provenance.asset_url("page_exits", "2024-10-01|enwiki")

    assert url == (
        "https://dagster.example.org/prod/assets/page_exits"
        "?view=partitions&partition=2024-10-01%7Cenwiki"
    )


def test_asset_url_defaults_to_the_local_webserver(monkeypatch):
    monkeypatch.delenv("DAGSTER_WEBSERVER_URL", raising=False)
    monkeypatch.delenv("DAGSTER_WEBSERVER_PORT", raising=False)

    url = provenance.asset_url("session_metrics")

    assert url == f"http://127.0.0.1:{settings.DEFAULT_WEBSERVER_PORT}/assets/session_metrics"


def test_not_materialized_names_the_asset_and_its_partition():
    text = provenance.not_materialized("page_exits", "2024-10-01|enwiki", "enwiki 2024-10")

    assert text.startswith("`page_exits` is not materialized for enwiki 2024-10 yet.")
    assert "(partition `2024-10-01|enwiki`)" in text
    assert provenance.asset_url("page_exits", "2024-10-01|enwiki") in text
