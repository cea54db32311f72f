"""Pageview messages from Kafka into RAW: the product's loader against the reference way and
the floor.

    .venv/bin/python -m benchmarks.raw_pageviews                  # one million messages
    .venv/bin/python -m benchmarks.raw_pageviews --lines 200000 --repeat 1 --no-readme

A generated hour (1M lines by default; written once under the data dir's `benchmarks/`
folder and reused) is published once with the product's publisher to a topic of the
project's own Apache Kafka broker, which this benchmark starts on free ports in a scratch
folder and stops at the end whatever happens. Then, each in a child process of its own,
`--repeat` times round-robin, every run against a fresh embedded (fakesnow) warehouse,
bootstrapped before the clock starts:

- `load_pageviews`, the product path (`raw_pageviews` asset): everything the topic holds into
  ANALYTICS.RAW.PAGEVIEWS;
- the same load again over the warehouse the previous run left, resetting nothing: it must
  load 0 rows, and its time is what a run costs when nothing is new;
- the reference way: the first `--slice` messages (10,000 by default; it runs at a few
  hundred rows per second, so the whole topic would take an hour) inserted with
  `executemany("INSERT ... SELECT PARSE_JSON(%s), ...")`, one row per parameter set, in
  batches of 1,000; compared by rows per second;
- the floor: the same messages consumed with a confluent-kafka Consumer tuned as the
  product's, building nothing.

Every run must account for exactly the messages it was given (rows in RAW, or messages
consumed); the run fails otherwise. The broker, the generated hour and the measurement of
a child beside the broker are `benchmarks.pageview_topic`'s.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import (
    Measurement,
    best,
    machine_note,
    markdown_table,
    report,
    write_readme_section,
)
from benchmarks.pageview_topic import (
    HOUR,
    clocked,
    create_topic,
    ensure_hour,
    goal_sentence,
    kafka_resource,
    local_broker,
    run_beside_broker,
    topic_messages,
)

log = logging.getLogger("benchmarks.raw_pageviews")

NAME = "raw_pageviews"
FULL_LINES = 1_000_000
REFERENCE_SLICE = 10_000
REFERENCE_BATCH = 1_000
# A consumer that receives nothing for this long while messages are due is stuck.
STALL_TIMEOUT_S = 60.0
# The goals the product path is held to (see the README section this writes).
GOAL_SPEEDUP_VS_REFERENCE = 100.0
GOAL_TIMES_FLOOR = 2.5

REFERENCE_INSERT = """
    INSERT INTO ANALYTICS.RAW.PAGEVIEWS (
        RAW, SOURCE_FILE, LINE_NUMBER, KAFKA_TOPIC, KAFKA_PARTITION, KAFKA_OFFSET
    )
    SELECT PARSE_JSON(%s), %s, %s, %s, %s, %s
"""


@dataclass(frozen=True)
class Variant:
    name: str
    label: str


VARIANTS = (
    Variant("product", "**`load_pageviews`** (product)"),
    Variant("rerun", "`load_pageviews` re-run, nothing new"),
    Variant("reference", "reference: `executemany` of `INSERT ... SELECT PARSE_JSON(%s)`"),
    Variant("floor", "floor: consume with the product's tuning, load nothing"),
)


# Work done in the child processes. Each returns a payload with its own `seconds`, which
# leaves interpreter start-up, imports and the warehouse's bootstrap out of the comparison.


def _warehouse(directory: Path):
    from clickstream_assets.resources.warehouse import WarehouseResource, embedded_snowflake

    return WarehouseResource(snowflake=embedded_snowflake(), embedded_path=str(directory))


def _raw_rows(warehouse, topic: str) -> int:
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT COUNT(*) FROM ANALYTICS.RAW.PAGEVIEWS WHERE KAFKA_TOPIC = %s", (topic,)
        )
        return int(cursor.fetchone()[0])


def _child_publish(args: argparse.Namespace) -> dict:
    from clickstream_assets.pageviews.publish import publish_hour

    producer = kafka_resource(args.bootstrap, args.topic).producer()
    result, clock = clocked(lambda: publish_hour(producer, args.topic, args.source, HOUR))
    return {**clock, "messages": result.messages}


def _child_product(args: argparse.Namespace) -> dict:
    from clickstream_assets.warehouse.pageviews import load_pageviews
    from clickstream_assets.warehouse.runner import bootstrap

    warehouse = _warehouse(args.warehouse)
    if args.child == "product":
        bootstrap(warehouse)
    kafka = kafka_resource(args.bootstrap, args.topic)

    result, clock = clocked(lambda: load_pageviews(warehouse, kafka, args.topic))
    return {
        **clock,
        "messages": result.messages,
        "rows": result.rows_loaded,
        "duplicates": result.duplicates,
        "rejects": result.rejects,
        "raw_rows": _raw_rows(warehouse, args.topic),
    }


def _child_reference(args: argparse.Namespace) -> dict:
    import clickstream_assets.warehouse.pageviews  # noqa: F401
    from clickstream_assets.warehouse.runner import bootstrap

    warehouse = _warehouse(args.warehouse)
    bootstrap(warehouse)
    kafka = kafka_resource(args.bootstrap, args.topic)

    def load() -> int:
        rows = 0
        messages = _consume_slice(kafka, args.topic, args.slice)
        with warehouse.connection() as conn:
            cursor = conn.cursor()
            for first in range(0, len(messages), REFERENCE_BATCH):
                batch = messages[first : first + REFERENCE_BATCH]
                cursor.executemany(REFERENCE_INSERT, [_parameters(args.topic, m) for m in batch])
                rows += len(batch)
        return rows

    rows, clock = clocked(load)
    return {
        **clock,
        "messages": rows,
        "rows": rows,
        "raw_rows": _raw_rows(warehouse, args.topic),
    }


def _parameters(topic: str, message) -> tuple:
    headers = dict(message.headers())
    return (
        message.value().decode("utf-8"),
        headers["source_file"].decode("utf-8"),
        int(headers["line_number"]),
        topic,
        message.partition(),
        message.offset(),
    )


def _consume_slice(kafka, topic: str, count: int) -> list:
    """The first `count` messages the topic hands out, from the start of every partition."""
    consumer, total = _assigned_consumer(kafka, topic)
    try:
        return _consume(consumer, topic, min(count, total), keep=True)
    finally:
        consumer.close()


def _child_floor(args: argparse.Namespace) -> dict:
    # Imported and built before the clock starts, as in the other children: importing the
    # loader (and Dagster with it) alone takes seconds.
    import clickstream_assets.warehouse.pageviews  # noqa: F401

    kafka = kafka_resource(args.bootstrap, args.topic)

    def consume_all() -> int:
        consumer, total = _assigned_consumer(kafka, args.topic)
        try:
            return _consume(consumer, args.topic, total, keep=False)
        finally:
            consumer.close()

    messages, clock = clocked(consume_all)
    return {**clock, "messages": messages, "rows": 0}


def _assigned_consumer(kafka, topic: str):
    """A consumer with the product's tuning, assigned to every partition from its oldest
    message; and how many messages the topic holds."""
    from confluent_kafka import TopicPartition

    from clickstream_assets.warehouse.pageviews import CONSUMER_GROUP, CONSUMER_TUNING

    ends = kafka.end_offsets(topic)
    consumer = kafka.consumer(f"{CONSUMER_GROUP}-benchmark", **CONSUMER_TUNING)
    starts = {
        partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), 30)[0]
        for partition in ends
    }
    consumer.assign([TopicPartition(topic, p, starts[p]) for p in sorted(ends)])
    return consumer, sum(end - starts[p] for p, end in ends.items())


def _consume(consumer, topic: str, total: int, *, keep: bool) -> list | int:
    """`total` messages in the product's chunks; kept in a list, or only counted."""
    from confluent_kafka import KafkaException

    from clickstream_assets.warehouse.pageviews import CONSUME_CHUNK, CONSUME_WAIT_S

    kept: list = []
    consumed = 0
    last_progress = time.monotonic()
    while consumed < total:
        want = min(CONSUME_CHUNK, total - consumed)
        messages = consumer.consume(num_messages=want, timeout=CONSUME_WAIT_S)
        if not messages:
            if time.monotonic() - last_progress > STALL_TIMEOUT_S:
                raise RuntimeError(
                    f"topic {topic} gave no messages for {STALL_TIMEOUT_S:.0f} s after "
                    f"{consumed:,} of {total:,}"
                )
            continue
        last_progress = time.monotonic()
        for message in messages:
            if message.error() is not None:
                raise KafkaException(message.error())
        consumed += len(messages)
        if keep:
            kept += messages
    return kept if keep else consumed


CHILDREN: dict[str, Callable[[argparse.Namespace], dict]] = {
    "publish": _child_publish,
    "product": _child_product,
    "rerun": _child_product,
    "reference": _child_reference,
    "floor": _child_floor,
}


# The parent: prepare the hour, start the broker, publish, run every variant, verify, tabulate.


def _command(child: str, broker, topic: str, *options: str) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.raw_pageviews", "--child", child]
    return [*command, "--bootstrap", broker.bootstrap, "--topic", topic, *options]


def publish(source: Path, broker) -> tuple[str, Measurement]:
    """The hour published once, with the product's publisher, to a topic of its own."""
    topic = create_topic(broker.bootstrap, "bench-raw-pageviews")
    run = run_beside_broker(_command("publish", broker, topic, "--source", str(source)), broker)
    log.info(
        f"published {run.payload['messages']:,} messages to {topic} in {run.seconds:.1f} s "
        f"({run.payload['messages'] / run.seconds:,.0f} msg/s)"
    )
    return topic, run


def run_all(
    broker, topic: str, scratch: Path, repeat: int, reference_slice: int
) -> dict[str, list[Measurement]]:
    """Every variant `repeat` times, round-robin; each re-run right after its product run."""
    runs: dict[str, list[Measurement]] = {variant.name: [] for variant in VARIANTS}
    for round_number in range(1, repeat + 1):
        for variant in VARIANTS:
            if variant.name in ("product", "reference"):
                warehouse = Path(tempfile.mkdtemp(prefix=f"warehouse-{variant.name}-", dir=scratch))
            options = ["--warehouse", str(warehouse), "--slice", str(reference_slice)]
            run = run_beside_broker(_command(variant.name, broker, topic, *options), broker)
            runs[variant.name].append(run)
            if variant.name in ("rerun", "reference"):
                shutil.rmtree(warehouse)
            log.info(
                f"round {round_number}/{repeat} {variant.name}: {run.payload['messages']:,} "
                f"messages, {run.payload['rows']:,} rows in {run.seconds:.2f} s, peak RSS "
                f"{run.peak_rss_mb:,.0f} MB, CPU {run.payload['cpu_s']:.1f} s, broker CPU "
                f"{run.payload['broker_cpu_s']:.1f} s, other processes {run.others_cores:.1f} cores"
            )
    return runs


def verify(runs: dict[str, list[Measurement]], messages: int, reference_slice: int) -> None:
    """Each run accounted for exactly the messages it was given."""
    slice_ = min(reference_slice, messages)
    expected = {
        # variant: (messages, rows loaded by this run, rows in RAW afterwards)
        "product": (messages, messages, messages),
        "rerun": (0, 0, messages),
        "reference": (slice_, slice_, slice_),
        "floor": (messages, 0, None),
    }
    problems = []
    for name, (want_messages, want_rows, want_raw) in expected.items():
        for run in runs[name]:
            payload = run.payload
            got = (payload["messages"], payload["rows"], payload.get("raw_rows"))
            if got != (want_messages, want_rows, want_raw):
                problems.append(
                    f"{name}: (messages, rows loaded, rows in RAW) = {got}, expected "
                    f"{(want_messages, want_rows, want_raw)}"
                )
            if payload.get("duplicates") or payload.get("rejects"):
                problems.append(
                    f"{name}: {payload['duplicates']:,} duplicates, {payload['rejects']:,} rejects"
                )
    if problems:
        raise SystemExit("verification failed:\n  " + "\n  ".join(problems))
    log.info(f"verified: RAW holds {messages:,} rows after each load, and the re-runs added none")


def render(
    runs: dict[str, list[Measurement]],
    messages: int,
    repeat: int,
    reference_slice: int,
    published: Measurement,
) -> str:
    """The README section: machine, goals and whether they are met, the table, how to read it."""
    results = {name: best(measured) for name, measured in runs.items()}
    # The slowest run beside the best shows how much the shared machine moved the numbers.
    slowest = {name: max(run.seconds for run in measured) for name, measured in runs.items()}
    product, reference, floor = (results[name] for name in ("product", "reference", "floor"))

    def rate(result: Measurement) -> float:
        return result.payload["messages"] / result.seconds

    speedup = rate(product) / rate(reference)
    times_floor = product.seconds / floor.seconds
    goals = [
        (
            f"at least {GOAL_SPEEDUP_VS_REFERENCE:.0f}x the reference way's rows/s",
            speedup >= GOAL_SPEEDUP_VS_REFERENCE,
            f"{speedup:,.0f}x",
        ),
        (
            f"within {GOAL_TIMES_FLOOR}x of the floor's time",
            times_floor <= GOAL_TIMES_FLOOR,
            f"{times_floor:.2f}x",
        ),
    ]

    rows = []
    for variant in VARIANTS:
        result = results[variant.name]
        moved = result.payload["messages"]
        rows.append(
            [
                variant.label,
                f"{moved:,}",
                f"{result.payload['rows']:,}",
                f"{result.seconds:.2f}",
                f"{slowest[variant.name]:.2f}",
                f"{rate(result):,.0f}" if moved else "—",
                f"{result.peak_rss_mb:,.0f}",
                f"{rate(result) / rate(reference):,.0f}x" if moved else "—",
                # The reference way's time is for its slice, not for the whole topic.
                "—" if variant.name == "reference" else f"{result.seconds / floor.seconds:.2f}x",
                f"{result.payload['cpu_s']:.1f}",
                f"{result.payload['broker_cpu_s']:.1f}",
                f"{result.others_cores:.1f}",
            ]
        )
    headers = [
        "variant",
        "messages",
        "rows loaded",
        "seconds",
        "slowest run s",
        "msg/s",
        "peak RSS MB",
        "vs reference (msg/s)",
        "time vs floor",
        "CPU s",
        "broker CPU s",
        "other load (cores)",
    ]

    return "\n".join(
        [
            f"{machine_note()} Topic: {messages:,} messages of a generated hour, published "
            f"once by `publish_hour` in {published.seconds:.1f} s to the project's Apache "
            "Kafka broker on the same machine (3 partitions; "
            f"`.venv/bin/python -m benchmarks.raw_pageviews --lines {messages}`); each load "
            "into a fresh embedded (fakesnow) warehouse.",
            "",
            f"Goals for the product path: {goal_sentence(goals)}. In CPU time, which other "
            "load stretches less than wall time, the product used "
            f"{product.payload['cpu_s'] / floor.payload['cpu_s']:.1f}x the floor's.",
            "",
            markdown_table(headers, rows),
            "",
            f"Best of {repeat} runs each, round-robin; peak RSS is the highest of the runs "
            "(`VmHWM` of each variant's own child process). Seconds exclude interpreter "
            "start-up, imports and the warehouse's bootstrap, and include reading the end "
            "offsets, consuming and (but for the floor) loading and committing. The reference "
            f"way loads the first {min(reference_slice, messages):,} messages only, in "
            f"`executemany` batches of {REFERENCE_BATCH:,}; it is compared by msg/s. The "
            "re-run goes over the warehouse its product run left and must load nothing. "
            "Each run's rows in ANALYTICS.RAW.PAGEVIEWS were counted afterwards: exactly "
            "the messages it loaded, no duplicates, no rejects. *CPU s* is the CPU time of the "
            "timed work, all threads of the child (librdkafka's and DuckDB's too); *broker CPU "
            "s* is the broker JVM's over the whole child's run (not counted in "
            "*other load*, which is what other processes kept busy on this shared machine).",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    from clickstream_assets import settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.raw_pageviews")
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="messages to load")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated hour")
    parser.add_argument(
        "--slice", type=int, default=REFERENCE_SLICE, help="messages of the reference way"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant (best kept)")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        report(CHILDREN[args.child](args))
        return

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    directory = settings.data_dir() / "benchmarks"
    source = ensure_hour(args.lines, args.seed, directory)
    with (
        tempfile.TemporaryDirectory(prefix="raw-pageviews-", dir=directory) as scratch,
        local_broker(directory) as broker,
    ):
        topic, published = publish(source, broker)
        held = topic_messages(broker.bootstrap, topic)
        if held != args.lines:
            raise SystemExit(f"topic {topic} holds {held:,} messages, not {args.lines:,}")
        runs = run_all(broker, topic, Path(scratch), args.repeat, args.slice)
    verify(runs, args.lines, args.slice)
    section = render(runs, args.lines, args.repeat, args.slice, published)

    print(section)
    if not args.no_readme:
        write_readme_section(NAME, section)
        log.info("wrote the table into README.md's performance section")


if __name__ == "__main__":
    main()
