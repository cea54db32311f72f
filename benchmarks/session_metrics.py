"""Sessionizing pageviews from Kafka: the streaming sessionizer against Spark batch floors.

    .venv/bin/python -m benchmarks.session_metrics                  # 1 to 3 full-size hours
    .venv/bin/python -m benchmarks.session_metrics --lines 500000 --no-readme

Generated pageview hours (5M lines each by default, about a real hour; written once under the
data dir's `benchmarks/` folder by `clickstream generate pageviews` and reused) are published
with the product's publisher to the project's own Apache Kafka broker, which this benchmark
starts on free ports in a scratch folder and stops at the end whatever happens. For each size
of 1 to `--hours` hours there is a fresh topic holding hours 1..size, and on it:

- `run_stream`, the product path (`session_metrics` asset): one `availableNow` run of Spark's
  `kafka` source, `parse_events`, `sessionize` with the watermark, and the MERGE of closed
  sessions into SESSION_METRICS of a fresh embedded warehouse, from a fresh checkpoint;
- the floor: the same JSON values, read back from the topic once with a Spark batch query and
  written to parquet, then a batch `parse_events` + `sessionize` + collect over that parquet;
- beside it, the same batch `sessionize` over parquet whose columns are already typed
  (`project, event_time, events, views, bytes`), which shows what JSON parsing costs.

Each run is a child process of its own with its own Spark driver JVM. Seconds are timed
inside the child around the work, after the SparkSession has started; the start is reported
apart. The run fails unless every streaming run read every event and wrote exactly the batch
floor's sessions minus those still open (those the watermark has not passed yet), and both
floors produced the same sessions. The tables go to stdout and, unless `--no-readme`, into
README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from benchmarks import pageview_topic
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
from benchmarks.pageview_topic import local_broker, run_beside_broker

log = logging.getLogger("benchmarks.session_metrics")

NAME = "session_metrics"
FIRST_HOUR = datetime(2024, 10, 1, 13, tzinfo=UTC)
FULL_LINES = 5_000_000
HOURS = 3
PARTITIONS = 3
# The session_metrics asset's defaults.
GAP = "10 minutes"
WATERMARK = timedelta(minutes=15)
WATERMARK_TEXT = "15 minutes"
# The goal the product path is held to (see the README section this writes).
GOAL_SHARE_OF_JSON_FLOOR = 1.5
TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"
# Read back to compare with the floors; ordered as `to_session_rows` orders the floors' rows.
SESSIONS_QUERY = """
SELECT PROJECT, SESSION_START, SESSION_END, EVENTS, TOTAL_VIEWS, TOTAL_BYTES
FROM ANALYTICS.MODELLED.SESSION_METRICS
ORDER BY PROJECT, SESSION_START
"""


@dataclass(frozen=True)
class Variant:
    name: str
    label: str


VARIANTS = (
    Variant("stream", "**`run_stream`** from Kafka, MERGE into SESSION_METRICS (product)"),
    Variant("json_floor", "floor: batch `parse_events` + `sessionize` of JSON values in parquet"),
    Variant("typed_floor", "batch `sessionize` of typed columns in parquet"),
)


def hour_of(index: int) -> datetime:
    return FIRST_HOUR + timedelta(hours=index)


def hour_path(lines: int, seed: int, index: int, directory: Path) -> Path:
    # The hour 13:00 file is the one benchmarks.pageview_topic generates, so the two share it.
    return pageview_topic.hour_path(lines, seed, directory, hour_of(index))


def work_dir(lines: int, seed: int, directory: Path) -> Path:
    """Parquet, checkpoints, warehouses and session lists of one run; the next run overwrites."""
    return directory / f"sessions-lines{lines}-seed{seed}"


def sessions_file(work: Path, variant: str, size: int) -> Path:
    return work / f"sessions-{variant}-{size}h.json"


# Work done in the child processes. Each returns a payload with its own `seconds`, which
# leaves interpreter start-up, imports and the SparkSession's start out of the comparison.


@contextlib.contextmanager
def spark_session(app: str) -> Iterator[tuple[Any, float]]:
    """A SparkSession as the product configures it, and the seconds its start took.

    On the way out the driver JVM is stopped and waited for: it exits once its stdin closes,
    and reaping it here makes it a finished descendant of this process, so the parent's
    `wait4` counts its CPU time instead of taking it for other load.
    """
    from pyspark.sql import SparkSession

    from clickstream_assets.resources.spark import LOOPBACK, spark_config

    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    config = spark_config(app_name=f"benchmark-{app}", ui=False)
    spark, start_s = timed(lambda: SparkSession.builder.config(map=config).getOrCreate())
    jvm = spark.sparkContext._gateway.proc
    try:
        yield spark, start_s
    finally:
        spark.stop()
        jvm.stdin.close()
        jvm.wait(timeout=120)


def clocked(spark, work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run `work`; its result, its wall seconds, the CPU time of the driver (JVM and Python)
    over it, and the JVM's peak RSS so far (Python's own is added by `report`)."""
    jvm = psutil.Process(spark.sparkContext._gateway.proc.pid)
    cpu_before = _cpu_seconds(jvm) + time.process_time()
    result, seconds = timed(work)
    cpu = _cpu_seconds(jvm) + time.process_time() - cpu_before
    return result, {"seconds": seconds, "cpu_s": cpu, "jvm_peak_rss_bytes": _peak_rss(jvm.pid)}


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")
    return int(match.group(1)) * 1024


def _child_publish(args: argparse.Namespace) -> dict:
    from clickstream_assets.pageviews.publish import publish_hour
    from clickstream_assets.resources.kafka import KafkaResource

    kafka = KafkaResource(bootstrap_servers=args.bootstrap, topic=args.topic, partitions=PARTITIONS)
    kafka.ensure_topic(args.topic)
    producer = kafka.producer()

    def publish() -> int:
        messages = 0
        for index in range(args.size):
            path = hour_path(args.lines, args.seed, index, args.directory)
            messages += publish_hour(producer, args.topic, path, hour_of(index)).messages
        return messages

    messages, seconds = timed(publish)
    return {"seconds": seconds, "messages": messages}


def _child_export(args: argparse.Namespace) -> dict:
    """The topic's values, read once by a Spark batch query, as the floors' two parquet inputs."""
    from pyspark.sql import functions as F

    from clickstream_assets.resources.kafka import KafkaResource
    from clickstream_assets.sessions.sessionize import kafka_source_options, parse_events

    kafka = KafkaResource(bootstrap_servers=args.bootstrap, topic=args.topic, partitions=PARTITIONS)
    values_path = args.work / f"json-{args.size}h.parquet"
    typed_path = args.work / f"typed-{args.size}h.parquet"

    with spark_session("export") as (spark, _):

        def export() -> tuple[int, int]:
            messages = (
                spark.read.format("kafka")
                .options(**kafka_source_options(kafka))
                .option("subscribe", args.topic)
                .option("startingOffsets", "earliest")
                .option("endingOffsets", "latest")
                .load()
            )
            _write_parquet(
                messages.select(F.col("value").cast("string").alias("value")), values_path
            )
            events = parse_events(spark.read.parquet(str(values_path)))
            _write_parquet(events.where(F.col("valid")).drop("valid"), typed_path)
            return (
                spark.read.parquet(str(values_path)).count(),
                spark.read.parquet(str(typed_path)).count(),
            )

        (values, typed), clock = clocked(spark, export)
    return {**clock, "values": values, "typed": typed}


def _write_parquet(frame, path: Path) -> None:
    # Spark writes a folder of parts; renamed into place once complete.
    partial = path.with_name(f"{path.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    frame.write.parquet(str(partial))
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)


def _child_stream(args: argparse.Namespace) -> dict:
    from clickstream_assets.resources.kafka import KafkaResource
    from clickstream_assets.resources.warehouse import WarehouseResource, embedded_snowflake
    from clickstream_assets.sessions import runner
    from clickstream_assets.warehouse.runner import bootstrap

    place = args.work / f"stream-{args.size}h"
    shutil.rmtree(place, ignore_errors=True)
    warehouse = WarehouseResource(
        snowflake=embedded_snowflake(), embedded_path=str(place / "warehouse")
    )
    bootstrap(warehouse)
    kafka = KafkaResource(bootstrap_servers=args.bootstrap, topic=args.topic, partitions=PARTITIONS)
    steps = _time_micro_batch_steps(runner)

    with spark_session("stream") as (spark, start_s):
        result, clock = clocked(
            spark,
            lambda: runner.run_stream(
                spark,
                kafka,
                warehouse,
                topic=args.topic,
                gap=GAP,
                watermark=WATERMARK_TEXT,
                max_offsets_per_trigger=None,
                checkpoint=str(place / "checkpoint"),
            ),
        )

    rows = _warehouse_sessions(warehouse)
    _write_sessions(sessions_file(args.work, "stream", args.size), rows)
    progress = result.progress
    return {
        **clock,
        **steps,
        "spark_start_s": start_s,
        "events": progress.events_read,
        "invalid_events": progress.invalid_events,
        "late_events": progress.late_events_dropped,
        "micro_batches": progress.micro_batches,
        "sessions": result.sessions_written,
    }


def _time_micro_batch_steps(runner) -> dict[str, float]:
    """Time the two calls each micro-batch makes, to tell Spark's work from the warehouse's.

    `to_session_rows` collects the micro-batch, which runs its whole Spark job (Kafka fetch,
    JSON parsing, the session state); `merge_sessions` is the MERGE into the warehouse. The
    wrappers only time the product's own functions; the dict fills in as the run goes.
    """
    spent = {"spark_job_s": 0.0, "merge_s": 0.0}

    def wrap(name: str, key: str) -> None:
        original = getattr(runner, name)

        def timed_call(*args, **kwargs):
            result, seconds = timed(lambda: original(*args, **kwargs))
            spent[key] += seconds
            return result

        setattr(runner, name, timed_call)

    wrap("to_session_rows", "spark_job_s")
    wrap("merge_sessions", "merge_s")
    return spent


def _warehouse_sessions(warehouse) -> list[list]:
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        cursor.execute(SESSIONS_QUERY)
        rows = cursor.fetchall()
    return [
        [project, start.strftime(TIMESTAMP_TEXT), end.strftime(TIMESTAMP_TEXT), *counts]
        for project, start, end, *counts in rows
    ]


def _child_json_floor(args: argparse.Namespace) -> dict:
    from clickstream_assets.sessions.sessionize import parse_events, sessionize, to_session_rows

    path = args.work / f"json-{args.size}h.parquet"
    with spark_session("json-floor") as (spark, start_s):
        rows, clock = clocked(
            spark,
            lambda: to_session_rows(sessionize(parse_events(spark.read.parquet(str(path))), GAP)),
        )
    return _floor_payload(args, "json_floor", rows, clock, start_s)


def _child_typed_floor(args: argparse.Namespace) -> dict:
    from clickstream_assets.sessions.sessionize import sessionize, to_session_rows

    path = args.work / f"typed-{args.size}h.parquet"
    with spark_session("typed-floor") as (spark, start_s):
        rows, clock = clocked(
            spark, lambda: to_session_rows(sessionize(spark.read.parquet(str(path)), GAP))
        )
    return _floor_payload(args, "typed_floor", rows, clock, start_s)


def _floor_payload(
    args: argparse.Namespace, variant: str, rows: list[dict], clock: dict, start_s: float
) -> dict:
    listed = [
        [
            row["project"],
            row["session_start"],
            row["session_end"],
            row["events"],
            row["total_views"],
            row["total_bytes"],
        ]
        for row in rows
    ]
    _write_sessions(sessions_file(args.work, variant, args.size), listed)
    events = sum(row["events"] for row in rows)
    return {**clock, "spark_start_s": start_s, "events": events, "sessions": len(rows)}


def _write_sessions(path: Path, rows: list[list]) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(rows), encoding="utf-8")
    os.replace(partial, path)


CHILDREN: dict[str, Callable[[argparse.Namespace], dict]] = {
    "publish": _child_publish,
    "export": _child_export,
    "stream": _child_stream,
    "json_floor": _child_json_floor,
    "typed_floor": _child_typed_floor,
}


# The parent: prepare the hours, start the broker, publish and export each size, run every
# variant on every size, verify, tabulate.


def ensure_hours(lines: int, seed: int, hours: int, directory: Path) -> None:
    """The generated hours 1..`hours`, each written once and reused afterwards."""
    for index in range(hours):
        pageview_topic.ensure_hour(lines, seed, directory, hour_of(index))


def _child_command(child: str, args: argparse.Namespace, size: int, **extra: str) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.session_metrics", "--child", child]
    command += ["--lines", str(args.lines), "--seed", str(args.seed), "--size", str(size)]
    command += ["--directory", str(args.directory), "--work", str(args.work)]
    for option, value in extra.items():
        command += [f"--{option}", value]
    return command


def prepare_topics(broker, args: argparse.Namespace) -> dict[int, str]:
    """A fresh topic per size holding hours 1..size, and the floors' parquet read from it."""
    topics = {}
    for size in range(1, args.hours + 1):
        topic = f"bench-sessions-{size}h-{uuid.uuid4().hex[:8]}"
        published = run_child(
            _child_command("publish", args, size, bootstrap=broker.bootstrap, topic=topic)
        )
        messages = published.payload["messages"]
        log.info(
            f"published {messages:,} messages of {size} hour(s) to {topic} in "
            f"{published.seconds:.0f} s ({messages / published.seconds:,.0f}/s)"
        )
        exported = run_child(
            _child_command("export", args, size, bootstrap=broker.bootstrap, topic=topic)
        )
        log.info(
            f"read {topic} back into parquet ({exported.payload['values']:,} JSON values, "
            f"{exported.payload['typed']:,} typed events) in {exported.seconds:.0f} s"
        )
        topics[size] = topic
    return topics


def run_all(broker, topics: dict[int, str], args: argparse.Namespace) -> dict:
    """Every variant on every size, `repeat` times, round-robin; runs[size][variant]."""
    runs = {size: {variant.name: [] for variant in VARIANTS} for size in topics}
    for round_number in range(1, args.repeat + 1):
        for size, topic in topics.items():
            for variant in VARIANTS:
                command = _child_command(variant.name, args, size, bootstrap=broker.bootstrap)
                run = run_beside_broker([*command, "--topic", topic], broker)
                runs[size][variant.name].append(run)
                payload = run.payload
                log.info(
                    f"round {round_number}/{args.repeat}, {size} hour(s), {variant.name}: "
                    f"{run.seconds:.1f} s ({payload['events'] / run.seconds:,.0f} events/s), "
                    f"Spark start {payload['spark_start_s']:.1f} s, CPU {payload['cpu_s']:.1f} s, "
                    f"peak RSS {_peak_mb(run):,.0f} MB, {payload['sessions']:,} sessions, "
                    f"other processes {run.others_cores:.1f} cores"
                )
                _attach_sessions(args, size, variant.name, run)
    return runs


def _peak_mb(run: Measurement) -> float:
    """Driver JVM and Python together: in local mode the JVM does all of Spark's work."""
    return (run.peak_rss_bytes + run.payload["jvm_peak_rss_bytes"]) / 2**20


def _attach_sessions(args: argparse.Namespace, size: int, variant: str, run: Measurement) -> None:
    """Keep the sessions this run wrote with it; the next round overwrites their file."""
    rows = json.loads(sessions_file(args.work, variant, size).read_text(encoding="utf-8"))
    run.payload["rows"] = rows


def save_runs(runs: dict, path: Path) -> None:
    """Every measurement with its payload (sessions included), for `--from-runs`."""
    plain = {
        str(size): {name: [asdict(run) for run in measured] for name, measured in by.items()}
        for size, by in runs.items()
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(plain), encoding="utf-8")
    os.replace(partial, path)


def load_runs(path: Path) -> dict:
    if not path.exists():
        raise SystemExit(f"{path} does not exist: measure once without --from-runs first")
    plain = json.loads(path.read_text(encoding="utf-8"))
    return {
        int(size): {name: [Measurement(**run) for run in measured] for name, measured in by.items()}
        for size, by in plain.items()
    }


def verify(runs: dict, args: argparse.Namespace) -> None:
    """Both floors agree and count every event; each streaming run read every event and wrote
    exactly the floor's sessions that the watermark closed."""
    problems = []
    for size, by_variant in runs.items():
        events = size * args.lines
        floor_rows = by_variant["json_floor"][0].payload["rows"]
        for variant in ("json_floor", "typed_floor"):
            for run in by_variant[variant]:
                if run.payload["rows"] != floor_rows:
                    problems.append(f"{size} h: {variant} sessions differ from the JSON floor's")
                if run.payload["events"] != events:
                    problems.append(
                        f"{size} h: {variant} counted {run.payload['events']:,} events, "
                        f"not {events:,}"
                    )

        # Sessions still open at the end of a run stay in the checkpoint's state: those whose
        # end the watermark (newest event time minus WATERMARK) has not reached.
        watermark = (hour_of(size - 1) - WATERMARK).strftime(TIMESTAMP_TEXT)
        closed = [row for row in floor_rows if row[2] <= watermark]
        for run in by_variant["stream"]:
            payload = run.payload
            if payload["events"] != events:
                problems.append(
                    f"{size} h: stream read {payload['events']:,} events, not {events:,}"
                )
            if payload["invalid_events"] or payload["late_events"]:
                problems.append(
                    f"{size} h: stream saw {payload['invalid_events']:,} invalid and "
                    f"{payload['late_events']:,} late events"
                )
            if payload["rows"] != closed:
                problems.append(
                    f"{size} h: SESSION_METRICS holds {len(payload['rows']):,} sessions, not the "
                    f"floor's {len(closed):,} closed ones (of {len(floor_rows):,}), or other values"
                )

    if problems:
        raise SystemExit("verification failed:\n  " + "\n  ".join(problems))
    log.info("verified: streaming sessions equal the floor's closed sessions at every size")


def render(runs: dict, args: argparse.Namespace) -> str:
    """The README section: setup, the goal and whether it is met, both tables, how to read them."""
    results = {
        size: {name: _fastest(measured) for name, measured in by_variant.items()}
        for size, by_variant in runs.items()
    }
    one_hour = results[1]
    # From the runs, not the options: `--from-runs` tabulates a measurement made earlier.
    repeat = len(runs[1]["stream"])
    events = args.lines
    floor_s = one_hour["json_floor"].seconds
    stream = one_hour["stream"]
    share = stream.seconds / floor_s

    headers = [
        "variant",
        "seconds",
        "events/s",
        "vs JSON floor",
        "Spark start s",
        "CPU s",
        "peak RSS MB",
        "other load (cores)",
    ]
    rows = [
        [
            variant.label,
            f"{result.seconds:.1f}",
            f"{events / result.seconds:,.0f}",
            f"{result.seconds / floor_s:.2f}x",
            f"{result.payload['spark_start_s']:.1f}",
            f"{result.payload['cpu_s']:.1f}",
            f"{result.payload['peak_mb']:,.0f}",
            f"{result.others_cores:.1f}",
        ]
        for variant in VARIANTS
        for result in [one_hour[variant.name]]
    ]

    growth_headers = [
        "hours",
        "events",
        "streaming s",
        "events/s",
        "vs 1 hour",
        "sessions closed / all",
        "JSON floor s",
        "typed s",
        "streaming vs JSON floor",
        "other load (cores)",
    ]
    growth_rows = []
    for size, result in results.items():
        run = result["stream"]
        growth_rows.append(
            [
                str(size),
                f"{size * events:,}",
                f"{run.seconds:.1f}",
                f"{size * events / run.seconds:,.0f}",
                f"{run.seconds / stream.seconds:.2f}x",
                f"{run.payload['sessions']:,} / {result['json_floor'].payload['sessions']:,}",
                f"{result['json_floor'].seconds:.1f}",
                f"{result['typed_floor'].seconds:.1f}",
                f"{run.seconds / result['json_floor'].seconds:.2f}x",
                f"{max(r.others_cores for r in result.values()):.1f}",
            ]
        )

    met = "met" if share <= GOAL_SHARE_OF_JSON_FLOOR else "missed"
    lines = args.lines
    return "\n".join(
        [
            f"{machine_note()} Hours: {lines:,} generated pageview lines each, from "
            f"{FIRST_HOUR:%Y-%m-%d %H}:00 UTC on, published with `publish_hour` to the "
            f"project's Kafka broker ({PARTITIONS} partitions; "
            f"`.venv/bin/python -m benchmarks.session_metrics --lines {lines} "
            f"--hours {max(runs)} --repeat {repeat}`). Spark `{_spark_master()}` as "
            "`spark_config` sets it up, "
            f"gap {GAP}, watermark {WATERMARK_TEXT}.",
            "",
            f"Goal: the streaming run within {GOAL_SHARE_OF_JSON_FLOOR}x of the JSON batch floor "
            f"on one hour: **{met}** ({stream.seconds:.1f} s vs {floor_s:.1f} s, {share:.2f}x).",
            "",
            f"One hour ({events:,} events):",
            "",
            markdown_table(headers, rows),
            "",
            "Growth, a fresh topic, checkpoint and warehouse per size:",
            "",
            markdown_table(growth_headers, growth_rows),
            "",
            _where_time_goes(results),
            "",
            f"Best of {repeat} run(s) each, round-robin over sizes and variants. Seconds are "
            "timed inside each child around the work, after its SparkSession started (*Spark "
            "start s*: the driver JVM's launch, paid once per process). *CPU s* is the driver "
            "JVM's and Python's CPU time over the work (above *seconds* means more than one "
            "core); the broker's CPU time is not in it. *Peak RSS* is the driver JVM's and "
            "Python's peaks added. *Other load* is how many cores processes other than the "
            "child and the broker kept busy during the run, as this machine is shared; the "
            "growth table shows the highest of a size's runs. The streaming run includes the "
            "MERGE of closed sessions into the embedded warehouse and the recording of its "
            "offsets; sessions of the newest hour stay open in the checkpoint's state, as the "
            "watermark has not passed them, so one hour writes none. Every streaming run read "
            "every event, and SESSION_METRICS held exactly the floor's closed sessions; both "
            "floors gave the same sessions.",
        ]
    )


def _fastest(measured: list[Measurement]) -> Measurement:
    """`best`, with the peak RSS (driver JVM and Python) the highest of all the runs."""
    result = best(measured)
    result.payload = {**result.payload, "peak_mb": max(_peak_mb(run) for run in measured)}
    return result


def _where_time_goes(results: dict) -> str:
    parts = []
    for size, result in results.items():
        payload = result["stream"].payload
        total = result["stream"].seconds
        rest = total - payload["spark_job_s"] - payload["merge_s"]
        parts.append(
            f"{size} h: Spark jobs {payload['spark_job_s']:.1f} s, "
            f"MERGE {payload['merge_s']:.1f} s, query start, planning and checkpoint "
            f"{rest:.1f} s over {payload['micro_batches']} micro-batches, broker CPU "
            f"{payload['broker_cpu_s']:.1f} s"
        )
    one = results[1]
    parse_s = one["json_floor"].seconds - one["typed_floor"].seconds
    return (
        "Where the streaming time goes (the micro-batches' collect runs the whole Spark job: "
        "Kafka fetch, JSON parsing, session state): "
        + "; ".join(parts)
        + f". In the floors, parsing the JSON values costs {parse_s:.1f} s of the hour's "
        f"{one['json_floor'].seconds:.1f} s."
    )


def _spark_master() -> str:
    from clickstream_assets import settings

    return settings.spark_master()


def main(argv: list[str] | None = None) -> None:
    from clickstream_assets import settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.session_metrics")
    parser.add_argument("--lines", type=int, default=FULL_LINES, help="lines of each hour")
    parser.add_argument("--hours", type=int, default=HOURS, help="largest size, in hours")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated hours")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each variant (best kept)")
    parser.add_argument("--no-readme", action="store_true", help="print the tables only")
    parser.add_argument(
        "--from-runs",
        action="store_true",
        help="verify and tabulate the runs the last measurement of --lines and --seed saved, "
        "without measuring again",
    )
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--directory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        report(CHILDREN[args.child](args))
        return

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    from clickstream_assets.local.jvm import SPARK_KAFKA, ensure_jvm_artifacts

    args.directory = settings.data_dir() / "benchmarks"
    args.work = work_dir(args.lines, args.seed, args.directory)
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.from_runs:
        ensure_hours(args.lines, args.seed, args.hours, args.directory)
        ensure_jvm_artifacts(SPARK_KAFKA)

    saved = args.work / "runs.json"
    if args.from_runs:
        runs = load_runs(saved)
    else:
        with local_broker(args.directory) as broker:
            topics = prepare_topics(broker, args)
            runs = run_all(broker, topics, args)
        save_runs(runs, saved)
    verify(runs, args)
    section = render(runs, args)

    print(section)
    if not args.no_readme:
        write_readme_section(NAME, section)
        log.info("wrote the tables into README.md's performance section")


if __name__ == "__main__":
    main()
