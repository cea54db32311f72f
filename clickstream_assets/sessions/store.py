"""SESSION_METRICS in the warehouse: merging closed sessions, the sessionizer's offsets, and
the RAW input of a backfill. Every statement is a file in sql/sessions/."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from clickstream_assets.resources.warehouse import WarehouseResource
from clickstream_assets.warehouse.runner import execute, fetch_all

SESSIONS_TABLE = "ANALYTICS.MODELLED.SESSION_METRICS"
STAGE_TABLE = "ANALYTICS.MODELLED.SESSION_METRICS_STAGE"
OFFSETS_TABLE = "ANALYTICS.MODELLED.SESSIONIZED_OFFSETS"
STAGE_COLUMNS = ("PROJECT", "SESSION_START", "SESSION_END", "EVENTS", "TOTAL_VIEWS", "TOTAL_BYTES")
# The confirmation a run config must carry to empty the target.
TRUNCATE_CONFIRMATION = SESSIONS_TABLE


def merge_sessions(warehouse: WarehouseResource, sessions: Sequence[Mapping]) -> int:
    """MERGE sessions (dicts with the lower-case columns of `to_session_rows`) into
    SESSION_METRICS on (PROJECT, SESSION_START); the number of rows inserted or updated."""
    if not sessions:
        return 0
    frame = pd.DataFrame(
        [[row[column.lower()] for column in STAGE_COLUMNS] for row in sessions],
        columns=list(STAGE_COLUMNS),
    )

    with warehouse.connection() as conn:
        cursor = conn.cursor()
        execute(cursor, "sessions/stage_truncate")
        warehouse.write_pandas(conn, frame, STAGE_TABLE)
        return execute(cursor, "sessions/merge")


def sessionized_offsets(warehouse: WarehouseResource, topic: str) -> dict[int, int]:
    """The next offset the sessionizer has yet to read in each partition of `topic`."""
    with warehouse.connection() as conn:
        rows = fetch_all(conn, "sessions/offsets_select", {"topic": topic})
    return {int(row["PARTITION"]): int(row["NEXT_OFFSET"]) for row in rows}


def record_offsets(warehouse: WarehouseResource, topic: str, offsets: Mapping[str, int]) -> None:
    """Store where the sessionizer's checkpoint stands, for the sensor to compare."""
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        for partition, next_offset in sorted(offsets.items(), key=lambda item: int(item[0])):
            position = {"topic": topic, "partition": int(partition), "next_offset": next_offset}
            if not execute(cursor, "sessions/offsets_update", position):
                execute(cursor, "sessions/offsets_insert", position)


def truncate_sessions(warehouse: WarehouseResource, topic: str) -> None:
    """Empty SESSION_METRICS and forget the sessionizer's offsets of `topic`."""
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        execute(cursor, "sessions/truncate")
        execute(cursor, "sessions/offsets_forget", {"topic": topic})


def raw_hourly_events(warehouse: WarehouseResource) -> pd.DataFrame:
    """RAW pageviews per project and hour (PROJECT, HOUR, EVENTS, VIEWS, BYTES)."""
    with warehouse.connection() as conn:
        rows = fetch_all(conn, "sessions/raw_hourly_events")
    frame = pd.DataFrame(rows, columns=["PROJECT", "HOUR", "EVENTS", "VIEWS", "BYTES"])
    # As UTC text: Spark would read a naive datetime in the Python process's local time zone.
    frame["HOUR"] = pd.to_datetime(frame["HOUR"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


def session_summary(warehouse: WarehouseResource) -> dict:
    """Counts over the whole table, and up to 10 of the newest sessions for a preview."""
    with warehouse.connection() as conn:
        (summary,) = fetch_all(conn, "sessions/summary")
        preview = fetch_all(conn, "sessions/preview")
    return {"summary": summary, "preview": preview}
