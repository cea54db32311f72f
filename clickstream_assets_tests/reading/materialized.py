"""Test data for the reading functions and the dashboard, made by the real assets.

Two months of a small generated `enwiki` clickstream and one pageview hour are served by the
local dump mirror and materialized with Dagster's `materialize()` into a Dagster instance of
their own, exactly as an operator's runs would write them. Building takes a few seconds, so it
happens once per test session (the reading and dashboard tests share it) and tests only read.

The expected values in the tests are computed from the served dumps' text, independently of
the assets and the reading functions.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, materialize

from clickstream_assets import settings
from clickstream_assets.clickstream.assets import clickstream_assets
from clickstream_assets.local.dagster_home import instance_config
from clickstream_assets.local.mirror import DumpMirror
from clickstream_assets.pageviews.assets import pageview_dump, pageview_profile
from clickstream_assets.resources.dump_source import DumpSourceResource

WIKI = "enwiki"
MONTHS = ("2024-09-01", "2024-10-01")
ROWS = 2_000
# Small rankings, so that comparisons meet pages ranked in one month only.
RANKING_LIMIT = 20
HOUR = datetime(2024, 10, 1, 13, tzinfo=UTC)
REFERRERS = ("other-empty", "other-internal", "other-external", "other-search", "other-other")
# An hour written by hand, with a blank line and two lines the parser rejects.
PAGEVIEW_LINES = [
    "de Berlin 40 0",
    "de Hamburg 7 0",
    "en Main_Page 120 0",
    "en Python_(programming_language) 35 0",
    "en.m Main_Page 90 0",
    "en.m Köln 3 0",
    "",
    "en Broken_line 12",
    "fr Paris x 0",
    "ja 東京 11 0",
    "www.wikidata Q42 5 0",
]


@dataclass
class Materialized:
    """Where the test data lives, and the runs that wrote it."""

    data_dir: Path
    dagster_home: Path
    runs: dict[str, str] = field(default_factory=dict)  # partition key -> run id

    def clickstream_rows(self, month: str) -> list[tuple[str, str, str, int]]:
        """The served dump of a month, as (prev, curr, type, n) tuples read from its text."""
        path = self.data_dir / settings.clickstream_dump_path(WIKI, month).relative_to(
            settings.data_dir()
        )
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            return [
                (prev, curr, kind, int(n))
                for prev, curr, kind, n in (line.rstrip("\n").split("\t") for line in lines)
            ]


_built: dict[Path, Materialized] = {}


def materialize_partitions(
    instance: DagsterInstance,
    dump_source: DumpSourceResource,
    assets: Sequence,
    partition_keys: Iterable[str],
    run_config: dict | None = None,
) -> dict[str, str]:
    """Materialize `assets` for each partition, downloading through `dump_source` (the local
    mirror), as an operator's runs would; partition key -> run id. A failed run raises."""
    return {
        key: materialize(
            assets,
            partition_key=key,
            resources={"dump_source": dump_source},
            instance=instance,
            run_config=run_config,
        ).run_id
        for key in partition_keys
    }


def materialized_data(factory: pytest.TempPathFactory) -> Materialized:
    """Build the test data once per session (the first caller builds, later ones reuse)."""
    if _built:
        return next(iter(_built.values()))
    root = factory.mktemp("materialized")
    built = _build(root)
    _built[root] = built
    return built


def _build(root: Path) -> Materialized:
    built = Materialized(root / "data", root / "dagster_home")
    built.dagster_home.mkdir(parents=True)
    config = yaml.safe_dump(instance_config(built.dagster_home), sort_keys=False)
    (built.dagster_home / "dagster.yaml").write_text(config)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CLICKSTREAM_DATA_DIR", str(built.data_dir))
        env.setenv("DAGSTER_HOME", str(built.dagster_home))
        instance = DagsterInstance.from_config(str(built.dagster_home))
        with DumpMirror(root / "mirror", clickstream_rows=ROWS) as mirror:
            source = DumpSourceResource(base_url=mirror.url, backoff_s=0.05)
            ranking = {"config": {"limit": RANKING_LIMIT}}
            run_config = {"ops": {"top_entry_pages": ranking, "top_navigation_paths": ranking}}
            months = [f"{month}|{WIKI}" for month in MONTHS]
            built.runs |= materialize_partitions(
                instance, source, clickstream_assets, months, run_config
            )

            hour_dump = mirror.root / settings.pageview_dump_url_path(HOUR).lstrip("/")
            hour_dump.parent.mkdir(parents=True, exist_ok=True)
            hour_dump.write_bytes(gzip.compress(("\n".join(PAGEVIEW_LINES) + "\n").encode()))
            hour = [HOUR.strftime("%Y-%m-%d-%H:00")]
            built.runs |= materialize_partitions(
                instance, source, [pageview_dump, pageview_profile], hour
            )
        instance.dispose()
    return built


# Expected values, computed from the dump text alone.


def views_of(rows) -> dict[str, int]:
    views = defaultdict(int)
    for _, curr, _, n in rows:
        views[curr] += n
    return views


def clicks_onward_of(rows) -> dict[str, int]:
    onward = defaultdict(int)
    for prev, _, _, n in rows:
        if prev not in REFERRERS:
            onward[prev] += n
    return onward


def exits_of(rows) -> dict[str, tuple[int, int, int]]:
    """page -> (views, clicks onward, exits)."""
    views, onward = views_of(rows), clicks_onward_of(rows)
    return {page: (v, onward[page], max(v - onward[page], 0)) for page, v in views.items()}


def probability(rows, prev: str, curr: str) -> float:
    """n(prev -> curr) / views(prev), capped at 1."""
    n = sum(k for p, c, _, k in rows if p == prev and c == curr)
    return min(n / views_of(rows)[prev], 1.0) if n else 0.0
