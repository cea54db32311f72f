import subprocess
import sys
from collections import defaultdict
from datetime import timedelta

import duckdb
import fakesnow
import pytest

from clickstream_assets.reading import sessions
from clickstream_assets.resources.warehouse import (
    WarehouseLocked,
    WarehouseResource,
    embedded_snowflake,
    warehouse_from_env,
)
from clickstream_assets.warehouse.runner import bootstrap
from clickstream_assets_tests.reading.sessions_data import (
    NEWEST_START,
    SESSION_GAP,
    session_rows,
    within,
    write_sessions,
)


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """The environment's embedded warehouse, in a data dir of this test's own."""
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    return warehouse_from_env()


@pytest.fixture
def rows(warehouse) -> list[tuple]:
    written = session_rows()
    write_sessions(warehouse, written)
    return written


def test_session_span_reports_rows_and_time_range(warehouse, rows):
    span = sessions.read_session_span(warehouse)

    assert span.rows == len(rows)
    assert span.newest_end == NEWEST_START + SESSION_GAP
    assert span.first_start == min(row[1] for row in rows)
    assert span.hours == 48
    assert span.loaded_at is not None


def test_session_window_counts_back_from_the_newest_end(warehouse, rows):
    expected = within(rows, 6)

    window = sessions.read_session_window(warehouse, NEWEST_START + SESSION_GAP, 6)

    assert window.totals == {
        "sessions": len(expected),
        "events": sum(row[3] for row in expected),
        "views": sum(row[4] for row in expected),
        "bytes": sum(row[5] for row in expected),
    }
    assert window.since == NEWEST_START + SESSION_GAP - timedelta(hours=6)


def test_session_window_caps_only_the_table(warehouse, rows):
    expected = within(rows, 24)

    window = sessions.read_session_window(warehouse, NEWEST_START + SESSION_GAP, 24, max_sessions=5)

    assert window.totals["sessions"] == len(expected)
    assert len(window.sessions) == 5
    assert (
        window.sessions["session_end"].tolist()
        == sorted((row[2] for row in expected), reverse=True)[:5]
    )
    assert window.over_time["sessions"].sum() == len(expected)


def test_session_window_ranks_projects_by_views(warehouse, rows):
    views = defaultdict(int)
    for row in within(rows, 12):
        views[row[0]] += row[4]

    window = sessions.read_session_window(warehouse, NEWEST_START + SESSION_GAP, 12)

    assert window.projects["project"].tolist() == sorted(views, key=lambda p: (-views[p], p))
    assert window.projects["views"].tolist() == sorted(views.values(), reverse=True)


def test_reading_leaves_the_warehouse_file_as_it_was(warehouse, rows, tmp_path):
    database = tmp_path / "data" / "warehouse" / "ANALYTICS.db"
    before = database.read_bytes()

    sessions.read_session_span(warehouse)
    sessions.read_session_window(warehouse, NEWEST_START + SESSION_GAP, 48)

    assert database.read_bytes() == before


def test_session_span_without_a_warehouse_is_not_materialized(warehouse, tmp_path):
    with pytest.raises(sessions.SessionsNotMaterialized, match="does not exist yet"):
        sessions.read_session_span(warehouse)

    assert not (tmp_path / "data" / "warehouse").exists()


def test_session_span_without_the_table_is_not_materialized(warehouse, tmp_path):
    directory = tmp_path / "data" / "warehouse"
    directory.mkdir(parents=True)
    duckdb.connect(str(directory / "ANALYTICS.db")).close()

    with pytest.raises(sessions.SessionsNotMaterialized, match="SESSION_METRICS"):
        sessions.read_session_span(warehouse)


def test_session_span_of_an_empty_table_has_no_rows(warehouse):
    bootstrap(warehouse)

    span = sessions.read_session_span(warehouse)

    assert (span.rows, span.newest_end, span.hours) == (0, None, 1)


def test_session_span_reports_a_warehouse_locked_by_a_writer(warehouse, rows, tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; held = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); time.sleep(30)",
            str(tmp_path / "data" / "warehouse" / "ANALYTICS.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"

        with pytest.raises(WarehouseLocked, match="stayed locked by a writing process"):
            sessions.read_session_span(warehouse, lock_timeout_s=0.3)
    finally:
        holder.kill()
        holder.wait()


def test_session_window_reads_snowflake_through_its_connector(warehouse, rows, tmp_path):
    # The production path: a WarehouseResource without an embedded path talks to Snowflake
    # through the connector, here answered by fakesnow on the same file.
    snowflake = WarehouseResource(snowflake=embedded_snowflake())
    expected = within(rows, 6)

    with fakesnow.patch(db_path=tmp_path / "data" / "warehouse"):
        span = sessions.read_session_span(snowflake)
        window = sessions.read_session_window(snowflake, span.newest_end, 6, max_sessions=4)

    assert span.rows == len(rows)
    assert window.totals["views"] == sum(row[4] for row in expected)
    assert len(window.sessions) == 4
