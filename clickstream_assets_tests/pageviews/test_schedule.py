from datetime import UTC, datetime

from dagster import DagsterInstance, build_schedule_context

from clickstream_assets.definitions import defs

schedule = defs.resolve_schedule_def("pageview_hourly_schedule")


def requested_partitions(tick: datetime) -> list[str]:
    context = build_schedule_context(
        instance=DagsterInstance.ephemeral(), scheduled_execution_time=tick
    )
    result = schedule.evaluate_tick(context)
    return [request.partition_key for request in result.run_requests or []]


def test_schedule_requests_the_previous_complete_hour_at_minute_45():
    tick = datetime(2024, 10, 1, 14, 45, tzinfo=UTC)

    partitions = requested_partitions(tick)

    assert partitions == ["2024-10-01-13:00"]


def test_schedule_just_after_midnight_requests_the_last_hour_of_the_day_before():
    tick = datetime(2024, 10, 2, 0, 45, tzinfo=UTC)

    partitions = requested_partitions(tick)

    assert partitions == ["2024-10-01-23:00"]


def test_schedule_runs_at_minute_45_of_every_hour():
    assert schedule.cron_schedule == "45 * * * *"
    assert schedule.execution_timezone == "UTC"
