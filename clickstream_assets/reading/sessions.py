"""Reading ANALYTICS.MODELLED.SESSION_METRICS, the sessions the Spark sessionizer wrote.

The warehouse is the one `warehouse_from_env()` describes. On Snowflake the reads go through
the resource's connection. The embedded warehouse is a DuckDB file that fakesnow opens for
writing, and one process at a time may hold it that way; the dashboard therefore opens the
file itself, read-only, for a few queries at a time: it never creates the file or a schema,
never blocks another reader, and retries briefly while a writer holds the file.

The data are historical hours, so a lookback is measured back from the newest SESSION_END in
the table, not from now.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from clickstream_assets.resources.warehouse import (
    LOCK_RETRY_S,
    WarehouseLocked,
    WarehouseResource,
)

logger = logging.getLogger(__name__)

TABLE = "ANALYTICS.MODELLED.SESSION_METRICS"
# A dashboard waits a few seconds for a writer, not the minute a pipeline run would.
DASHBOARD_LOCK_TIMEOUT_S = 5.0

SPAN_SQL = f"""
    SELECT COUNT(*) AS ROWS_TOTAL, MIN(SESSION_START) AS FIRST_START,
           MAX(SESSION_END) AS NEWEST_END, MAX(LOADED_AT) AS LOADED_AT
    FROM {TABLE}
"""
TOTALS_SQL = f"""
    SELECT COUNT(*) AS SESSIONS, CAST(COALESCE(SUM(EVENTS), 0) AS BIGINT) AS EVENTS,
           CAST(COALESCE(SUM(TOTAL_VIEWS), 0) AS BIGINT) AS VIEWS,
           CAST(COALESCE(SUM(TOTAL_BYTES), 0) AS BIGINT) AS BYTES
    FROM {TABLE} WHERE SESSION_END >= ?
"""
OVER_TIME_SQL = f"""
    SELECT DATE_TRUNC('HOUR', SESSION_START) AS HOUR, COUNT(*) AS SESSIONS,
           CAST(SUM(EVENTS) AS BIGINT) AS EVENTS, CAST(SUM(TOTAL_VIEWS) AS BIGINT) AS VIEWS
    FROM {TABLE} WHERE SESSION_END >= ?
    GROUP BY 1 ORDER BY 1
"""
PROJECTS_SQL = f"""
    SELECT PROJECT, COUNT(*) AS SESSIONS, CAST(SUM(EVENTS) AS BIGINT) AS EVENTS,
           CAST(SUM(TOTAL_VIEWS) AS BIGINT) AS VIEWS, CAST(SUM(TOTAL_BYTES) AS BIGINT) AS BYTES
    FROM {TABLE} WHERE SESSION_END >= ?
    GROUP BY PROJECT ORDER BY VIEWS DESC, PROJECT LIMIT {{limit}}
"""
SESSIONS_SQL = f"""
    SELECT PROJECT, SESSION_START, SESSION_END, CAST(EVENTS AS BIGINT) AS EVENTS,
           CAST(TOTAL_VIEWS AS BIGINT) AS TOTAL_VIEWS, CAST(TOTAL_BYTES AS BIGINT) AS TOTAL_BYTES,
           LOADED_AT
    FROM {TABLE} WHERE SESSION_END >= ?
    ORDER BY SESSION_END DESC, PROJECT, SESSION_START LIMIT {{limit}}
"""


class SessionsNotMaterialized(LookupError):
    """The warehouse, or its SESSION_METRICS table, does not exist yet."""


@dataclass(frozen=True)
class SessionSpan:
    """What SESSION_METRICS holds: its row count and time range, and the newest load."""

    rows: int
    first_start: datetime | None
    newest_end: datetime | None
    loaded_at: datetime | None

    @property
    def hours(self) -> int:
        """Whole hours from the first session's start to the newest session's end (at least 1)."""
        if self.first_start is None or self.newest_end is None:
            return 1
        return max(1, -(-int((self.newest_end - self.first_start).total_seconds()) // 3600))


@dataclass
class SessionWindow:
    """The sessions that ended within a lookback before the newest SESSION_END."""

    since: datetime
    until: datetime
    totals: dict[str, int]  # sessions, events, views, bytes
    over_time: pd.DataFrame  # hour, sessions, events, views
    projects: pd.DataFrame  # project, sessions, events, views, bytes
    sessions: pd.DataFrame  # the newest sessions, at most `max_sessions`


def read_session_span(
    warehouse: WarehouseResource, lock_timeout_s: float = DASHBOARD_LOCK_TIMEOUT_S
) -> SessionSpan:
    """Row count and time range of SESSION_METRICS; raises SessionsNotMaterialized when the
    warehouse or the table is missing."""
    with _reading(warehouse, lock_timeout_s) as cursor:
        _execute(cursor, SPAN_SQL)
        rows, first_start, newest_end, loaded_at = cursor.fetchone()
    return SessionSpan(int(rows), first_start, newest_end, loaded_at)


def read_session_window(
    warehouse: WarehouseResource,
    newest_end: datetime,
    lookback_hours: float,
    max_sessions: int = 500,
    top_projects: int = 10,
    lock_timeout_s: float = DASHBOARD_LOCK_TIMEOUT_S,
) -> SessionWindow:
    """Totals, sessions per hour, top projects and the newest `max_sessions` sessions among
    those that ended at most `lookback_hours` before `newest_end`.

    The totals, hours and projects cover the whole window; only the table is capped.
    """
    since = newest_end - timedelta(hours=lookback_hours)
    with _reading(warehouse, lock_timeout_s) as cursor:
        totals = _fetch(cursor, TOTALS_SQL, [since]).iloc[0]
        over_time = _fetch(cursor, OVER_TIME_SQL, [since])
        projects = _fetch(cursor, PROJECTS_SQL.format(limit=int(top_projects)), [since])
        sessions = _fetch(cursor, SESSIONS_SQL.format(limit=int(max_sessions)), [since])
    return SessionWindow(
        since=since,
        until=newest_end,
        totals={name: int(totals[name]) for name in ("sessions", "events", "views", "bytes")},
        over_time=over_time,
        projects=projects,
        sessions=sessions,
    )


def _execute(cursor, sql: str, params: Sequence | None = None) -> None:
    if not isinstance(cursor, duckdb.DuckDBPyConnection):
        # The Snowflake connector binds positional parameters as %s (its pyformat style).
        sql = sql.replace("?", "%s")
    cursor.execute(sql, params)


def _fetch(cursor, sql: str, params: Sequence | None = None) -> pd.DataFrame:
    """Rows of a query as a frame with lower-case column names, on either connection."""
    _execute(cursor, sql, params)
    columns = [column[0].lower() for column in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=columns)


@contextlib.contextmanager
def _reading(warehouse: WarehouseResource, lock_timeout_s: float) -> Iterator:
    if not warehouse.embedded:
        with warehouse.connection() as conn:
            cursor = conn.cursor()
            try:
                yield cursor
            except Exception as exc:
                if "does not exist" in str(exc):
                    raise SessionsNotMaterialized(f"{TABLE} does not exist: {exc}") from exc
                raise
        return
    database = Path(warehouse.embedded_path) / f"{warehouse.snowflake.database}.db"
    if not database.is_file():
        raise SessionsNotMaterialized(f"the embedded warehouse {database} does not exist yet")
    con = _open_read_only(database, lock_timeout_s)
    try:
        yield con
    except duckdb.CatalogException as exc:
        raise SessionsNotMaterialized(f"{TABLE} does not exist in {database}") from exc
    finally:
        con.close()


def _open_read_only(database: Path, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_timeout_s
    attempt = 0
    while True:
        try:
            return duckdb.connect(str(database), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"the embedded warehouse {database} stayed locked by a writing process for "
                    f"{lock_timeout_s:.0f} s; try again when its run has finished"
                ) from None
            pause = LOCK_RETRY_S[min(attempt, len(LOCK_RETRY_S) - 1)]
            logger.info(f"embedded warehouse {database} is locked; retry in {pause} s")
            time.sleep(pause)
            attempt += 1
