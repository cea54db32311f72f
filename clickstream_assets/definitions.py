"""The one Definitions object of the project: assets, checks, resources, jobs and schedules."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from clickstream_assets.clickstream.assets import clickstream_assets
from clickstream_assets.clickstream.checks import clickstream_checks
from clickstream_assets.resources.dump_source import dump_source_from_env

clickstream_month_job = define_asset_job(
    "clickstream_month",
    selection=AssetSelection.groups("clickstream"),
    description="Download, convert, profile and analyse one month of one wiki's clickstream.",
)

defs = Definitions(
    assets=clickstream_assets,
    asset_checks=clickstream_checks,
    jobs=[clickstream_month_job],
    resources={"dump_source": dump_source_from_env()},
)
