"""The one Definitions object of the project: assets, checks, resources, jobs, schedules and
sensors."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from clickstream_assets import settings
from clickstream_assets.clickstream.assets import clickstream_assets
from clickstream_assets.clickstream.checks import clickstream_checks
from clickstream_assets.pageviews.assets import pageview_assets
from clickstream_assets.resources.dump_source import dump_source_from_env
from clickstream_assets.resources.kafka import kafka_from_env
from clickstream_assets.resources.spark import spark_from_env
from clickstream_assets.resources.warehouse import warehouse_from_env
from clickstream_assets.sessions.assets import session_assets, session_checks
from clickstream_assets.sessions.sensors import pageview_consumers_job, pageview_topic_sensor
from clickstream_assets.warehouse.assets import warehouse_assets, warehouse_checks

clickstream_month_job = define_asset_job(
    "clickstream_month",
    selection=AssetSelection.groups("clickstream"),
    description="Download, convert, profile and analyse one month of one wiki's clickstream.",
)

pageview_hour_job = define_asset_job(
    "pageview_hour",
    selection=AssetSelection.groups("pageviews"),
    description="Download, profile and publish to Kafka one hour of pageviews.",
)

# At minute 45 of each hour, the run for the hour that ended 45 minutes ago: the dumps site
# publishes an hour's file with a delay, so the current hour is never asked for.
pageview_hourly_schedule = build_schedule_from_partitioned_job(
    pageview_hour_job,
    name="pageview_hourly_schedule",
    description="Pulls each new pageview hour: the previous, complete hour, at minute 45.",
    minute_of_hour=settings.PAGEVIEW_SCHEDULE_MINUTE,
    default_status=DefaultScheduleStatus.RUNNING,
)

defs = Definitions(
    assets=[*clickstream_assets, *pageview_assets, *warehouse_assets, *session_assets],
    asset_checks=[*clickstream_checks, *warehouse_checks, *session_checks],
    jobs=[clickstream_month_job, pageview_hour_job, pageview_consumers_job],
    schedules=[pageview_hourly_schedule],
    sensors=[pageview_topic_sensor],
    resources={
        "dump_source": dump_source_from_env(),
        "kafka": kafka_from_env(),
        "warehouse": warehouse_from_env(),
        "spark": spark_from_env(),
    },
)
