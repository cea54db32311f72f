"""Reading clickstream dumps: streaming conversion to parquet and line-exact validation.

The fast path keeps every core busy with work that releases the GIL. ISA-L inflates the gzip
stream on a thread of its own; the inflated text is cut into blocks at line breaks and parsed
into Arrow tables by a pool of parser threads (Arrow's streaming CSV reader parses one block
at a time on the reading thread, so it could not overlap with validation); the calling
thread validates and types each batch; a writer thread encodes row groups with zstd. Memory
stays bounded by the block size and the number of blocks and row groups in flight, whatever
the size of the dump.

Validation is vectorized per batch: cheap whole-batch aggregates prove a clean batch valid,
and the row mask is built only for a batch that fails them. Arrow's parser cannot tell the
line number of a bad row, so when a batch holds one the file is scanned a second time, line
by line, to name the line numbers (only then; a clean dump is read once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

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

log = logging.getLogger(__name__)

# Inflated bytes per parse task (about 80,000 rows). Smaller blocks start the pipeline sooner
# and keep less text in flight; at 1 MB the per-task overhead shows.
BLOCK_BYTES = 4 << 20
# The parquet writer is the one stage that cannot be split, so it gets a core to itself and
# the parsers the others. On two cores the single parser shares its core with inflation and
# validation; measured there, a second parser only added contention (8.6 s against 9-14 s for
# 33M rows on a busy machine).
PARSE_THREADS = max(1, (os.cpu_count() or 2) - 1)
# Blocks submitted ahead of the one being validated, so a parser never waits for work.
PARSE_AHEAD = PARSE_THREADS + 2
ROW_GROUP_ROWS = 1 << 20
# Row groups waiting for the writer, about 70 MB of Arrow memory each. A deeper queue would
# only raise the peak: when the writer is the slowest stage, any queue ends up full.
QUEUE_ROW_GROUPS = 2
# Being the serial stage, the writer is tuned for speed: zstd level 1 writes files within a
# few percent of level 3's size in 10% less time, and the min/max statistics of the title
# columns, a quarter of the writer's time, are left out because they prune nothing (every
# row group spans most of the alphabet). `n` keeps its statistics, which
# `has_no_negative_counts` reads, and `type` its cheap ones.
ZSTD_LEVEL = 1
STATISTICS_COLUMNS = ["type", "n"]

ProgressCallback = Callable[[int], None]
_BLOCK_ROW = re.compile(r"Row #\d+: ")


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


def _valid_rows(batch: pa.RecordBatch) -> pa.Array | None:
    """The mask of valid rows of a raw batch, or None when every row is valid.

    A clean batch is proved valid with whole-batch aggregates that avoid per-row hashing and
    UTF-8 decoding where a cheaper test decides: byte lengths for emptiness, and a prefix scan
    for referrers, which all start with `other-`.
    """
    if batch.num_rows == 0:
        return None
    prev, curr, kind, n = (batch.column(name) for name in COLUMNS)
    curr_may_be_referrer = pc.any(pc.starts_with(curr, "other-")).as_py()
    clean = (
        pc.min(pc.binary_length(prev)).as_py() > 0
        and pc.min(pc.binary_length(curr)).as_py() > 0
        and pc.all(pc.utf8_is_digit(n)).as_py()
        and pc.all(pc.is_in(kind, value_set=pa.array(TYPES))).as_py()
        and not (curr_may_be_referrer and pc.any(_is_referrer(curr)).as_py())
    )
    if clean:
        return None
    filled = pc.and_(pc.greater(pc.binary_length(prev), 0), pc.greater(pc.binary_length(curr), 0))
    n_ok = pc.utf8_is_digit(n)
    type_ok = pc.is_in(kind, value_set=pa.array(TYPES))
    return pc.and_(pc.and_(n_ok, type_ok), pc.and_(pc.invert(_is_referrer(curr)), filled))


def _is_referrer(column: pa.Array) -> pa.Array:
    return pc.is_in(column, value_set=pa.array(REFERRERS))


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
    """Parse a gzip dump into raw string batches, in file order; rows with a wrong field count
    go to a callback (which may be called from a parser thread).

    The stream is inflated on a thread of its own so that parsing never waits on inflation,
    and up to `PARSE_THREADS` blocks are parsed at the same time.
    """

    def handle_invalid(row: pacsv.InvalidRow) -> str:
        on_bad_row(row.text)
        return "skip"

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

    def parse_block(block: bytearray) -> pa.Table:
        # One Arrow block per task: the pool provides the parallelism, and a block parsed
        # whole comes back as a single record batch.
        read = pacsv.ReadOptions(
            column_names=list(COLUMNS), block_size=len(block) + 1, use_threads=False
        )
        try:
            return pacsv.read_csv(
                pa.BufferReader(block),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            # Arrow numbers rows from the start of the block, which would name the wrong line
            # of the file; the message says what is wrong without it.
            raise pa.ArrowInvalid(_BLOCK_ROW.sub("", str(exc))) from exc

    in_flight: deque[Future[pa.Table]] = deque()
    with (
        igzip_threaded.open(path, "rb", threads=1, block_size=BLOCK_BYTES) as stream,
        ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="clickstream-parse") as pool,
    ):
        try:
            empty = True
            for block in _line_blocks(stream, BLOCK_BYTES):
                empty = False
                in_flight.append(pool.submit(parse_block, block))
                if len(in_flight) > PARSE_AHEAD:
                    yield from in_flight.popleft().result().to_batches()
            while in_flight:
                yield from in_flight.popleft().result().to_batches()
            if empty:
                # Fails as Arrow does on an empty file ("Empty CSV file").
                parse_block(bytearray())
        finally:
            for future in in_flight:
                future.cancel()


def _line_blocks(stream: BinaryIO, size: int) -> Iterator[bytearray]:
    """Cut a byte stream into blocks of about `size` bytes that end at a line break.

    Each block is read straight into a buffer of its own and completed with the rest of its
    last line, so the text is copied once between the inflater and the parser. Ending blocks
    at `\n` is safe for Arrow's parser, which also ends a line at a lone `\r`: a cut never
    falls inside a line. The last block may lack a final line break.
    """
    while True:
        block = bytearray(size)
        filled = stream.readinto(block)
        if not filled:
            return
        del block[filled:]
        if block[-1] != ord("\n"):
            block += stream.readline()
        yield block


class _ParquetWriterThread:
    """Encodes and writes row groups on a thread of its own, fed through a bounded queue."""

    def __init__(self, path: Path):
        self._writer = pq.ParquetWriter(
            path,
            SCHEMA,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            write_statistics=STATISTICS_COLUMNS,
        )
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUE_ROW_GROUPS)
        self._error: BaseException | None = None
        self.row_groups = 0
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (table := self._queue.get()) is not None:
                started = time.perf_counter()
                self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
                self.busy_s += time.perf_counter() - started
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
        batches = iter_clickstream_batches(source, misshapen.append)
        with contextlib.closing(batches):
            for batch in batches:
                valid = _valid_rows(batch)
                if valid is not None:
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
                    pending, pending_rows = _put_row_group(writer, pending)
                if progress is not None:
                    progress(result.rows)
        if pending:
            writer.put(pa.Table.from_batches(pending, schema=SCHEMA))
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

    log.debug(
        f"parsed {result.rows:,} rows of {source} in {time.monotonic() - started:.1f} s, "
        f"the parquet writer busy for {writer.busy_s:.1f} s of it"
    )
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


def _put_row_group(
    writer: _ParquetWriterThread, pending: list[pa.RecordBatch]
) -> tuple[list[pa.RecordBatch], int]:
    """Hand exactly `ROW_GROUP_ROWS` rows to the writer; return the rows left over.

    Cutting exactly keeps every row group but the last the same size (a table slightly over
    the size would otherwise leave a tiny row group behind it). Slices share memory.
    """
    table = pa.Table.from_batches(pending, schema=SCHEMA)
    writer.put(table.slice(0, ROW_GROUP_ROWS))
    rest = table.slice(ROW_GROUP_ROWS)
    return rest.to_batches(), rest.num_rows


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
