import gzip
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from clickstream_assets import settings
from clickstream_assets.clickstream.assets import clickstream_assets
from clickstream_assets.clickstream.checks import clickstream_checks
from clickstream_assets.local.mirror import DumpMirror
from clickstream_assets.resources.dump_source import DumpSourceResource

PARTITION = "2024-10-01|enwiki"
ROWS = 3_000


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(path))
    return path


@pytest.fixture
def mirror(tmp_path):
    with DumpMirror(tmp_path / "mirror", clickstream_rows=ROWS) as server:
        yield server


def run(mirror, run_config=None, selection=None):
    return materialize(
        selection or [*clickstream_assets, *clickstream_checks],
        partition_key=PARTITION,
        resources={"dump_source": DumpSourceResource(base_url=mirror.url, backoff_s=0.05)},
        instance=DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=False,
    )


def served_rows(mirror) -> list[tuple[str, str, str, int]]:
    path = mirror.root / settings.clickstream_dump_url_path("enwiki", "2024-10-01").lstrip("/")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [
            (p, c, t, int(n)) for p, c, t, n in (line.rstrip("\n").split("\t") for line in lines)
        ]


def test_materialize_month_writes_every_asset_and_passes_checks(data_dir, mirror):
    result = run(mirror)

    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {
        "has_no_quarantined_lines": True,
        "has_exit_rates_between_zero_and_one": True,
        "has_probabilities_between_zero_and_one": True,
        "has_every_row_of_the_month": True,
        "has_every_page_of_page_exits": True,
        "has_no_negative_counts": True,
        "has_only_known_types": True,
        "has_no_duplicate_pairs": True,
        "has_no_counts_below_ten": True,
        "row_count_matches_dump": True,
    }
    parquet_meta = result.asset_materializations_for_node("clickstream_parquet")[0].metadata
    assert parquet_meta["dagster/row_count"].value == ROWS
    for name in (
        "top_entry_pages",
        "top_navigation_paths",
        "top_two_step_paths",
        "page_exits",
        "page_transitions",
        "page_referrers",
        "page_index",
    ):
        assert settings.clickstream_analytics_path(name, "enwiki", "2024-10-01").exists(), name
    assert settings.clickstream_report_dir("enwiki", "2024-10-01").joinpath("profile.html").exists()


def test_materialize_exits_match_the_served_dump(data_dir, mirror):
    run(mirror)
    views, onward = defaultdict(int), defaultdict(int)
    for prev, curr, _, n in served_rows(mirror):
        views[curr] += n
        if not prev.startswith("other-"):
            onward[prev] += n

    exits = pq.read_table(settings.clickstream_analytics_path("page_exits", "enwiki", "2024-10-01"))

    got = {r["page"]: (r["views"], r["exits"]) for r in exits.to_pylist()}
    assert got == {page: (v, max(v - onward[page], 0)) for page, v in views.items()}


def test_materialize_row_cap_from_run_config(data_dir, mirror):
    config = {"ops": {"clickstream_dump": {"config": {"row_cap": 500}}}}

    result = run(mirror, run_config=config)

    dump_meta = result.asset_materializations_for_node("clickstream_dump")[0].metadata
    assert dump_meta["dagster/row_count"].value == 500
    parquet = settings.clickstream_parquet_path("enwiki", "2024-10-01")
    assert pq.ParquetFile(parquet).metadata.num_rows == 500


def test_materialize_custom_url_must_be_http(data_dir, mirror):
    config = {"ops": {"clickstream_dump": {"config": {"url": "file:///etc/passwd"}}}}

    result = run(mirror, run_config=config, selection=[clickstream_assets[0]])

    assert not result.success
    failure = result.failure_data_for_node("clickstream_dump")
    assert "must be an absolute http(s) URL" in str(failure.error)
    assert not settings.clickstream_dump_path("enwiki", "2024-10-01").exists()


def test_materialize_custom_url_replaces_the_dump(data_dir, mirror):
    other = mirror.url + settings.clickstream_dump_url_path("dewiki", "2024-09-01")
    config = {"ops": {"clickstream_dump": {"config": {"url": other}}}}

    result = run(mirror, run_config=config, selection=clickstream_assets[:2])

    assert result.success
    dump_meta = result.asset_materializations_for_node("clickstream_dump")[0].metadata
    assert dump_meta["url"].value == other


def test_dagster_cli_materializes_against_the_mirror(data_dir, mirror, tmp_path):
    env = dict(os.environ, WIKIMEDIA_DUMPS_URL=mirror.url, DAGSTER_HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    dagster = Path(sys.executable).parent / "dagster"

    completed = subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "clickstream_assets.definitions",
            "--select",
            "clickstream_dump,clickstream_parquet",
            "--partition",
            PARTITION,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    parquet = settings.clickstream_parquet_path("enwiki", "2024-10-01")
    assert pq.ParquetFile(parquet).metadata.num_rows == ROWS
