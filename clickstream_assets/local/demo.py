"""`clickstream demo`: the whole product on one machine, with nothing to configure.

It picks the dump source (the real site when it answers, else the local mirror), starts the
Dagster webserver and daemon on 127.0.0.1, materializes the demo partitions into the same
instance the UI shows, and stops everything it started on Ctrl+C.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    MultiPartitionKey,
    RunsFilter,
    materialize,
)

from clickstream_assets import settings
from clickstream_assets.clickstream.assets import clickstream_assets
from clickstream_assets.clickstream.checks import clickstream_checks
from clickstream_assets.local.dagster_home import ensure_dagster_home
from clickstream_assets.local.jvm import KAFKA_BROKER, SPARK_KAFKA, ensure_jvm_artifacts
from clickstream_assets.local.kafka_broker import KafkaBroker, broker_answers
from clickstream_assets.local.processes import ProcessGroup, child_env, wait_for_http
from clickstream_assets.local.services import local_kafka_port
from clickstream_assets.pageviews.assets import pageview_assets
from clickstream_assets.resources.dump_source import DumpSourceResource
from clickstream_assets.resources.kafka import KafkaResource, kafka_from_env
from clickstream_assets.resources.warehouse import warehouse_from_env
from clickstream_assets.sessions.sensors import pageview_consumers_job
from clickstream_assets.warehouse.assets import raw_clickstream
from clickstream_assets.warehouse.runner import bootstrap

# A first sessionizer run starts a JVM and Spark: about a minute on two cores.
CONSUMERS_TIMEOUT_S = 600
FAILED = DagsterRunStatus.FAILURE
WAITING = (
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DumpChoice:
    base_url: str
    row_cap: int | None
    use_mirror: bool
    reason: str


def choose_dump_source(offline: bool, probe_timeout_s: float = 3.0) -> DumpChoice:
    """The real dumps site if it answers (streaming only the head of each dump), else the mirror."""
    configured = settings.env("WIKIMEDIA_DUMPS_URL")
    if configured:
        return DumpChoice(
            configured.rstrip("/"),
            settings.clickstream_row_cap(),
            False,
            "WIKIMEDIA_DUMPS_URL is set",
        )
    if offline:
        return DumpChoice("", None, True, "--offline was given")
    probe = f"{settings.DEFAULT_DUMPS_URL}/other/clickstream/"
    try:
        status = requests.head(probe, timeout=probe_timeout_s, allow_redirects=True).status_code
    except requests.RequestException as exc:
        return DumpChoice("", None, True, f"{probe} did not answer ({type(exc).__name__})")
    if status >= 400:
        return DumpChoice("", None, True, f"{probe} answered HTTP {status}")
    cap = settings.clickstream_row_cap() or settings.DEMO_ROW_CAP
    return DumpChoice(settings.DEFAULT_DUMPS_URL, cap, False, f"{probe} answered")


def partition_is_materialized(instance: DagsterInstance, key: MultiPartitionKey) -> bool:
    """Whether every clickstream asset and its RAW copy have a materialization of the partition."""
    for asset_def in [*clickstream_assets, raw_clickstream]:
        for asset_key in asset_def.keys:
            materialized = instance.get_materialized_partitions(asset_key)
            if str(key) not in materialized:
                return False
    return True


def materialize_demo_months(
    instance: DagsterInstance, dump_source: DumpSourceResource, echo: Callable[[str], None]
) -> None:
    """Materialize the clickstream assets and checks for each demo wiki and month."""
    for month, wiki in itertools.product(settings.DEMO_MONTHS, settings.DEMO_WIKIS):
        key = MultiPartitionKey({"month": month, "wiki": wiki})
        if partition_is_materialized(instance, key):
            echo(f"clickstream {wiki} {month[:7]}: already materialized, kept")
            continue
        started = time.monotonic()
        result = materialize(
            [*clickstream_assets, *clickstream_checks, raw_clickstream],
            partition_key=str(key),
            instance=instance,
            resources={"dump_source": dump_source, "warehouse": warehouse_from_env()},
            tags={"dagster/from": "clickstream demo"},
        )
        if not result.success:
            raise RuntimeError(f"materializing {key} failed; see the run in the Dagster UI")
        echo(f"clickstream {wiki} {month[:7]}: materialized in {time.monotonic() - started:.0f} s")


def demo_hours(now: datetime | None = None, count: int = settings.DEMO_PAGEVIEW_HOURS) -> list[str]:
    """Partition keys of `count` complete hours, oldest first, that the hourly schedule will
    not ask for: before minute 45 the previous hour is still the schedule's to publish."""
    now = now or datetime.now(UTC)
    newest = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    if now.minute < settings.PAGEVIEW_SCHEDULE_MINUTE:
        newest -= timedelta(hours=1)
    return [f"{newest - timedelta(hours=i):%Y-%m-%d-%H:00}" for i in reversed(range(count))]


def materialize_demo_hours(
    instance: DagsterInstance,
    dump_source: DumpSourceResource,
    kafka: KafkaResource,
    echo: Callable[[str], None],
) -> None:
    """Download, profile and publish the last few pageview hours, each once; the number of
    hours published by this call."""
    published = instance.get_materialized_partitions(AssetKey("pageview_topic"))
    count = 0
    for key in demo_hours():
        if key in published:
            echo(f"pageviews {key}: already published, kept")
            continue
        count += 1
        started = time.monotonic()
        result = materialize(
            pageview_assets,
            partition_key=key,
            instance=instance,
            resources={"dump_source": dump_source, "kafka": kafka},
            tags={"dagster/from": "clickstream demo"},
        )
        if not result.success:
            raise RuntimeError(f"materializing pageviews {key} failed; see the Dagster UI")
        echo(f"pageviews {key}: published in {time.monotonic() - started:.0f} s")
    return count


def wait_for_consumers(
    instance: DagsterInstance, since: float, echo: Callable[[str], None]
) -> None:
    """Wait until a run that the sensor started after `since` has loaded RAW and sessionized
    the new messages, so the dashboard's sessions page has numbers when the demo says ready."""
    echo("waiting for pageview_topic_sensor's run of raw_pageviews and session_metrics ...")
    deadline = time.monotonic() + CONSUMERS_TIMEOUT_S
    while time.monotonic() < deadline:
        records = instance.get_run_records(
            RunsFilter(job_name=pageview_consumers_job.name), limit=5
        )
        recent = [r.dagster_run for r in records if r.create_timestamp.timestamp() >= since]
        finished = [r for r in recent if r.status in (DagsterRunStatus.SUCCESS, FAILED)]
        if finished and not any(r.status in WAITING for r in recent):
            run = finished[0]
            verb = "loaded and sessionized" if run.status == DagsterRunStatus.SUCCESS else "FAILED"
            echo(f"pageview consumers: run {run.run_id[:8]} {verb}")
            return
        time.sleep(3)
    echo("pageview consumers: no finished run yet; the sensor goes on in the background")


def start_local_kafka(echo: Callable[[str], None]) -> KafkaBroker | None:
    """The embedded broker, when KAFKA_BOOTSTRAP is loopback and nothing answers there."""
    port = local_kafka_port()
    bootstrap = settings.kafka_bootstrap()
    if port is None or broker_answers(bootstrap, timeout=3.0):
        echo(f"kafka: using the broker at {bootstrap}")
        return None
    ensure_jvm_artifacts(KAFKA_BROKER)
    broker = KafkaBroker(settings.kafka_broker_dir(), port=port)
    broker.start()
    echo(f"kafka: started Apache Kafka at {broker.bootstrap}")
    return broker


def start_dashboard(group: ProcessGroup, env: dict[str, str], logs) -> str:
    """Start the Streamlit dashboard on loopback; its URL."""
    host, port = settings.WEBSERVER_HOST, settings.dashboard_port()
    group.start(
        "dashboard",
        [
            os.path.join(os.path.dirname(sys.executable), "streamlit"),
            "run",
            str(settings.REPO_ROOT / "dashboard" / "app.py"),
            "--server.headless=true",
            f"--server.address={host}",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
            "--runner.magicEnabled=false",
        ],
        env,
        logs,
    )
    return f"http://{host}:{port}"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def install_stop_signals() -> None:
    """SIGINT and SIGTERM stop the demo the same way, even if SIGINT was ignored at start
    (as it is for a background job of a non-interactive shell)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def run_demo(offline: bool, echo: Callable[[str], None], stay: bool = True) -> None:
    """Start the services, materialize the demo data, print the URLs, wait for Ctrl+C."""
    install_stop_signals()
    choice = choose_dump_source(offline)
    group = ProcessGroup()
    mirror = broker = None
    try:
        if choice.use_mirror:
            from clickstream_assets.local.mirror import DumpMirror

            mirror = DumpMirror(settings.mirror_dir(), port=settings.mirror_port())
            mirror.start()
            base_url, row_cap = mirror.url, None
            echo(f"dumps: local mirror at {mirror.url} with generated data ({choice.reason})")
        else:
            base_url, row_cap = choice.base_url, choice.row_cap
            cap = f", first {row_cap:,} rows of each dump" if row_cap else ""
            echo(f"dumps: {base_url}{cap} ({choice.reason})")

        broker = start_local_kafka(echo)
        ensure_jvm_artifacts(SPARK_KAFKA)
        with warehouse_from_env().process_config_and_initialize_cm() as warehouse:
            bootstrap(warehouse)
            echo(f"warehouse: {warehouse.describe()}, bootstrapped")
        home = ensure_dagster_home()
        # Create the instance's storage here, before the webserver and the daemon start: three
        # processes migrating one new SQLite schema at once leave it with two heads.
        instance = DagsterInstance.get()
        env = child_env(
            DAGSTER_HOME=str(home),
            SPARK_LOCAL_IP=os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
            WIKIMEDIA_DUMPS_URL=base_url,
            CLICKSTREAM_DATA_DIR=str(settings.data_dir()),
            **({"CLICKSTREAM_ROW_CAP": str(row_cap)} if row_cap else {}),
        )
        os.environ.update({k: env[k] for k in ("WIKIMEDIA_DUMPS_URL", "CLICKSTREAM_DATA_DIR")})
        workspace = str(settings.REPO_ROOT / "workspace.yaml")
        bin_dir = os.path.dirname(sys.executable)
        host, port = settings.WEBSERVER_HOST, settings.webserver_port()
        logs = settings.data_dir() / "logs"
        group.start(
            "dagster-webserver",
            [
                os.path.join(bin_dir, "dagster-webserver"),
                "-w",
                workspace,
                "-h",
                host,
                "-p",
                str(port),
            ],
            env,
            logs,
        )
        group.start(
            "dagster-daemon",
            [os.path.join(bin_dir, "dagster-daemon"), "run", "-w", workspace],
            env,
            logs,
        )
        ui = f"http://{host}:{port}"
        dashboard = start_dashboard(group, {**env, "DAGSTER_WEBSERVER_URL": ui}, logs)
        wait_for_http(f"{ui}/server_info", timeout_s=180, group=group)
        echo(f"Dagster UI: {ui}")
        wait_for_http(f"{dashboard}/_stcore/health", timeout_s=120, group=group)
        echo(f"dashboard: {dashboard}")

        dump_source = DumpSourceResource(base_url=base_url, row_cap=row_cap)
        materialize_demo_months(instance, dump_source, echo)
        published_since = time.time()
        if materialize_demo_hours(instance, dump_source, kafka_from_env(), echo):
            wait_for_consumers(instance, published_since, echo)
        echo(
            f"ready: open {ui}/assets/clickstream_dump?view=lineage&lineageScope=downstream "
            f"and the dashboard at {dashboard} (Ctrl+C stops everything)"
        )
        # Dagster's in-process execution installs signal handlers of its own; take them back.
        install_stop_signals()
        while stay:
            group.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        echo("stopping ...")
    finally:
        # A second Ctrl+C must not cut the cleanup short and leave servers running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        group.stop()
        if mirror is not None:
            mirror.stop()
        if broker is not None:
            broker.stop()
        echo("stopped every process the demo started")
