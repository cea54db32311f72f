"""The sensor that drives the topic's consumers: the RAW load and the Spark sessionizer.

It compares the topic's end offsets with where each consumer stands (ANALYTICS.RAW.
LOADED_OFFSETS and ANALYTICS.MODELLED.SESSIONIZED_OFFSETS) and requests a run of the consumers
that are behind. The run key is derived from the end offsets, so one batch of new messages is
requested once however often the sensor ticks; the cursor keeps the last key it requested.
"""

# No `from __future__ import annotations` here: Dagster reads the resource annotations.

from collections.abc import Mapping

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from clickstream_assets.resources.kafka import KafkaResource, KafkaUnavailable
from clickstream_assets.resources.warehouse import WarehouseLocked, WarehouseResource
from clickstream_assets.sessions.store import sessionized_offsets
from clickstream_assets.warehouse.pageviews import loaded_offsets

RAW_PAGEVIEWS = AssetKey("raw_pageviews")
SESSION_METRICS = AssetKey("session_metrics")
# The sensor waits this long between evaluations; a pageview hour arrives once an hour.
INTERVAL_S = 30
# Short patience for the embedded warehouse's file: a run holding it is a reason to look again
# at the next tick, not to time the evaluation out.
SENSOR_LOCK_TIMEOUT_S = 5.0
ACTIVE_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]

pageview_consumers_job = define_asset_job(
    "pageview_consumers",
    selection=AssetSelection.assets(RAW_PAGEVIEWS, SESSION_METRICS),
    description="Load new pageview messages into RAW and sessionize them into SESSION_METRICS.",
)


def run_key_for(topic: str, end_offsets: Mapping[int, int]) -> str:
    """`pageviews:0=120,1=98,2=131`: the same end offsets always give the same key."""
    return f"{topic}:" + ",".join(f"{p}={o}" for p, o in sorted(end_offsets.items()))


def behind(end_offsets: Mapping[int, int], processed: Mapping[int, int]) -> int:
    """Messages in the topic beyond what a consumer has processed."""
    return sum(max(end - processed.get(partition, 0), 0) for partition, end in end_offsets.items())


@sensor(
    job=pageview_consumers_job,
    minimum_interval_seconds=INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
)
def pageview_topic_sensor(
    context: SensorEvaluationContext, kafka: KafkaResource, warehouse: WarehouseResource
):
    """Requests a run of raw_pageviews and session_metrics when the `pageviews` topic holds
    messages they have not processed, once per set of end offsets; says why when it skips."""
    try:
        end_offsets = kafka.end_offsets()
    except KafkaUnavailable as exc:
        return SkipReason(str(exc))
    if not any(end_offsets.values()):
        return SkipReason(f"topic {kafka.topic} holds no messages yet")

    active = context.instance.get_runs(
        RunsFilter(job_name=pageview_consumers_job.name, statuses=ACTIVE_STATUSES), limit=1
    )
    if active:
        return SkipReason(f"run {active[0].run_id[:8]} is still consuming {kafka.topic}")

    try:
        lagging = warehouse.with_lock_timeout(SENSOR_LOCK_TIMEOUT_S)
        raw_behind = behind(end_offsets, loaded_offsets(lagging, kafka.topic))
        sessions_behind = behind(end_offsets, sessionized_offsets(lagging, kafka.topic))
    except WarehouseLocked:
        return SkipReason("the warehouse is busy with a run; looking again at the next tick")

    selection = [
        key
        for key, count in ((RAW_PAGEVIEWS, raw_behind), (SESSION_METRICS, sessions_behind))
        if count
    ]
    key = run_key_for(kafka.topic, end_offsets)
    if not selection:
        return SkipReason(f"raw_pageviews and session_metrics are at the end offsets ({key})")
    if context.cursor == key:
        return SkipReason(f"a run for {key} was already requested")

    context.update_cursor(key)
    return RunRequest(
        run_key=key,
        asset_selection=selection,
        tags={
            "pageviews/raw_behind": str(raw_behind),
            "pageviews/sessions_behind": str(sessions_behind),
        },
    )
