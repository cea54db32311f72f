"""Which materialization a view shows (asset, partition, time, run) and its Dagster UI link.

The Dagster instance at DAGSTER_HOME answers when it exists: its event log records every
materialization with the run that made it. When there is no instance, or it has no record of
the file on disk (files copied from another machine, a run still in progress), the file's
modification time stands in, and the view says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from clickstream_assets import settings
from clickstream_assets.reading.catalog import FileVersion

# A file is written inside the asset's run, and the run records the materialization after
# the asset returns, so a recorded time never precedes the file's. The slack covers coarse
# file-system timestamps.
CLOCK_SLACK = timedelta(seconds=2)


@dataclass(frozen=True)
class Materialization:
    """When an asset (partition) was materialized, as far as the dashboard can tell."""

    asset: str
    partition: str | None
    timestamp: datetime  # UTC
    run_id: str | None  # None when only the file's modification time is known
    note: str = ""

    @property
    def recorded(self) -> bool:
        return self.run_id is not None


def webserver_url() -> str:
    """Base URL of the Dagster UI (DAGSTER_WEBSERVER_URL, default the local webserver)."""
    default = f"http://{settings.WEBSERVER_HOST}:{settings.webserver_port()}"
    return (settings.env("DAGSTER_WEBSERVER_URL") or default).rstrip("/")


def asset_url(asset: str, partition: str | None = None) -> str:
    """The asset's page in the Dagster UI, opened on the partition when there is one."""
    url = f"{webserver_url()}/assets/{quote(asset)}"
    if partition:
        url += "?" + urlencode({"view": "partitions", "partition": partition})
    return url


def run_url(run_id: str) -> str:
    return f"{webserver_url()}/runs/{quote(run_id)}"


def open_instance(home: Path | None = None) -> DagsterInstance | None:
    """The Dagster instance at `home` (default DAGSTER_HOME), or None when there is none yet.

    An instance that was never set up is not created here: the dashboard only reads.
    """
    home = home or settings.dagster_home()
    if not (home / "dagster.yaml").is_file() and not (home / "storage").is_dir():
        return None
    return DagsterInstance.from_config(str(home))


def latest_materialization(
    instance: DagsterInstance, asset: str, partition: str | None = None
) -> Materialization | None:
    """The newest materialization of the asset (partition) in the instance's event log."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=AssetKey(asset), asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    if not records:
        return None
    entry = records[0].event_log_entry
    return Materialization(
        asset, partition, datetime.fromtimestamp(entry.timestamp, tz=UTC), entry.run_id
    )


def materialization_of(
    instance: DagsterInstance | None,
    asset: str,
    partition: str | None,
    version: FileVersion | None,
) -> Materialization | None:
    """What produced the file at `version`: the recorded run when it matches, else the file.

    None means neither the instance nor the disk knows of the asset: it is not materialized.
    """
    record = latest_materialization(instance, asset, partition) if instance else None
    if record and (version is None or version.modified <= record.timestamp + CLOCK_SLACK):
        return record
    if version is None:
        return None
    if record:
        note = (
            "the file is newer than the last recorded materialization "
            f"({record.timestamp:%Y-%m-%d %H:%M} UTC): a run may be in progress"
        )
    elif instance:
        note = "the Dagster instance has no record of it; time of the file"
    else:
        note = "no Dagster instance at DAGSTER_HOME; time of the file"
    return Materialization(asset, partition, version.modified, None, note)


def not_materialized(asset: str, partition: str | None = None, label: str = "") -> str:
    """A short markdown message naming what to materialize, for a view with nothing to show."""
    where = f" for {label or partition}" if (label or partition) else ""
    selector = f" (partition `{partition}`)" if partition else ""
    return (
        f"`{asset}` is not materialized{where} yet. Materialize `{asset}`{selector} "
        f"in the [Dagster UI]({asset_url(asset, partition)}), then reload this page."
    )
