"""Reading clickstream dumps: streaming conversion to parquet and line-exact validation.

The fast path overlaps three kinds of work on separate threads, all of which release the GIL:
ISA-L inflates the gzip stream, Arrow's multithreaded CSV reader parses it into record
batches, and a writer thread encodes row groups with zstd. Memory stays bounded by the block
size and the queue between parser and writer, whatever the size of the dump.

Validation is vectorized per batch. Arrow's parallel parser cannot tell the line number of a
bad row, so when a batch holds one the file is scanned a second time, line by line, to name
the line numbers (only then; a clean dump is read once).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from isal import igzip, igzip_threaded

COLUMNS = ("prev", "curr", "type", "n")
SCHEMA = pa.schema(
    [
        pa.field("prev", pa.string(), nullable=False),
        pa.field("curr", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),
    ]
)
TYPES = ("link", "external", "other")
REFERRERS = ("other-empty", "other-internal", "other-external", "other-search", "other-other")
# Where a reader came from when `prev` is not an article, as the entry-page reports name it.
ENTRY_SOURCES = {
    "other-search": "search",
    "other-external": "external",
    "other-empty": "empty",
    "other-internal": "internal",
    "other-other": "other",
}

BLOCK_BYTES = 16 << 20
ROW_GROUP_ROWS = 1 << 20
QUEUE_BATCHES = 8

ProgressCallback = Callable[[int], None]


class ClickstreamFormatError(ValueError):
    """A dump line does not follow `prev<TAB>curr<TAB>type<TAB>n`."""


@dataclass(frozen=True)
class BadLine:
    line_number: int
    reason: str
    text: str


@dataclass
class ConversionResult:
    rows: int = 0
    sum_n: int = 0
    bad_lines: int = 0
    row_groups: int = 0
    parquet_bytes: int = 0
    duration_s: float = 0.0
    quarantined: list[BadLine] = field(default_factory=list)


def check_line(fields: list[bytes]) -> str | None:
    """The reason a split dump line is malformed, or None when it is valid."""
    if len(fields) != 4:
        return f"expected 4 tab-separated fields, found {len(fields)}"
    prev, curr, kind, n = fields
    if not prev or not curr:
        return "empty prev or curr"
    if not n.isdigit():
        if n.startswith(b"-") and n[1:].isdigit():
            return f"n must not be negative, found {n.decode(errors='replace')}"
        return f"n must be a non-negative integer, found {n.decode(errors='replace')!r}"
    if kind.decode(errors="replace") not in TYPES:
        return f"type must be one of {', '.join(TYPES)}, found {kind.decode(errors='replace')!r}"
    if curr.decode(errors="replace") in REFERRERS:
        return f"curr must be an article, found the referrer {curr.decode()!r}"
    return None


def scan_bad_lines(path: Path, limit: int | None = None) -> Iterator[BadLine]:
    """Yield every malformed line of a gzip dump with its 1-based line number."""
    found = 0
    with igzip.open(path, "rb") as stream:
        for number, raw in enumerate(stream, start=1):
            line = raw.rstrip(b"\n").removesuffix(b"\r")
            reason = check_line(line.split(b"\t"))
            if reason is None:
                continue
            yield BadLine(number, reason, line.decode("utf-8", errors="replace"))
            found += 1
            if limit is not None and found >= limit:
                return


def _batch_is_valid(batch: pa.RecordBatch) -> pa.ChunkedArray | pa.Array:
    n_ok = pc.utf8_is_digit(batch.column("n"))
    type_ok = pc.is_in(batch.column("type"), value_set=pa.array(TYPES))
    curr_ok = pc.invert(pc.is_in(batch.column("curr"), value_set=pa.array(REFERRERS)))
    filled = pc.and_(
        pc.greater(pc.utf8_length(batch.column("prev")), 0),
        pc.greater(pc.utf8_length(batch.column("curr")), 0),
    )
    return pc.and_(pc.and_(n_ok, type_ok), pc.and_(curr_ok, filled))


def _typed(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.record_batch(
        [
            batch.column("prev"),
            batch.column("curr"),
            batch.column("type"),
            pc.cast(batch.column("n"), pa.int64()),
        ],
        schema=SCHEMA,
    )


def iter_clickstream_batches(
    path: Path, on_bad_row: Callable[[str], None]
) -> Iterator[pa.RecordBatch]:
    """Parse a gzip dump into raw string batches; rows with a wrong field count go to a callback.

    The stream is inflated on a thread of its own so that parsing never waits on zlib.
    """

    def handle_invalid(row: pacsv.InvalidRow) -> str:
        on_bad_row(row.text)
        return "skip"

    read = pacsv.ReadOptions(column_names=list(COLUMNS), block_size=BLOCK_BYTES, use_threads=True)
    parse = pacsv.ParseOptions(
        delimiter="\t",
        quote_char=False,
        escape_char=False,
        double_quote=False,
        newlines_in_values=False,
        ignore_empty_lines=False,
        invalid_row_handler=handle_invalid,
    )
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in COLUMNS},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    with igzip_threaded.open(path, "rb", threads=1, block_size=4 << 20) as stream:
        reader = pacsv.open_csv(
            stream, read_options=read, parse_options=parse, convert_options=convert
        )
        yield from reader


class _ParquetWriterThread:
    """Encodes and writes row groups on a thread of its own, fed through a bounded queue."""

    def __init__(self, path: Path):
        self._writer = pq.ParquetWriter(
            path, SCHEMA, compression="zstd", compression_level=3, write_statistics=True
        )
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._error: BaseException | None = None
        self.row_groups = 0
        self._thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (table := self._queue.get()) is not None:
                self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                self.row_groups += 1
        except BaseException as exc:
            self._error = exc
            while self._queue.get() is not None:
                pass

    def put(self, table: pa.Table) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(table)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        if self._error is not None:
            raise self._error


def convert_clickstream(
    source: Path,
    dest: Path,
    *,
    max_bad_lines: int = 0,
    quarantine: Path | None = None,
    progress: ProgressCallback | None = None,
) -> ConversionResult:
    """Convert a gzip clickstream dump to a zstd parquet file with a typed schema.

    More than `max_bad_lines` malformed lines fail the conversion with the file, line number
    and reason of the first ones. Within the allowance, bad lines are left out of the parquet
    and written with their line numbers to `quarantine`. Both files appear only when complete.
    """
    started = time.monotonic()
    result = ConversionResult()
    misshapen: list[str] = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    writer = _ParquetWriterThread(tmp)
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        for batch in iter_clickstream_batches(source, misshapen.append):
            valid = _batch_is_valid(batch)
            if not pc.all(valid).as_py():
                result.bad_lines += batch.num_rows - pc.sum(valid).as_py()
                batch = batch.filter(valid)
            if result.bad_lines + len(misshapen) > max_bad_lines:
                break
            typed = _typed(batch)
            result.rows += typed.num_rows
            result.sum_n += pc.sum(typed.column("n")).as_py() or 0
            pending.append(typed)
            pending_rows += typed.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                writer.put(pa.Table.from_batches(pending))
                pending, pending_rows = [], 0
            if progress is not None:
                progress(result.rows)
        if pending:
            writer.put(pa.Table.from_batches(pending))
        writer.close()
    except EOFError as exc:
        _discard(writer, tmp)
        raise ClickstreamFormatError(f"{source}: the gzip stream ends early ({exc})") from exc
    except (OSError, pa.ArrowInvalid) as exc:
        _discard(writer, tmp)
        raise ClickstreamFormatError(f"{source}: cannot be read as a gzip TSV dump: {exc}") from exc
    except BaseException:
        _discard(writer, tmp)
        raise

    result.bad_lines += len(misshapen)
    if result.bad_lines > max_bad_lines:
        tmp.unlink(missing_ok=True)
        _raise_bad_lines(source, max_bad_lines)
    if result.bad_lines:
        result.quarantined = list(scan_bad_lines(source))
        if quarantine is not None:
            write_quarantine(quarantine, result.quarantined)
    os.replace(tmp, dest)
    result.row_groups = writer.row_groups
    result.parquet_bytes = dest.stat().st_size
    result.duration_s = time.monotonic() - started
    return result


def _discard(writer: _ParquetWriterThread, tmp: Path) -> None:
    with contextlib.suppress(Exception):
        writer.close()
    tmp.unlink(missing_ok=True)


def _raise_bad_lines(source: Path, max_bad_lines: int) -> None:
    shown = list(scan_bad_lines(source, limit=max_bad_lines + 1))[:5]
    details = "; ".join(f"line {bad.line_number}: {bad.reason}" for bad in shown)
    allowance = f"at most {max_bad_lines} allowed" if max_bad_lines else "none allowed"
    raise ClickstreamFormatError(
        f"{source}: more than {max_bad_lines} malformed lines ({allowance}); {details}"
    )


def write_quarantine(path: Path, bad_lines: list[BadLine]) -> None:
    """Write bad lines as `line_number<TAB>reason<TAB>original line`, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("line_number\treason\tline\n")
        for bad in bad_lines:
            out.write(f"{bad.line_number}\t{bad.reason}\t{bad.text}\n")
    os.replace(tmp, path)


def read_clickstream_table(source: Path) -> pa.Table:
    """Parse a small dump into one typed table (for tests and hand inspection)."""
    misshapen: list[str] = []
    batches = [_typed(b) for b in iter_clickstream_batches(source, misshapen.append)]
    if misshapen:
        _raise_bad_lines(source, 0)
    return pa.Table.from_batches(batches, schema=SCHEMA)
