import gzip
import logging

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner
from dagster import DagsterInstance, EnvVar, MultiPartitionKey, materialize
from dagster_snowflake import SnowflakeResource

from clickstream_assets import settings
from clickstream_assets.resources.warehouse import WarehouseResource, embedded_snowflake
from clickstream_assets.warehouse.assets import raw_clickstream, raw_pageviews, warehouse_checks
from clickstream_assets.warehouse.cli import warehouse as warehouse_cli
from clickstream_assets_tests.warehouse.conftest import pageview_lines, publish, scalar, write_hour
from clickstream_assets_tests.warehouse.test_runner import SECRET


def run_raw_pageviews(warehouse, kafka, config=None):
    return materialize(
        [raw_pageviews, *warehouse_checks],
        resources={"warehouse": warehouse, "kafka": kafka},
        run_config={"ops": {"raw_pageviews": {"config": config or {}}}},
        instance=DagsterInstance.ephemeral(),
    )


def check_results(result) -> dict[str, bool]:
    return {
        event.event_specific_data.check_name: event.event_specific_data.passed
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_raw_pageviews_reports_and_passes_its_checks(tmp_path, warehouse, kafka):
    dump = write_hour(tmp_path / "dumps", pageview_lines(1_200))
    publish(kafka, dump)
    publish(kafka, dump)

    result = run_raw_pageviews(warehouse, kafka, {"batch_size": 500})

    metadata = result.asset_materializations_for_node("raw_pageviews")[0].metadata
    assert metadata["dagster/row_count"].value == 1_200
    assert metadata["duplicates_skipped"].value == 1_200
    assert metadata["rejects"].value == 0
    assert metadata["table"].value == "ANALYTICS.RAW.PAGEVIEWS"
    assert sum(span["next"] - span["first"] for span in metadata["offsets"].value.values()) == 2_400
    assert "| PROJECT |" in metadata["preview"].value
    assert check_results(result) == {
        "has_no_rejected_messages": True,
        "raw_rows_match_consumed_offsets": True,
        "has_no_duplicate_lines": True,
        "variant_fields_have_expected_types": True,
    }


def test_raw_pageviews_checks_catch_tampered_rows(tmp_path, warehouse, kafka):
    publish(kafka, write_hour(tmp_path / "dumps", pageview_lines(300)))
    run_raw_pageviews(warehouse, kafka)
    with warehouse.connection() as conn:
        conn.cursor().execute(
            "INSERT INTO ANALYTICS.RAW.PAGEVIEWS (RAW, SOURCE_FILE, LINE_NUMBER, KAFKA_TOPIC, "
            'KAFKA_PARTITION, KAFKA_OFFSET) SELECT PARSE_JSON(\'{"project":"en",'
            '"page_title":"X","views":"many","bytes":1,"hour":"h"}\'), SOURCE_FILE, '
            "LINE_NUMBER, KAFKA_TOPIC, KAFKA_PARTITION, 999999 FROM ANALYTICS.RAW.PAGEVIEWS "
            "LIMIT 1"
        )

    result = run_raw_pageviews(warehouse, kafka)

    assert check_results(result) == {
        "has_no_rejected_messages": True,
        "raw_rows_match_consumed_offsets": False,
        "has_no_duplicate_lines": False,
        "variant_fields_have_expected_types": False,
    }


def test_raw_pageviews_logs_and_metadata_hold_no_password(tmp_path, kafka, monkeypatch, caplog):
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", SECRET)
    caplog.set_level(logging.DEBUG)
    warehouse = WarehouseResource(
        snowflake=SnowflakeResource(
            account="fakesnow",
            user="u",
            password=EnvVar("SNOWFLAKE_PASSWORD"),
            database="ANALYTICS",
            schema="RAW",
        ),
        embedded_path=str(tmp_path / "warehouse"),
    )
    publish(kafka, write_hour(tmp_path / "dumps", pageview_lines(50)))

    result = run_raw_pageviews(warehouse, kafka)

    assert result.success
    events = "\n".join(repr(event) for event in result.all_events)
    assert "ANALYTICS.RAW.PAGEVIEWS" in events
    assert SECRET not in events
    assert SECRET not in caplog.text


def write_clickstream_parquet(rows: int, wiki: str = "enwiki", month: str = "2024-10-01"):
    path = settings.clickstream_parquet_path(wiki, month)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "prev": [f"P{i % 10}" for i in range(rows)],
            "curr": [f"C{i}" for i in range(rows)],
            "type": ["link"] * rows,
            "n": list(range(1, rows + 1)),
        }
    )
    pq.write_table(table, path)
    return path


def test_raw_clickstream_replaces_its_partition(tmp_path, warehouse, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    write_clickstream_parquet(1_000)
    key = MultiPartitionKey({"month": "2024-10-01", "wiki": "enwiki"})

    for _ in range(2):
        result = materialize(
            [raw_clickstream], resources={"warehouse": warehouse}, partition_key=key
        )

    metadata = result.asset_materializations_for_node("raw_clickstream")[0].metadata
    assert metadata["dagster/row_count"].value == 1_000
    assert metadata["rows_replaced"].value == 1_000
    assert metadata["sum_n"].value == 500_500
    assert scalar(warehouse, "SELECT COUNT(*) FROM ANALYTICS.RAW.CLICKSTREAM_TYPED") == 1_000
    assert (
        scalar(
            warehouse,
            "SELECT N FROM ANALYTICS.RAW.CLICKSTREAM_TYPED WHERE CURR = 'C41' AND TYPE = 'link'",
        )
        == 42
    )


def test_cli_load_writes_a_dump_into_the_named_table(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    dump = tmp_path / "clickstream-dewiki-2024-09.tsv.gz"
    text = "other-search\tBerlin\texternal\t30\nBerlin\tKöln\tlink\t12\n"
    dump.write_bytes(gzip.compress(text.encode("utf-8")))

    result = CliRunner().invoke(warehouse_cli, ["load", "--source", str(dump), "--table", "mine"])

    assert result.exit_code == 0, result.output
    assert "loaded 2 rows into ANALYTICS.RAW.MINE (dewiki 2024-09" in result.output
    warehouse = WarehouseResource(
        snowflake=embedded_snowflake(),
        embedded_path=str(tmp_path / "data" / "warehouse"),
    )
    assert (
        scalar(warehouse, "SELECT RAW:n::INT FROM ANALYTICS.RAW.MINE WHERE LINE_NUMBER = 2") == 12
    )


def test_cli_load_refuses_a_malicious_table(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    dump = tmp_path / "clickstream-dewiki-2024-09.tsv"
    dump.write_text("a\tb\tlink\t1\n")

    result = CliRunner().invoke(
        warehouse_cli, ["load", "--source", str(dump), "--table", "PAGEVIEWS; DROP TABLE X"]
    )

    assert result.exit_code == 2
    assert "not a Snowflake identifier" in result.output
    assert not (tmp_path / "data" / "warehouse").exists()
