"""session_metrics and the sensor through Dagster, against the broker, local Spark and fakesnow."""

from datetime import UTC, datetime

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)

from clickstream_assets.sessions.assets import session_checks, session_metrics
from clickstream_assets.sessions.sensors import pageview_topic_sensor, run_key_for
from clickstream_assets.warehouse.assets import raw_pageviews
from clickstream_assets_tests.sessions.conftest import publish_lines, stored_sessions


def hour(h: int) -> datetime:
    return datetime(2024, 10, 1, h, tzinfo=UTC)


def lines_for(h: int) -> list[str]:
    return [f"en A_{h} {h} 100", f"en B_{h} 1 10", f"de C_{h} 2 0", f"fr D_{h} 3 30"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data dir of the test's own, so the asset's checkpoint lives in tmp."""
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def materialize_consumers(spark_resource, kafka, warehouse, run_config=None):
    return materialize(
        [raw_pageviews, session_metrics, *session_checks],
        resources={"spark": spark_resource, "kafka": kafka, "warehouse": warehouse},
        instance=DagsterInstance.ephemeral(),
        run_config=run_config,
        selection=["raw_pageviews", "session_metrics"],
    )


def test_session_metrics_materializes_reports_and_passes_its_checks(
    spark, spark_resource, kafka, warehouse, data_dir, tmp_path
):
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))

    result = materialize_consumers(spark_resource, kafka, warehouse)

    assert result.success
    metadata = result.asset_materializations_for_node("session_metrics")[0].metadata
    assert metadata["dagster/row_count"].value == 6
    assert metadata["events_read"].value == 12
    assert metadata["late_events_dropped"].value == 0
    assert metadata["table"].value == "ANALYTICS.MODELLED.SESSION_METRICS"
    assert metadata["watermark"].value.startswith("2024-10-01T11:45")
    assert "| en |" in metadata["preview"].value
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "has_no_rejected_messages": True,
        "has_no_duplicate_sessions": True,
        "has_no_overlapping_sessions": True,
        "session_views_reconcile_with_raw": True,
    }
    assert ("en", "2024-10-01 10:00:00", "2024-10-01 10:10:00", 2, 11, 110) in stored_sessions(
        warehouse
    )


def test_session_metrics_truncate_needs_the_exact_confirmation(
    spark, spark_resource, kafka, warehouse, data_dir
):
    config = {"ops": {"session_metrics": {"config": {"truncate_target": "yes"}}}}

    with pytest.raises(
        ValueError, match=r"set it to exactly 'ANALYTICS\.MODELLED\.SESSION_METRICS'"
    ):
        materialize_consumers(spark_resource, kafka, warehouse, run_config=config)


def test_session_metrics_truncate_rebuilds_the_same_sessions(
    spark, spark_resource, kafka, warehouse, data_dir, tmp_path
):
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))
    materialize_consumers(spark_resource, kafka, warehouse)
    before = stored_sessions(warehouse)
    confirm = "ANALYTICS.MODELLED.SESSION_METRICS"
    config = {"ops": {"session_metrics": {"config": {"truncate_target": confirm}}}}

    rebuilt = materialize_consumers(spark_resource, kafka, warehouse, run_config=config)

    assert rebuilt.success
    assert stored_sessions(warehouse) == before


def evaluate_sensor(instance, kafka, warehouse, cursor=None):
    """One tick of the sensor; its result and the cursor it left."""
    resources = {"kafka": kafka, "warehouse": warehouse}
    with build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        return pageview_topic_sensor(context), context.cursor


def test_sensor_skips_an_empty_topic_then_requests_one_run_per_offsets(
    spark, kafka, warehouse, data_dir, tmp_path
):
    instance = DagsterInstance.ephemeral()

    empty, _ = evaluate_sensor(instance, kafka, warehouse)
    publish_lines(kafka, tmp_path / "dumps", hour(10), lines_for(10))
    request, cursor = evaluate_sensor(instance, kafka, warehouse)
    repeated, _ = evaluate_sensor(instance, kafka, warehouse, cursor=cursor)

    assert isinstance(empty, SkipReason)
    assert "holds no messages yet" in empty.skip_message
    assert isinstance(request, RunRequest)
    assert request.run_key == run_key_for(kafka.topic, kafka.end_offsets())
    assert {key.to_user_string() for key in request.asset_selection} == {
        "raw_pageviews",
        "session_metrics",
    }
    assert isinstance(repeated, SkipReason)
    assert "already requested" in repeated.skip_message


def test_sensor_skips_when_both_consumers_are_at_the_end_offsets(
    spark, spark_resource, kafka, warehouse, data_dir, tmp_path
):
    publish_lines(kafka, tmp_path / "dumps", hour(10), lines_for(10))
    materialize_consumers(spark_resource, kafka, warehouse)
    instance = DagsterInstance.ephemeral()

    caught_up, _ = evaluate_sensor(instance, kafka, warehouse)
    publish_lines(kafka, tmp_path / "dumps", hour(11), lines_for(11))
    behind, _ = evaluate_sensor(instance, kafka, warehouse)

    assert isinstance(caught_up, SkipReason)
    assert "at the end offsets" in caught_up.skip_message
    assert isinstance(behind, RunRequest)
    assert behind.tags["pageviews/raw_behind"] == "4"
    assert behind.tags["pageviews/sessions_behind"] == "4"
