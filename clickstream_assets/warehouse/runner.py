"""The one runner of sql/: the bootstrap, transactions, and statements read by name.

The bootstrap is safe to re-run: every statement in sql/bootstrap/ creates only what is
missing (`IF NOT EXISTS`) or replaces a view with the same definition.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from clickstream_assets.resources.warehouse import WarehouseResource
from clickstream_assets.warehouse.statements import (
    Statement,
    bootstrap_files,
    statement,
    statements_of,
)

logger = logging.getLogger(__name__)

# The tables the loaders write; a load bootstraps first when any of them is missing.
REQUIRED_TABLES = 10


@dataclass
class BootstrapResult:
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duration_s: float = 0.0


def bootstrap(warehouse: WarehouseResource, log: logging.Logger | None = None) -> BootstrapResult:
    """Apply every file of sql/bootstrap/ in name order, on one connection.

    On the embedded warehouse, statements marked `-- snowflake-only` are skipped, each with a
    log line giving the marker's reason.
    """
    log = log or logger
    started = time.monotonic()
    result = BootstrapResult()
    statements = [s for path in bootstrap_files() for s in statements_of(f"bootstrap/{path.name}")]

    with warehouse.connection() as conn:
        cursor = conn.cursor()
        for item in statements:
            if item.snowflake_only and warehouse.embedded:
                log.info(
                    f"skipped {item.label} on fakesnow ({item.snowflake_only}): {item.summary}"
                )
                result.skipped.append(item.label)
                continue
            _execute_bootstrap(cursor, item)
            result.applied.append(item.label)

    result.duration_s = time.monotonic() - started
    log.info(
        f"applied {len(result.applied)} bootstrap statements to {warehouse.describe()} "
        f"({len(result.skipped)} skipped) in {result.duration_s:.1f} s"
    )
    return result


def _execute_bootstrap(cursor, item: Statement) -> None:
    try:
        cursor.execute(item.text)
    except Exception as exc:
        # Name the file and statement; the connector's message says what the warehouse said.
        raise RuntimeError(f"sql/{item.label} failed: {item.summary}: {exc}") from exc


def ensure_bootstrapped(warehouse: WarehouseResource, log: logging.Logger | None = None) -> bool:
    """Bootstrap when a table the loaders need is missing; True when it ran.

    Checking first keeps a production run, whose least-privilege role may not create roles or
    warehouses, from repeating what an administrator's bootstrap already did.
    """
    with warehouse.connection() as conn:
        present = fetch_all(conn, "load/objects_present")
    if len(present) >= REQUIRED_TABLES:
        return False
    bootstrap(warehouse, log)
    return True


@contextlib.contextmanager
def transaction(conn) -> Iterator[Any]:
    """`BEGIN` ... `COMMIT` on a cursor of `conn`, rolled back if the body raises."""
    cursor = conn.cursor()
    cursor.execute("BEGIN")
    try:
        yield cursor
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")


def execute(cursor, name: str, params: Mapping[str, Any] | None = None, **identifiers: str) -> int:
    """Run the statement of `sql/<name>.sql` with bound `params`; the rows it changed."""
    from clickstream_assets.warehouse.statements import render

    text = render(statement(name), **identifiers) if identifiers else statement(name)
    cursor.execute(text, params)
    return _rowcount(cursor)


def fetch_all(conn, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of the query in `sql/<name>.sql`, as dicts keyed by column name."""
    cursor = conn.cursor()
    cursor.execute(statement(name), params)
    columns = [column[0].upper() for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _rowcount(cursor) -> int:
    # fakesnow answers DML with a one-row result holding the count, like Snowflake's
    # "number of rows inserted"; rowcount carries the same number in both.
    count = cursor.rowcount
    return int(count) if count is not None and count >= 0 else 0


def count_row(
    warehouse: WarehouseResource, name: str, params: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """The one row of counts that the check query `sql/<name>.sql` returns, keyed in lower case
    (a NULL count, as SUM gives over no rows, is 0)."""
    with warehouse.connection() as conn:
        (row,) = fetch_all(conn, name, params)
    return {key.lower(): int(value or 0) for key, value in row.items()}
