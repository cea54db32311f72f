"""What the assets have materialized on disk, where it lives, and the version of each file.

Paths come from `settings`, so the dashboard looks exactly where the assets write. A file's
version (path, modification time, size) is the cache key of everything read from it: a new
materialization replaces the file atomically, which changes the version and so the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from clickstream_assets import settings

# The parquet files of the clickstream analytics assets, by asset; `top_navigation_paths`
# writes two.
ANALYTICS_FILES = {
    "top_entry_pages": ("top_entry_pages",),
    "top_navigation_paths": ("top_navigation_paths", "top_two_step_paths"),
    "page_exits": ("page_exits",),
    "page_transitions": ("page_transitions",),
    "page_referrers": ("page_referrers",),
    "page_index": ("page_index",),
}
_PARTITION_DIR = re.compile(r"^wiki=(?P<wiki>[a-z_]+)/month=(?P<month>\d{4}-\d{2})$")
_PROFILE_NAME = re.compile(r"^profile-(?P<hour>\d{2})00\.json$")


class FileVersion(NamedTuple):
    """A file as it is now; equal versions mean equal contents (files are replaced whole)."""

    path: str
    mtime_ns: int
    size: int

    @property
    def modified(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=UTC)


def version_of(path: Path) -> FileVersion | None:
    """The file's current version, or None when it does not exist (not materialized)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return FileVersion(str(path), stat.st_mtime_ns, stat.st_size)


@dataclass(frozen=True, order=True)
class ClickstreamDataset:
    """One materialized month of one wiki (a partition of the clickstream assets)."""

    wiki: str
    month: str  # the partition key of the month dimension, such as 2024-10-01

    @property
    def partition_key(self) -> str:
        """The month x wiki key as Dagster writes it (dimensions in name order)."""
        return f"{self.month}|{self.wiki}"

    @property
    def label(self) -> str:
        return f"{self.wiki} {self.month[:7]}"

    @property
    def parquet(self) -> Path:
        return settings.clickstream_parquet_path(self.wiki, self.month)

    @property
    def profile(self) -> Path:
        """The JSON report of `clickstream_profile`."""
        return settings.clickstream_report_dir(self.wiki, self.month) / "profile.json"

    def analytics(self, name: str) -> Path:
        """The parquet file `name` (`page_exits`, `top_two_step_paths`, ...) of this partition."""
        return settings.clickstream_analytics_path(name, self.wiki, self.month)


def clickstream_datasets() -> list[ClickstreamDataset]:
    """Every month x wiki whose `clickstream_parquet` exists, by wiki, newest month first."""
    root = settings.parquet_dir() / "clickstream"
    found = []
    for parquet in root.glob("wiki=*/month=*/clickstream.parquet"):
        match = _PARTITION_DIR.match(parquet.parent.relative_to(root).as_posix())
        if match:
            found.append(ClickstreamDataset(match["wiki"], f"{match['month']}-01"))
    newest_first = sorted(found, key=lambda d: d.month, reverse=True)
    return sorted(newest_first, key=lambda d: d.wiki)


def months_of(datasets: list[ClickstreamDataset], wiki: str) -> list[ClickstreamDataset]:
    """The datasets of one wiki, newest month first."""
    return [d for d in datasets if d.wiki == wiki]


def pageview_report(hour: datetime) -> Path:
    """The JSON report that `pageview_profile` writes for an hour."""
    return settings.pageview_report_dir(hour) / f"{settings.pageview_report_name(hour)}.json"


def pageview_hours() -> list[datetime]:
    """Every hour (UTC) with a `pageview_profile` report, newest first."""
    root = settings.reports_dir() / "pageviews"
    hours = []
    for report in root.glob("*/profile-*00.json"):
        match = _PROFILE_NAME.match(report.name)
        if not match:
            continue
        try:
            day = datetime.strptime(report.parent.name, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            continue
        hour = day.replace(hour=int(match["hour"]))
        if pageview_report(hour) == report:
            hours.append(hour)
    return sorted(hours, reverse=True)


def pageview_partition_key(hour: datetime) -> str:
    """The hourly partition key of `pageview_profile`, such as 2024-10-01-13:00."""
    return hour.strftime("%Y-%m-%d-%H:00")
