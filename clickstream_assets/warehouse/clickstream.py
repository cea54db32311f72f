"""Loading a clickstream month into a RAW table as VARIANT rows {prev, curr, type, n}.

The parquet file is streamed in record batches into the stage table (bounded memory, whatever
the month's size); then one transaction deletes the partition's rows and inserts the staged
ones, so a rerun replaces the month instead of doubling it.

LINE_NUMBER is the row's position in the parquet file, which keeps the dump's order: it is
the dump's line number unless lines were quarantined during the conversion.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clickstream_assets.clickstream.parsing import convert_clickstream
from clickstream_assets.resources.warehouse import WarehouseResource
from clickstream_assets.warehouse.runner import execute, transaction
from clickstream_assets.warehouse.statements import qualified_name

logger = logging.getLogger(__name__)

RAW_TABLE = "ANALYTICS.RAW.CLICKSTREAM"
STAGE_TABLE = "ANALYTICS.RAW.CLICKSTREAM_STAGE"
BATCH_ROWS = 1 << 20
DUMP_NAME = re.compile(r"clickstream-(?P<wiki>[a-z_]+wiki)-(?P<month>\d{4}-\d{2})")
PARQUET_PATH = re.compile(r"wiki=(?P<wiki>[a-z_]+wiki)/month=(?P<month>\d{4}-\d{2})/")


@dataclass
class ClickstreamLoad:
    table: str
    wiki: str
    month: str
    source_file: str
    rows: int
    replaced: int
    duration_s: float


def partition_of_file(path: Path) -> tuple[str, str] | None:
    """(wiki, first day of month) named by a dump's file name or a parquet file's folders."""
    text = path.as_posix()
    match = DUMP_NAME.search(path.name) or PARQUET_PATH.search(text)
    return (match["wiki"], f"{match['month']}-01") if match else None


def load_clickstream(
    warehouse: WarehouseResource,
    source: Path,
    wiki: str,
    month: str,
    *,
    table: str = RAW_TABLE,
    log: logging.Logger | None = None,
) -> ClickstreamLoad:
    """Replace (wiki, month) in `table` with the rows of `source` (parquet or a .tsv[.gz] dump).

    The table name is validated before anything connects; a table that does not exist yet is
    created with the RAW clickstream's shape.
    """
    log = log or logger
    target = qualified_name(table)
    started = time.monotonic()
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")

    with tempfile.TemporaryDirectory(prefix="clickstream-load-") as scratch:
        parquet = source if source.suffix == ".parquet" else _convert(source, Path(scratch))
        staged = _stage(warehouse, parquet, target)
        with warehouse.connection() as conn, transaction(conn) as tx:
            params = {"wiki": wiki, "month": month, "source_file": source.name}
            replaced = execute(tx, "load/clickstream_delete_partition", params, table=target)
            rows = execute(tx, "load/clickstream_insert_partition", params, table=target)
    if rows != staged:
        raise RuntimeError(f"staged {staged:,} rows of {source} but {target} received {rows:,}")

    duration = time.monotonic() - started
    log.info(
        f"loaded {rows:,} rows of {source.name} into {target} ({wiki} {month[:7]}, replacing "
        f"{replaced:,}) in {duration:.1f} s"
    )
    return ClickstreamLoad(target, wiki, month, source.name, rows, replaced, duration)


def _convert(dump: Path, scratch: Path) -> Path:
    # Bad lines fail the load with their file and line: loading them silently would shift the
    # line numbers of everything after them.
    parquet = scratch / "clickstream.parquet"
    convert_clickstream(dump, parquet, max_bad_lines=0)
    return parquet


def _stage(warehouse: WarehouseResource, parquet: Path, target: str) -> int:
    """Bulk load the parquet's rows into the stage table, batch by batch; rows staged."""
    staged = 0
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        execute(cursor, "load/clickstream_create_table", table=target)
        execute(cursor, "load/clickstream_stage_truncate")
        for batch in pq.ParquetFile(parquet).iter_batches(
            batch_size=BATCH_ROWS, columns=["prev", "curr", "type", "n"]
        ):
            lines = pa.array(np.arange(staged + 1, staged + batch.num_rows + 1, dtype=np.int64))
            frame = pa.table(
                {
                    "PREV": batch.column("prev"),
                    "CURR": batch.column("curr"),
                    "TYPE": batch.column("type"),
                    "N": batch.column("n"),
                    "LINE_NUMBER": lines,
                }
            ).to_pandas(types_mapper=pd.ArrowDtype)
            staged += warehouse.write_pandas(conn, frame, STAGE_TABLE)
    return staged
