"""Reading hourly pageview dumps (current and legacy pagecounts-raw) into typed Arrow batches.

A line is `domain_code page_title count_views total_response_size`, space-separated. The
parser is Arrow's CSV reader in serial mode: it reports the physical line number of each
rejected row, from which the line number of every accepted row follows, so each record keeps
the line it came from (counting blank lines) all the way into Kafka headers and the warehouse.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from isal import igzip_threaded

COLUMNS = ("domain_code", "page_title", "count_views", "total_response_size")
SCHEMA = pa.schema(
    [
        pa.field("domain_code", pa.string(), nullable=False),
        pa.field("page_title", pa.string(), nullable=False),
        pa.field("count_views", pa.int64(), nullable=False),
        pa.field("total_response_size", pa.int64(), nullable=False),
        pa.field("line_number", pa.int64(), nullable=False),
    ]
)
# Text per parsed batch: Arrow keeps a few blocks alive at once, so smaller blocks bound the
# parser's memory (8 MB blocks peaked 90 MB higher on a full hour) at no cost in speed.
BLOCK_BYTES = 2 << 20
FILE_NAME = re.compile(r"^(?:pageviews|pagecounts)-(\d{8})-(\d{2})\d{4}(?:\.gz)?$")


@dataclass(frozen=True)
class Reject:
    line_number: int
    reason: str
    text: str


@dataclass
class ParseStats:
    """What a pass over a dump saw; `rejects` keeps the first `keep_rejects` examples."""

    lines: int = 0
    records: int = 0
    blank_lines: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)
    replaced_utf8: int = 0
    keep_rejects: int = 100

    def reject(self, line_number: int, reason: str, text: str) -> None:
        self.rejected += 1
        self.reasons[reason] += 1
        if len(self.rejects) < self.keep_rejects:
            self.rejects.append(Reject(line_number, reason, text))


def hour_of(path: Path | str) -> datetime:
    """The UTC hour named in a dump's file name (`pageviews-20241001-130000.gz`)."""
    match = FILE_NAME.match(Path(path).name)
    if not match:
        raise ValueError(
            f"{path}: expected a file name like pageviews-YYYYMMDD-HH0000.gz naming the hour"
        )
    return datetime.strptime(match[1] + match[2], "%Y%m%d%H").replace(tzinfo=UTC)


def _reader(stream, on_invalid: Callable[[pacsv.InvalidRow], str]) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            column_names=list(COLUMNS), block_size=BLOCK_BYTES, use_threads=False
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=" ",
            quote_char=False,
            escape_char=False,
            double_quote=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.binary() for name in COLUMNS},
            strings_can_be_null=False,
            null_values=[],
        ),
    )


def _text(values: pa.Array, stats: ParseStats) -> pa.Array:
    """Binary to UTF-8 strings; a rare invalid byte sequence is replaced, and counted."""
    try:
        return pc.cast(values, pa.string())
    except pa.ArrowInvalid:
        decoded = []
        for raw in values.to_pylist():
            text = raw.decode("utf-8", errors="replace")
            stats.replaced_utf8 += text != raw.decode("utf-8", errors="ignore")
            decoded.append(text)
        return pa.array(decoded, pa.string())


def _validate(batch: pa.RecordBatch, lines: np.ndarray, stats: ParseStats) -> pa.RecordBatch:
    """Drop blank and malformed rows (recording why), and type the rest."""
    domain, title, views, size = (batch.column(name) for name in COLUMNS)
    domain_len = pc.binary_length(domain)
    blank = pc.and_(
        pc.equal(domain_len, 0),
        pc.and_(pc.equal(pc.binary_length(title), 0), pc.equal(pc.binary_length(views), 0)),
    )
    views_text = pc.cast(views, pa.string(), safe=False)
    size_text = pc.cast(size, pa.string(), safe=False)
    checks = [
        (pc.invert(blank), None),
        (pc.greater(domain_len, 0), "empty domain_code"),
        (pc.greater(pc.binary_length(title), 0), "empty page_title"),
        (pc.utf8_is_digit(views_text), "count_views is not a non-negative integer"),
        (pc.utf8_is_digit(size_text), "total_response_size is not a non-negative integer"),
    ]
    valid = checks[0][0]
    for ok, _ in checks[1:]:
        valid = pc.and_(valid, ok)
    stats.blank_lines += pc.sum(blank).as_py() or 0
    if not pc.all(valid).as_py():
        _record_rejects(batch, lines, blank, checks, stats)
        batch = batch.filter(valid)
        lines = lines[np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)]
    return pa.record_batch(
        [
            _text(batch.column("domain_code"), stats),
            _text(batch.column("page_title"), stats),
            pc.cast(pc.cast(batch.column("count_views"), pa.string()), pa.int64()),
            pc.cast(pc.cast(batch.column("total_response_size"), pa.string()), pa.int64()),
            pa.array(lines, pa.int64()),
        ],
        schema=SCHEMA,
    )


def _record_rejects(batch, lines, blank, checks, stats: ParseStats) -> None:
    blank_mask = np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)
    masks = [np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool) for ok, _ in checks[1:]]
    for index in np.flatnonzero(~np.logical_and.reduce(masks) & ~blank_mask):
        reason = next(
            reason for (_, reason), mask in zip(checks[1:], masks, strict=True) if not mask[index]
        )
        row = batch.slice(int(index), 1).to_pylist()[0]
        text = b" ".join(row[name] for name in COLUMNS).decode("utf-8", errors="replace")
        if "not a non-negative integer" in reason and row["count_views"].startswith(b"-"):
            reason = "count_views is negative"
        stats.reject(int(lines[index]), reason, text)


def iter_pageview_batches(path: Path, stats: ParseStats | None = None) -> Iterator[pa.RecordBatch]:
    """Typed record batches (SCHEMA) of a gzip pageview dump, each row with its line number.

    Rows with the wrong number of fields, empty fields or non-numeric counts are rejected and
    counted in `stats` with their reasons; blank lines are skipped and counted.
    """
    stats = stats if stats is not None else ParseStats()
    invalid_lines: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid_lines.append(row.number)
        stats.reject(
            row.number, f"expected 4 space-separated fields, found {row.actual_columns}", row.text
        )
        return "skip"

    with igzip_threaded.open(path, "rb", threads=1, block_size=4 << 20) as stream:
        yield from _numbered(_reader(stream, on_invalid), invalid_lines, stats)


def _numbered(reader, invalid_lines: list[int], stats: ParseStats) -> Iterator[pa.RecordBatch]:
    accepted_before = 0
    for batch in reader:
        # Row k (1-based, counting only rows the parser kept) sits on physical line
        # k + (invalid lines before it); invalid line j (0-based) precedes row k iff
        # s_j - j <= k, so a sorted search gives every line number at once.
        shifted = np.asarray(invalid_lines, dtype=np.int64) - np.arange(len(invalid_lines))
        kept = np.arange(accepted_before + 1, accepted_before + batch.num_rows + 1)
        lines = kept + np.searchsorted(shifted, kept, side="right")
        accepted_before += batch.num_rows
        typed = _validate(batch, lines, stats)
        stats.records += typed.num_rows
        if typed.num_rows:
            yield typed
    stats.lines = accepted_before + len(invalid_lines)
