"""SESSION_METRICS rows for the reading and dashboard tests, in a fresh embedded warehouse.

The warehouse is the real one of `warehouse_from_env()` (fakesnow on a DuckDB file under the
data dir), bootstrapped by the project's own runner; the rows are what the sessionizer
writes: one session per project and hour, as hourly events give.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from clickstream_assets.resources.warehouse import WarehouseResource
from clickstream_assets.warehouse.runner import bootstrap

NEWEST_START = datetime(2024, 10, 3, 12, 0)
SESSION_GAP = timedelta(minutes=10)
PROJECTS = ("de", "en", "en.m")
HOURS = 48


def session_rows() -> list[tuple]:
    """(PROJECT, SESSION_START, SESSION_END, EVENTS, TOTAL_VIEWS, TOTAL_BYTES), 48 hours back
    from NEWEST_START, for three projects."""
    rows = []
    for back in range(HOURS):
        start = NEWEST_START - timedelta(hours=back)
        for number, project in enumerate(PROJECTS):
            events = (back + number) % 4 + 1
            rows.append(
                (project, start, start + SESSION_GAP, events, 10 * events + number, 7 * back)
            )
    return rows


def write_sessions(warehouse: WarehouseResource, rows: list[tuple]) -> None:
    """Bootstrap the warehouse and insert the rows into ANALYTICS.MODELLED.SESSION_METRICS."""
    bootstrap(warehouse)
    with warehouse.connection() as conn:
        conn.cursor().executemany(
            "INSERT INTO ANALYTICS.MODELLED.SESSION_METRICS "
            "(PROJECT, SESSION_START, SESSION_END, EVENTS, TOTAL_VIEWS, TOTAL_BYTES) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )


def within(rows: list[tuple], lookback_hours: int) -> list[tuple]:
    """The rows whose session ended at most `lookback_hours` before the newest end."""
    newest_end = max(row[2] for row in rows)
    since = newest_end - timedelta(hours=lookback_hours)
    return [row for row in rows if row[2] >= since]
