"""An hour of pageviews into Kafka: the product's publisher against the reference way and the floor.

    .venv/bin/python -m benchmarks.pageview_topic                 # a full-size hour, 5M lines
    .venv/bin/python -m benchmarks.pageview_topic --lines 500000 --repeat 1 --no-readme

On one generated hour (5M lines by default, about a real hour's size; written once under the
data dir's `benchmarks/` folder by `clickstream generate pageviews` and reused), published to
the project's own Apache Kafka broker, which this benchmark starts on free ports in a scratch
folder and stops at the end whatever happens:

- `publish_dump`, the product path (`pageview_topic` asset): this process parses, two
  producer processes encode and produce, each with the producer settings that
  `KafkaResource.producer_settings()` gives;
- `publish_hour`, the same publisher with one producer in the process;
- the reference way: the file read line by line, each line split, turned into its value with
  `json.dumps` and handed to `produce` with the same key and headers, in a Python loop;
- the floor: the same producer sending values, keys and headers built before the clock
  starts, so only `produce` itself and the broker's acknowledgements are timed.

Every run of a publishing variant gets a fresh topic (3 partitions), so offsets and log sizes
are comparable, and must leave exactly one message per line in it, and the same total value
bytes as every other variant; the run fails otherwise. The topic is deleted after it is
measured. A second table times `profile_pageviews` (the `pageview_profile` asset) against
pandas `read_csv` of the same file.

`raw_pageviews` (the RAW load benchmark) reuses the hour, broker and measurement helpers of
this module.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import logging
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import (
    Measurement,
    best,
    machine_note,
    markdown_table,
    report,
    run_child,
    timed,
    write_readme_section,
)

log = logging.getLogger("benchmarks.pageview_topic")

NAME = "pageview_topic"
HOUR = datetime(2024, 10, 1, 13, tzinfo=UTC)
FULL_LINES = 5_000_000
PARTITIONS = 3
COLUMNS = ["domain_code", "page_title", "count_views", "total_response_size"]
# The product's poll cadence, kept in the baselines so that only the way values are built
# differs between them.
POLL_EVERY = 10_000
# The goals the product path is held to (see the README section this writes).
GOAL_SPEEDUP_VS_REFERENCE = 3.0
GOAL_SHARE_OF_FLOOR = 0.6
# The producer's queue holds at most 500,000 messages (PRODUCER_TUNING), so the publisher's
# memory must not grow with the hour; 1 GB leaves room for that queue and Arrow's blocks.
GOAL_PEAK_RSS_MB = 1024


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    # publish: sends the hour to a fresh topic; profile: reads the file only.
    kind: str


VARIANTS = (
    Variant("product", "**`publish_dump`** (product: 2 producer processes)", "publish"),
    Variant("one_producer", "`publish_hour` (the product with one producer)", "publish"),
    Variant("reference", "reference: `json.dumps` + `produce` per line", "publish"),
    Variant("floor", "floor: `produce` of values built beforehand", "publish"),
    Variant("profile", "**`profile_pageviews`** (product)", "profile"),
    Variant("pandas_read", "pandas `read_csv` alone", "profile"),
    Variant("pandas_profile", "pandas `read_csv` + the same figures", "profile"),
)


# Helpers shared with benchmarks.raw_pageviews: the generated hour and the local broker.


def hour_path(lines: int, seed: int, directory: Path, hour: datetime = HOUR) -> Path:
    # The file keeps the real naming, since its name travels in every message's headers.
    return directory / f"pageviews-lines{lines}-seed{seed}" / f"pageviews-{hour:%Y%m%d-%H}0000.gz"


def ensure_hour(lines: int, seed: int, directory: Path, hour: datetime = HOUR) -> Path:
    """The generated `hour` of `lines` lines for `seed`, written once and reused afterwards.

    `clickstream generate pageviews` is deterministic and writes atomically, so a file with
    this name is complete and holds exactly these lines. It runs as a child process, which
    keeps this one lean.
    """
    path = hour_path(lines, seed, directory, hour)
    if path.exists():
        log.info(f"reusing {path} ({path.stat().st_size / 2**20:,.0f} MB)")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info(f"generating {lines:,} pageview lines into {path} (once; later runs reuse it)")
    command = [sys.executable, "-m", "clickstream_assets.cli", "generate", "pageviews"]
    command += ["--hour", f"{hour:%Y-%m-%dT%H}", "--lines", str(lines), "--seed", str(seed)]
    generated = run_child([*command, "--out", str(path)])
    log.info(f"generated {lines:,} lines in {generated.seconds:.0f} s")
    return path


@contextlib.contextmanager
def local_broker(directory: Path) -> Iterator:
    """The project's Kafka broker on free loopback ports, storage in a scratch folder.

    The broker is stopped (SIGTERM, clean shutdown) and its folder removed on the way out,
    whatever happened inside.
    """
    from clickstream_assets.local.jvm import KAFKA_BROKER, ensure_jvm_artifacts
    from clickstream_assets.local.kafka_broker import KafkaBroker, free_port

    ensure_jvm_artifacts(KAFKA_BROKER)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kafka-", dir=directory) as scratch:
        broker = KafkaBroker(Path(scratch), port=free_port(), partitions=PARTITIONS)
        broker.start()
        try:
            warm_up(broker.bootstrap)
            yield broker
        finally:
            broker.stop()


def warm_up(bootstrap: str) -> None:
    """One idempotent message through a fresh broker before anything is timed.

    A new broker answers the first idempotent producer with "coordinator load in progress"
    while it creates its internal topics; the first measured run would pay for that wait.
    """
    topic = create_topic(bootstrap, "bench-warm-up")
    producer = kafka_resource(bootstrap, topic).producer()
    producer.produce(topic, b"{}", b"warm-up")
    _flush(producer)
    delete_topic(bootstrap, topic)


def kafka_resource(bootstrap: str, topic: str):
    from clickstream_assets.resources.kafka import KafkaResource

    return KafkaResource(bootstrap_servers=bootstrap, topic=topic, partitions=PARTITIONS)


def create_topic(bootstrap: str, prefix: str) -> str:
    """A new topic of PARTITIONS partitions with a unique name."""
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kafka_resource(bootstrap, topic).ensure_topic()
    return topic


def delete_topic(bootstrap: str, topic: str) -> None:
    admin = kafka_resource(bootstrap, topic).admin()
    admin.delete_topics([topic])[topic].result(30)


def topic_messages(bootstrap: str, topic: str) -> int:
    """Messages the topic holds: the sum over partitions of end minus start offset."""
    from confluent_kafka import TopicPartition

    kafka = kafka_resource(bootstrap, topic)
    ends = kafka.end_offsets(topic)
    consumer = kafka.consumer(f"benchmark-{uuid.uuid4().hex[:8]}")
    try:
        starts = {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), 30)[0]
            for partition in ends
        }
    finally:
        consumer.close()
    return sum(end - starts[partition] for partition, end in ends.items())


def topic_log_bytes(broker, topic: str) -> int:
    """Bytes of the topic's log segments on the broker's disk (indexes are preallocated)."""
    folders = broker.storage_dir.glob(f"{topic}-*")
    return sum(segment.stat().st_size for folder in folders for segment in folder.glob("*.log"))


def broker_cpu_seconds(broker) -> float:
    times = psutil.Process(broker.pid()).cpu_times()
    return times.user + times.system


def run_beside_broker(command: Sequence[str], broker) -> Measurement:
    """`run_child`, with the broker's CPU time reported apart from the other load.

    The broker is another process, so `run_child` would count the work it does for the
    child (decompressing and appending batches, serving fetches) as other load; here it is
    `broker_cpu_s` in the payload, and other load is what remains.
    """
    cpu_before = broker_cpu_seconds(broker)
    started = time.perf_counter()
    run = run_child(command)
    wall = time.perf_counter() - started
    broker_cpu = broker_cpu_seconds(broker) - cpu_before
    run.others_cores = max(0.0, run.others_cores - broker_cpu / wall)
    run.payload["broker_cpu_s"] = broker_cpu
    return run


def clocked(work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run `work`; its result, and its wall `seconds` and `cpu_s` for a child's payload.

    `cpu_s` is this process's CPU time over the work, all threads (librdkafka's included),
    and that of the processes the work started and waited for, so it leaves out imports and
    set-up, and it shows what the work cost even when other
    processes on a shared machine stretched its wall time.
    """
    cpu_before = _cpu_with_children()
    result, seconds = timed(work)
    return result, {"seconds": seconds, "cpu_s": _cpu_with_children() - cpu_before}


def _cpu_with_children() -> float:
    # Child processes the work started and reaped (the product's producer processes) count.
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def goal_sentence(goals: Sequence[tuple[str, bool, str]]) -> str:
    return "; ".join(
        f"{what}: **{'met' if ok else 'missed'}** ({value})" for what, ok, value in goals
    )


# Work done in the child processes. Each returns a payload with its own `seconds`, which
# leaves interpreter start-up, imports and the producer's creation out of the comparison.


def _child_product(source: Path, bootstrap: str, topic: str) -> dict:
    from clickstream_assets.pageviews.parsing import ParseStats
    from clickstream_assets.pageviews.publish import publish_dump

    kafka = kafka_resource(bootstrap, topic)
    stats = ParseStats()
    (result, processes), clock = clocked(lambda: publish_dump(kafka, source, HOUR, stats=stats))
    return {
        **clock,
        **_publish_payload(result, stats),
        "processes": processes,
        # The largest producer process's peak, once for each: an upper bound of their sum.
        "children_peak_rss_bytes": processes * _largest_child_peak_rss_bytes(),
    }


def _child_one_producer(source: Path, bootstrap: str, topic: str) -> dict:
    from clickstream_assets.pageviews.parsing import ParseStats
    from clickstream_assets.pageviews.publish import publish_hour

    producer = kafka_resource(bootstrap, topic).producer()
    stats = ParseStats()
    result, clock = clocked(lambda: publish_hour(producer, topic, source, HOUR, stats=stats))
    return {**clock, **_publish_payload(result, stats), "processes": 1}


def _publish_payload(result, stats) -> dict:
    return {
        "messages": result.messages,
        "value_bytes": result.value_bytes,
        "records": stats.records,
        "rejected": stats.rejected,
    }


def _largest_child_peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in kibibytes.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def _child_reference(source: Path, bootstrap: str, topic: str) -> dict:
    import gzip
    import json

    from clickstream_assets.pageviews.publish import hour_text

    producer = kafka_resource(bootstrap, topic).producer()
    source_file = source.name.encode()
    stamp = hour_text(HOUR)
    stamp_bytes = stamp.encode()

    def publish() -> tuple[int, int]:
        messages = value_bytes = 0
        with gzip.open(source, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                project, title, views, size = line.rstrip("\n").split(" ")
                value = json.dumps(
                    {
                        "project": project,
                        "page_title": title,
                        "views": int(views),
                        "bytes": int(size),
                        "hour": stamp,
                    },
                    separators=(",", ":"),
                    ensure_ascii=False,
                ).encode("utf-8")
                headers = [
                    ("source_file", source_file),
                    ("line_number", str(number).encode()),
                    ("hour", stamp_bytes),
                ]
                _produce(producer, topic, value, project.encode(), headers)
                messages += 1
                value_bytes += len(value)
                if messages % POLL_EVERY == 0:
                    producer.poll(0)
        _flush(producer)
        return messages, value_bytes

    (messages, value_bytes), clock = clocked(publish)
    return {**clock, "messages": messages, "value_bytes": value_bytes}


def _child_floor(source: Path, bootstrap: str, topic: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc

    from clickstream_assets.pageviews.parsing import iter_pageview_batches
    from clickstream_assets.pageviews.publish import encode_values, hour_text

    producer = kafka_resource(bootstrap, topic).producer()
    source_file = source.name.encode()
    stamp = hour_text(HOUR)
    stamp_bytes = stamp.encode()
    # The product's own values, keys and headers, all of them in memory before timing starts.
    payloads = []
    for batch in iter_pageview_batches(source):
        values = encode_values(batch, stamp)
        keys = pc.cast(batch.column("domain_code"), pa.binary()).to_pylist()
        lines = batch.column("line_number").to_pylist()
        for key, value, line in zip(keys, values, lines, strict=True):
            headers = [
                ("source_file", source_file),
                ("line_number", b"%d" % line),
                ("hour", stamp_bytes),
            ]
            payloads.append((value, key, headers))
    value_bytes = sum(len(value) for value, _, _ in payloads)

    def publish() -> int:
        messages = 0
        for value, key, headers in payloads:
            _produce(producer, topic, value, key, headers, positional=True)
            messages += 1
            if messages % POLL_EVERY == 0:
                producer.poll(0)
        _flush(producer)
        return messages

    messages, clock = clocked(publish)
    return {**clock, "messages": messages, "value_bytes": value_bytes}


def _produce(
    producer, topic: str, value: bytes, key: bytes, headers: list, positional: bool = False
) -> None:
    while True:
        try:
            if positional:
                # The product's call: no keywords for the C extension to look up, no callback.
                producer.produce(topic, value, key, -1, None, None, 0, headers)
            else:
                producer.produce(topic, value, key, headers=headers)
            return
        except BufferError:
            # The local queue is full, as in the product: let the broker acknowledge some.
            producer.poll(0.05)


def _flush(producer) -> None:
    remaining = producer.flush(120)
    if remaining:
        raise RuntimeError(f"{remaining:,} messages still unacknowledged after 120 s")


def _child_profile(source: Path, bootstrap: str, topic: str) -> dict:
    from clickstream_assets.pageviews.profile import profile_pageviews

    profile, clock = clocked(lambda: profile_pageviews(source))
    return {
        **clock,
        "records": profile["records"],
        "views": profile["views"],
        "distinct_pages": profile["distinct_pages"],
    }


def _read_pandas(source: Path):
    import pandas as pd

    # QUOTE_NONE: titles hold bare quotes. na_filter=False: titles such as `NaN` and `null`
    # are articles, not missing values.
    return pd.read_csv(
        source,
        sep=" ",
        header=None,
        names=COLUMNS,
        quoting=csv.QUOTE_NONE,
        dtype={
            "domain_code": str,
            "page_title": str,
            "count_views": "int64",
            "total_response_size": "int64",
        },
        na_filter=False,
    )


def _child_pandas_read(source: Path, bootstrap: str, topic: str) -> dict:
    # Imported before the clock starts, like every child's libraries.
    import pandas  # noqa: F401

    frame, clock = clocked(lambda: _read_pandas(source))
    return {**clock, "records": len(frame), "views": int(frame["count_views"].sum())}


def _child_pandas_profile(source: Path, bootstrap: str, topic: str) -> dict:
    # Imported before the clock starts, like every child's libraries.
    import pandas  # noqa: F401

    def profile() -> dict:
        frame = _read_pandas(source)
        views, size = frame["count_views"], frame["total_response_size"]
        sized = size > 0
        pages = frame[["domain_code", "page_title"]].drop_duplicates()
        top_projects = (
            frame.groupby("domain_code")["count_views"].agg(["sum", "size"]).nlargest(10, "sum")
        )
        top_pages = frame.nlargest(10, "count_views")
        return {
            "records": len(frame),
            "views": int(views.sum()),
            "bytes": int(size.sum()),
            "zero_sizes": int((~sized).sum()),
            "sized": (int(views[sized].sum()), int(size[sized].sum())),
            "distinct_projects": frame["domain_code"].nunique(),
            "distinct_pages": len(pages),
            "top": (len(top_projects), len(top_pages)),
        }

    figures, clock = clocked(profile)
    return {
        **clock,
        "records": figures["records"],
        "views": figures["views"],
        "distinct_pages": figures["distinct_pages"],
    }


CHILDREN: dict[str, Callable[[Path, str, str], dict]] = {
    "product": _child_product,
    "one_producer": _child_one_producer,
    "reference": _child_reference,
    "floor": _child_floor,
    "profile": _child_profile,
    "pandas_read": _child_pandas_read,
    "pandas_profile": _child_pandas_profile,
}


# The parent: prepare the hour, start the broker, run every variant, verify, tabulate.


def measure(variant: Variant, source: Path, broker) -> Measurement:
    command = [sys.executable, "-m", "benchmarks.pageview_topic", "--child", variant.name]
    command += ["--source", str(source)]
    if variant.kind == "profile":
        # Beside the idle broker too, so that its housekeeping is not counted as other load.
        return run_beside_broker(command, broker)

    topic = create_topic(broker.bootstrap, f"bench-{variant.name}")
    run = run_beside_broker([*command, "--bootstrap", broker.bootstrap, "--topic", topic], broker)
    run.payload["delivered"] = topic_messages(broker.bootstrap, topic)
    run.payload["log_bytes"] = topic_log_bytes(broker, topic)
    delete_topic(broker.bootstrap, topic)
    return run


def run_all(source: Path, broker, repeat: int) -> dict[str, list[Measurement]]:
    """Every variant `repeat` times, round-robin; the profiles after the publishers."""
    runs: dict[str, list[Measurement]] = {variant.name: [] for variant in VARIANTS}
    for kind in ("publish", "profile"):
        chosen = [variant for variant in VARIANTS if variant.kind == kind]
        for round_number in range(1, repeat + 1):
            for variant in chosen:
                run = measure(variant, source, broker)
                runs[variant.name].append(run)
                payload = run.payload
                rate = payload.get("messages", payload.get("records", 0)) / run.seconds
                log.info(
                    f"round {round_number}/{repeat} {variant.name}: {run.seconds:.2f} s "
                    f"({rate:,.0f}/s), peak RSS {run.peak_rss_mb:,.0f} MB, CPU "
                    f"{payload['cpu_s']:.1f} s, broker CPU {payload['broker_cpu_s']:.1f} s, "
                    f"other processes {run.others_cores:.1f} cores"
                )
    return runs


def verify(runs: dict[str, list[Measurement]], lines: int) -> None:
    """Each publishing run delivered one message per line, all with the same value bytes;
    each profile counted every line."""
    problems = []
    value_bytes = set()
    for variant in VARIANTS:
        for run in runs[variant.name]:
            payload = run.payload
            if variant.kind == "profile":
                if payload["records"] != lines:
                    problems.append(f"{variant.name} counted {payload['records']:,} records")
                continue
            for key in ("messages", "delivered"):
                if payload[key] != lines:
                    problems.append(f"{variant.name}: {key} {payload[key]:,}, not {lines:,}")
            value_bytes.add(payload["value_bytes"])
    if len(value_bytes) != 1:
        problems.append(f"the variants sent different total value bytes: {sorted(value_bytes)}")
    views = {run.payload["views"] for kind in ("profile", "pandas_read") for run in runs[kind]}
    if len(views) != 1:
        problems.append(f"the profiles disagree on the sum of count_views: {sorted(views)}")
    pages = {
        run.payload["distinct_pages"]
        for name in ("profile", "pandas_profile")
        for run in runs[name]
    }
    if len(pages) != 1:
        problems.append(f"the profiles disagree on the distinct pages: {sorted(pages)}")
    if problems:
        raise SystemExit("verification failed:\n  " + "\n  ".join(problems))
    log.info(f"verified: every topic holds {lines:,} messages, {value_bytes.pop():,} value bytes")


def render(runs: dict[str, list[Measurement]], lines: int, repeat: int) -> str:
    """The README section: machine, goals and whether they are met, both tables, how to read."""
    results = {name: best(measured) for name, measured in runs.items()}
    # The slowest run beside the best shows how much the shared machine moved the numbers.
    slowest = {name: max(run.seconds for run in measured) for name, measured in runs.items()}
    product, reference, floor = (results[name] for name in ("product", "reference", "floor"))
    speedup = reference.seconds / product.seconds
    share = floor.seconds / product.seconds
    goals = [
        (
            f"at least {GOAL_SPEEDUP_VS_REFERENCE:.0f}x the reference way's msg/s",
            speedup >= GOAL_SPEEDUP_VS_REFERENCE,
            f"{speedup:.1f}x",
        ),
        (
            f"at least {GOAL_SHARE_OF_FLOOR:.1f}x the floor's msg/s",
            share >= GOAL_SHARE_OF_FLOOR,
            f"{share:.2f}x",
        ),
        (
            f"peak memory under {GOAL_PEAK_RSS_MB:,} MB",
            product.peak_rss_mb < GOAL_PEAK_RSS_MB,
            f"{product.peak_rss_mb:,.0f} MB",
        ),
    ]

    publish_rows = []
    for variant in (v for v in VARIANTS if v.kind == "publish"):
        result = results[variant.name]
        publish_rows.append(
            [
                variant.label,
                f"{result.seconds:.2f}",
                f"{slowest[variant.name]:.2f}",
                f"{lines / result.seconds:,.0f}",
                f"{result.peak_rss_mb:,.0f}",
                f"{reference.seconds / result.seconds:.1f}x",
                f"{floor.seconds / result.seconds:.2f}x",
                f"{result.payload['log_bytes'] / 2**20:,.0f}",
                f"{result.payload['cpu_s']:.1f}",
                f"{result.payload['broker_cpu_s']:.1f}",
                f"{result.others_cores:.1f}",
            ]
        )
    publish_headers = [
        "variant",
        "seconds",
        "slowest run s",
        "msg/s",
        "peak RSS MB",
        "speed-up vs reference",
        "share of floor",
        "topic log MB",
        "CPU s",
        "broker CPU s",
        "other load (cores)",
    ]

    pandas_s = results["pandas_profile"].seconds
    profile_rows = []
    for variant in (v for v in VARIANTS if v.kind == "profile"):
        result = results[variant.name]
        profile_rows.append(
            [
                variant.label,
                f"{result.seconds:.2f}",
                f"{slowest[variant.name]:.2f}",
                f"{lines / result.seconds:,.0f}",
                f"{result.peak_rss_mb:,.0f}",
                f"{pandas_s / result.seconds:.1f}x",
                f"{result.payload['cpu_s']:.1f}",
                f"{result.others_cores:.1f}",
            ]
        )
    profile_headers = [
        "variant",
        "seconds per hour",
        "slowest run s",
        "lines/s",
        "peak RSS MB",
        "speed-up vs pandas + figures",
        "CPU s",
        "other load (cores)",
    ]

    value_mb = product.payload["value_bytes"] / 2**20
    cpu = {name: results[name].payload["cpu_s"] for name in ("product", "reference", "floor")}
    cpu_sentence = (
        "In CPU time, which other load stretches less than wall time, the product used "
        f"{cpu['reference'] / cpu['product']:.1f}x less than the reference way and "
        f"{cpu['product'] / cpu['floor']:.1f}x the floor's."
    )
    # What the speed-up goal asks of this machine: the floor only produces (no parsing, no
    # encoding), so its CPU time with the broker's is the least any publisher must spend.
    cores = os.cpu_count() or 1
    budget = reference.seconds / GOAL_SPEEDUP_VS_REFERENCE * cores
    least = cpu["floor"] + floor.payload["broker_cpu_s"]
    if least > budget:
        cpu_sentence += (
            f" The {GOAL_SPEEDUP_VS_REFERENCE:.0f}x goal is out of reach on this machine: "
            f"{GOAL_SPEEDUP_VS_REFERENCE:.0f}x the reference way leaves "
            f"{reference.seconds / GOAL_SPEEDUP_VS_REFERENCE:.1f} s on {cores} cores, "
            f"{budget:.1f} core-seconds shared with the broker, while producing alone (the "
            f"floor, with the broker's share) already took {least:.1f}."
        )
    return "\n".join(
        [
            f"{machine_note()} Hour: {lines:,} generated lines "
            f"(`.venv/bin/python -m benchmarks.pageview_topic --lines {lines}`), published to "
            f"the project's Apache Kafka broker on the same machine, a fresh topic of "
            f"{PARTITIONS} partitions per run.",
            "",
            f"Goals for the product path: {goal_sentence(goals)}. {cpu_sentence}",
            "",
            markdown_table(publish_headers, publish_rows),
            "",
            markdown_table(profile_headers, profile_rows),
            "",
            f"Best of {repeat} runs each, round-robin; peak RSS is the highest of the runs "
            "(`VmHWM` of each variant's own child process). Seconds exclude interpreter "
            "start-up, imports and the producer's creation, and include the final `flush` "
            "(every message acknowledged by the broker, `acks=all`, idempotent, zstd). The "
            "product parses the hour in its own process and deals the batches to two "
            "producer processes, which it starts inside the timed work; its peak RSS adds "
            "the largest producer process's peak once per process. The floor is one "
            "producer's loop: it builds the product's values, keys and headers before its "
            "clock starts (its peak RSS holds all of them) and calls `produce` with positional "
            "arguments like the product. The producers report failed deliveries only "
            "(`delivery.report.only.error`); the product registers a callback that counts "
            "them, the reference and the floor register none: a failed delivery shows in "
            "their `flush` and in the offset check. "
            f"Every run delivered {lines:,} messages, "
            f"checked against the topic's offsets, and {value_mb:,.0f} MB of JSON values, "
            "the same bytes for all variants. *CPU s* is the CPU time of the timed work, all "
            "threads of the child and of the processes it started (librdkafka's too); "
            "*broker CPU s* is the broker JVM's over "
            "the whole child's run (not counted in *other load*, which "
            "is what other processes kept busy on this shared machine).",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    from clickstream_assets import settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.pageview_topic")
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="lines of the hour")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated hour")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant (best kept)")
    parser.add_argument("--no-readme", action="store_true", help="print the tables only")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        report(CHILDREN[args.child](args.source, args.bootstrap, args.topic))
        return

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    directory = settings.data_dir() / "benchmarks"
    source = ensure_hour(args.lines, args.seed, directory)
    with local_broker(directory) as broker:
        runs = run_all(source, broker, args.repeat)
    verify(runs, args.lines)
    section = render(runs, args.lines, args.repeat)

    print(section)
    if not args.no_readme:
        write_readme_section(NAME, section)
        log.info("wrote the tables into README.md's performance section")


if __name__ == "__main__":
    main()
