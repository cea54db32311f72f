"""Loading pageview messages from Kafka into ANALYTICS.RAW.PAGEVIEWS, exactly once.

A load reads each partition from the offset RAW has loaded up to (LOADED_OFFSETS) to the end
offset seen when the load starts, in batches. A batch is bulk loaded into a stage table
(`write_pandas`), its unloadable messages get a reason there in one UPDATE, and then one
transaction copies the rejects, inserts the rows with `PARSE_JSON` (skipping lines RAW already
holds), moves the partitions' offsets forward and records the batch. A load that dies between
batches has committed whole batches only, so the next load starts exactly where it ended.
While one batch is written, the next is consumed and staged on a thread (`prefetched`), so
Kafka and the warehouse work at the same time.

Kafka's own committed offsets are not used: the position lives in the warehouse, beside the
rows it describes, which is what makes the two agree.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from clickstream_assets.prefetch import prefetched
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.warehouse import WarehouseResource
from clickstream_assets.warehouse.runner import execute, fetch_all, transaction

logger = logging.getLogger(__name__)

RAW_TABLE = "ANALYTICS.RAW.PAGEVIEWS"
REJECTS_TABLE = "ANALYTICS.RAW.PAGEVIEWS_REJECTS"
OFFSETS_TABLE = "ANALYTICS.RAW.LOADED_OFFSETS"
STAGE_TABLE = "ANALYTICS.RAW.PAGEVIEWS_STAGE"
CONSUMER_GROUP = "clickstream-raw-pageviews"
DEFAULT_BATCH_SIZE = 250_000
# Messages asked of librdkafka per call; it hands over what it has fetched, up to this many.
CONSUME_CHUNK = 50_000
CONSUME_WAIT_S = 0.5
# A partition that yields nothing for this long although its end offset says there is more
# means the broker is gone or the messages were deleted under the load.
STALL_TIMEOUT_S = 60.0
# Marks a staged value that SQL has to classify (see sql/load/pageviews_stage_classify.sql).
UNCHECKED = "(unchecked)"
# The exact JSON the publisher writes: strings with valid escapes only, integer counts. RE2
# syntax, for Arrow's vectorized matcher.
_JSON_STRING = r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
PUBLISHED_VALUE = (
    rf'^\{{"project":{_JSON_STRING},"page_title":{_JSON_STRING},"views":-?[0-9]+,'
    rf'"bytes":-?[0-9]+,"hour":{_JSON_STRING}\}}$'
)
CONSUMER_TUNING = {
    "fetch.max.bytes": 64 << 20,
    "max.partition.fetch.bytes": 16 << 20,
    "queued.max.messages.kbytes": 256 << 10,
}


@dataclass
class BatchResult:
    number: int
    messages: int
    rows_loaded: int
    duplicates: int
    rejects: int
    offsets: dict[int, tuple[int, int]]
    reasons: dict[str, int]
    duration_s: float


@dataclass
class LoadResult:
    topic: str
    load_id: str
    start_offsets: dict[int, int] = field(default_factory=dict)
    end_offsets: dict[int, int] = field(default_factory=dict)
    messages: int = 0
    rows_loaded: int = 0
    duplicates: int = 0
    rejects: int = 0
    batches: int = 0
    offsets: dict[int, list[int]] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)
    duration_s: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows_loaded / max(self.duration_s, 1e-9)

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.messages += batch.messages
        self.rows_loaded += batch.rows_loaded
        self.duplicates += batch.duplicates
        self.rejects += batch.rejects
        self.reasons.update(batch.reasons)
        for partition, (first, next_offset) in batch.offsets.items():
            span = self.offsets.setdefault(partition, [first, next_offset])
            span[1] = next_offset


def loaded_offsets(warehouse: WarehouseResource, topic: str) -> dict[int, int]:
    """The next offset RAW has yet to load in each partition of `topic` (absent: none loaded)."""
    with warehouse.connection() as conn:
        rows = fetch_all(conn, "load/loaded_offsets_select", {"topic": topic})
    return {int(row["PARTITION"]): int(row["NEXT_OFFSET"]) for row in rows}


def load_pageviews(
    warehouse: WarehouseResource,
    kafka: KafkaResource,
    topic: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_messages: int | None = None,
    load_id: str | None = None,
    log: logging.Logger | None = None,
    after_batch: Callable[[BatchResult], None] | None = None,
) -> LoadResult:
    """Load what `topic` holds beyond the loaded offsets, up to its end offsets at the start.

    `max_messages` caps the messages of this load (the rest waits for the next one);
    `after_batch` is called after each committed batch.
    """
    log = log or logger
    topic = topic or kafka.topic
    started = time.monotonic()
    result = LoadResult(topic=topic, load_id=load_id or uuid.uuid4().hex)
    result.end_offsets = kafka.end_offsets(topic)
    stored = loaded_offsets(warehouse, topic)

    consumer = kafka.consumer(CONSUMER_GROUP, **CONSUMER_TUNING)
    try:
        result.start_offsets = _start_offsets(consumer, topic, result.end_offsets, stored, log)
        pending = {
            p: end
            for p, end in result.end_offsets.items()
            if result.start_offsets.get(p, end) < end
        }
        total = sum(end - result.start_offsets[p] for p, end in pending.items())
        if max_messages is not None:
            total = min(total, max_messages)
        if total == 0:
            log.info(f"nothing to load from topic {topic}: RAW is at its end offsets")
        else:
            log.info(
                f"loading {total:,} messages of topic {topic} from {kafka.describe()} into "
                f"{RAW_TABLE} ({warehouse.describe()}), in batches of {batch_size:,}"
            )
            consumer.assign(
                [TopicPartition(topic, p, result.start_offsets[p]) for p in sorted(pending)]
            )
            # The next batch is consumed and staged while this one is written.
            batches = prefetched(
                _staged_batches(consumer, topic, pending, batch_size, total),
                name="raw-pageviews-consumer",
            )
            for batch in batches:
                outcome = _load_batch(warehouse, topic, result, batch)
                result.add(outcome)
                log.info(
                    f"batch {outcome.number}: {outcome.messages:,} messages -> "
                    f"{outcome.rows_loaded:,} rows into {RAW_TABLE}, {outcome.duplicates:,} "
                    f"duplicates skipped, {outcome.rejects:,} rejects "
                    f"({result.messages / total:.0%} of {total:,}, {outcome.duration_s:.1f} s)"
                )
                if after_batch is not None:
                    after_batch(outcome)
    finally:
        consumer.close()

    result.duration_s = time.monotonic() - started
    return result


def _start_offsets(
    consumer, topic: str, end_offsets: dict[int, int], stored: dict[int, int], log
) -> dict[int, int]:
    """Per partition, where this load begins: the stored next offset, or the oldest message."""
    starts = {}
    for partition in end_offsets:
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        begin = stored.get(partition, low)
        if begin < low:
            # Retention deleted messages RAW never loaded; the reconciliation check reports the
            # gap, and the load carries on from what is still there.
            log.warning(
                f"partition {partition} of {topic}: messages {begin:,}..{low - 1:,} were deleted "
                "by retention before RAW loaded them"
            )
            begin = low
        starts[partition] = begin
    return starts


def _consume_batches(consumer, topic: str, pending: dict[int, int], batch_size: int, total: int):
    """Lists of messages, `batch_size` at most, until every partition reached its end offset."""
    remaining = dict(pending)
    consumed = 0
    batch: list = []
    last_progress = time.monotonic()
    while remaining and consumed < total:
        want = min(CONSUME_CHUNK, batch_size - len(batch), total - consumed)
        messages = consumer.consume(num_messages=want, timeout=CONSUME_WAIT_S)
        if not messages:
            _forget_finished(consumer, topic, remaining)
            if remaining and time.monotonic() - last_progress > STALL_TIMEOUT_S:
                raise RuntimeError(
                    f"topic {topic} gave no messages for {STALL_TIMEOUT_S:.0f} s although "
                    f"partitions {sorted(remaining)} have not reached their end offsets "
                    f"{remaining}"
                )
            continue
        last_progress = time.monotonic()
        for message in messages:
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
            partition = message.partition()
            end = remaining.get(partition)
            if error is not None or end is None or message.offset() >= end:
                continue
            batch.append(message)
            consumed += 1
            if message.offset() + 1 >= end:
                del remaining[partition]
                consumer.pause([TopicPartition(topic, partition)])
            if consumed >= total:
                break
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class StagedBatch:
    """A consumed batch ready for the stage table: its frame, each partition's (first, next)
    offsets and its message count."""

    frame: pd.DataFrame
    offsets: dict[int, tuple[int, int]]
    messages: int


def _staged_batches(consumer, topic: str, pending: dict[int, int], batch_size: int, total: int):
    for messages in _consume_batches(consumer, topic, pending, batch_size, total):
        frame, spans = stage_frame(messages)
        yield StagedBatch(frame, spans, len(messages))


def _forget_finished(consumer, topic: str, remaining: dict[int, int]) -> None:
    # Offsets can skip (transaction markers, compaction): a partition whose fetch position has
    # passed its end offset is done even if no message carried the last offset.
    positions = consumer.position([TopicPartition(topic, p) for p in remaining])
    for position in positions:
        if position.offset >= 0 and position.offset >= remaining[position.partition]:
            del remaining[position.partition]


def stage_frame(messages: Sequence) -> tuple[pd.DataFrame, dict[int, tuple[int, int]]]:
    """The stage table's columns for a batch, and each partition's (first, next) offsets.

    Messages whose headers lack the source file or line number, or whose value is missing or
    not UTF-8, get their reason here; everything about the value's JSON is judged in SQL.
    """
    values = [m.value() for m in messages]
    partitions = np.fromiter((m.partition() for m in messages), np.int64, len(messages))
    offsets = np.fromiter((m.offset() for m in messages), np.int64, len(messages))
    headers = [m.headers() for m in messages]
    columns = _published_headers(headers)
    if columns is None:
        source_files, line_numbers, reasons = _header_columns(headers)
        columns = (pa.array(source_files, pa.string()), pa.array(line_numbers, pa.int64()))
    else:
        reasons = [None] * len(messages)

    text = _utf8_values(values, reasons)
    reason = _mark_unchecked(text, pa.array(reasons, pa.string()))
    table = pa.table(
        {
            "VALUE": text,
            "SOURCE_FILE": columns[0],
            "LINE_NUMBER": columns[1],
            "KAFKA_PARTITION": partitions,
            "KAFKA_OFFSET": offsets,
            "REASON": reason,
        }
    )
    spans: dict[int, tuple[int, int]] = {}
    for partition in np.unique(partitions):
        chosen = offsets[partitions == partition]
        spans[int(partition)] = (int(chosen.min()), int(chosen.max()) + 1)
    return table.to_pandas(types_mapper=pd.ArrowDtype), spans


def _published_headers(headers: list) -> tuple[pa.Array, pa.Array] | None:
    """SOURCE_FILE and LINE_NUMBER, computed column-wise, when every message carries the
    publisher's headers in its order (source_file, line_number, ...) with a UTF-8 file name
    and a plain integer; None otherwise, and `_header_columns` judges message by message."""
    try:
        if not all(h[0][0] == "source_file" and h[1][0] == "line_number" for h in headers):
            return None
        sources = pa.array([h[0][1] for h in headers], pa.binary())
        lines = pa.array([h[1][1] for h in headers], pa.binary())
    except (TypeError, IndexError, pa.ArrowException):
        return None
    if sources.null_count or lines.null_count:
        return None
    try:
        # Few distinct files per batch: decode each once.
        source_files = pc.cast(
            sources.dictionary_encode().cast(pa.dictionary(pa.int32(), pa.string())), pa.string()
        )
        digits = pc.cast(lines, pa.string())
        if not pc.all(pc.utf8_is_digit(digits)).as_py():
            return None
        return source_files, pc.cast(digits, pa.int64())
    except pa.ArrowException:
        return None


def _mark_unchecked(values: pa.Array, reasons: pa.Array) -> pa.Array:
    """Reasons, with UNCHECKED for each value that is not provably a well-formed message.

    A value with exactly the publisher's shape is a JSON object with every field present and
    not null, so SQL need not parse it to find out; only the others are classified there.
    """
    well_formed = pc.fill_null(pc.match_substring_regex(values, PUBLISHED_VALUE), False)
    needs_check = pc.and_(pc.is_null(reasons), pc.invert(well_formed))
    return pc.if_else(needs_check, pa.scalar(UNCHECKED), reasons)


def _header_columns(headers: list) -> tuple[list, list, list]:
    source_files: list[str | None] = []
    line_numbers: list[int | None] = []
    reasons: list[str | None] = []
    # A batch comes from a few files: decode each file name once.
    decoded: dict[bytes, str | None] = {}
    for pairs in headers:
        # The publisher writes source_file, line_number, hour in this order; anything else
        # is looked up by name.
        if (
            pairs
            and len(pairs) >= 2
            and pairs[0][0] == "source_file"
            and pairs[1][0] == "line_number"
        ):
            source, line = pairs[0][1], pairs[1][1]
        else:
            found = dict(pairs) if pairs else {}
            source, line = found.get("source_file"), found.get("line_number")
        reason = None
        if source is None:
            reason = "header source_file is missing"
        else:
            if source not in decoded:
                try:
                    decoded[source] = source.decode("utf-8")
                except UnicodeDecodeError:
                    decoded[source] = None
            source = decoded[source]
        if line is None:
            reason = reason or "header line_number is missing"
        else:
            try:
                line = int(line)
            except ValueError:
                reason, line = reason or "header line_number is not an integer", None
        if reason is None and source is None:
            reason = "header source_file is not UTF-8"
        source_files.append(source)
        line_numbers.append(line)
        reasons.append(reason)
    return source_files, line_numbers, reasons


def _utf8_values(values: list, reasons: list) -> pa.Array:
    """The values as text; a missing or non-UTF-8 value becomes a reject, kept readable."""
    raw = pa.array(values, pa.binary())
    if raw.null_count == 0:
        try:
            return raw.cast(pa.string())
        except pa.ArrowInvalid:
            pass
    texts = []
    for index, value in enumerate(values):
        if value is None:
            texts.append(None)
            reasons[index] = reasons[index] or "message has no value"
            continue
        try:
            texts.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(value.decode("utf-8", "replace"))
            reasons[index] = reasons[index] or "value is not UTF-8"
    return pa.array(texts, pa.string())


def _load_batch(
    warehouse: WarehouseResource, topic: str, result: LoadResult, batch: StagedBatch
) -> BatchResult:
    started = time.monotonic()
    frame, spans = batch.frame, batch.offsets

    with warehouse.connection() as conn:
        cursor = conn.cursor()
        execute(cursor, "load/pageviews_stage_truncate")
        warehouse.write_pandas(conn, frame, STAGE_TABLE)
        # A batch of the publisher's own messages has no reason on any row: then nothing
        # needs classifying and nothing is rejected, and those statements are skipped.
        suspect = bool(frame["REASON"].notna().any())
        reasons = {}
        if suspect:
            execute(cursor, "load/pageviews_stage_classify", {"unchecked": UNCHECKED})
            reasons = {
                row["REASON"]: int(row["MESSAGES"])
                for row in fetch_all(conn, "load/pageviews_stage_reasons")
            }
        rejects = sum(reasons.values())

        with transaction(conn) as tx:
            if rejects:
                execute(tx, "load/pageviews_insert_rejects", {"topic": topic})
            rows = execute(tx, "load/pageviews_insert_rows", {"topic": topic})
            for partition, (first, next_offset) in sorted(spans.items()):
                position = {
                    "topic": topic,
                    "partition": partition,
                    "first_offset": first,
                    "next_offset": next_offset,
                }
                if not execute(tx, "load/loaded_offsets_advance", position):
                    execute(tx, "load/loaded_offsets_insert", position)
            duplicates = batch.messages - rejects - rows
            execute(
                tx,
                "load/pageviews_loads_insert",
                {
                    "load_id": result.load_id,
                    "topic": topic,
                    "messages": batch.messages,
                    "rows_loaded": rows,
                    "duplicates": duplicates,
                    "rejects": rejects,
                    "offsets": json.dumps({str(p): list(span) for p, span in spans.items()}),
                },
            )

    return BatchResult(
        number=result.batches + 1,
        messages=batch.messages,
        rows_loaded=rows,
        duplicates=duplicates,
        rejects=rejects,
        offsets=spans,
        reasons=reasons,
        duration_s=time.monotonic() - started,
    )


def preview_rows(warehouse: WarehouseResource, topic: str) -> pa.Table:
    """Up to 10 typed rows of the topic, for metadata previews."""
    with warehouse.connection() as conn:
        rows = fetch_all(conn, "load/pageviews_preview", {"topic": topic})
    return pa.Table.from_pylist(rows)
