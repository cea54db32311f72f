"""`clickstream services up|down|status`: the embedded services that outlive one command.

The Kafka broker is started only for a loopback KAFKA_BOOTSTRAP where nothing answers yet; a
remote cluster is never started or stopped. The dump mirror runs as a detached process whose
pid file lives under the data dir, so `down` from another shell stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from clickstream_assets import settings
from clickstream_assets.local.jvm import KAFKA_BROKER, ensure_jvm_artifacts
from clickstream_assets.local.kafka_broker import broker_answers, broker_status, start_broker
from clickstream_assets.local.kafka_broker import stop_broker as stop_kafka_broker
from clickstream_assets.local.processes import stop_tree, wait_for_http

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def local_kafka_port() -> int | None:
    """The port of KAFKA_BOOTSTRAP when it is one loopback address, else None."""
    bootstrap = settings.kafka_bootstrap()
    if "," in bootstrap:
        return None
    host, _, port = bootstrap.rpartition(":")
    return int(port) if host in LOOPBACK_HOSTS and port.isdigit() else None


def start_kafka() -> str:
    """Start the local broker if KAFKA_BOOTSTRAP is loopback and nothing answers there."""
    bootstrap = settings.kafka_bootstrap()
    port = local_kafka_port()
    if port is None:
        return f"kafka: {bootstrap} is not a local address; nothing started"
    if broker_answers(bootstrap, timeout=3.0):
        return f"kafka: a broker already answers at {bootstrap}"
    ensure_jvm_artifacts(KAFKA_BROKER)
    broker = start_broker(settings.kafka_broker_dir(), port=port, stop_at_exit=False)
    return f"kafka: started Apache Kafka at {broker.bootstrap} (pid {broker.pid()})"


def _mirror_pid_file() -> Path:
    return settings.data_dir() / "mirror.pid"


def mirror_pid() -> int | None:
    try:
        pid = int(_mirror_pid_file().read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not psutil.pid_exists(pid):
        _mirror_pid_file().unlink(missing_ok=True)
        return None
    return pid


def mirror_url() -> str:
    return f"http://127.0.0.1:{settings.mirror_port()}"


def start_mirror() -> str:
    if mirror_pid() is not None:
        return f"mirror: already running at {mirror_url()} (pid {mirror_pid()})"
    logs = settings.data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    clickstream = Path(sys.executable).parent / "clickstream"
    with (logs / "mirror.log").open("ab") as out:
        process = subprocess.Popen(
            [str(clickstream), "mirror", "serve", "--port", str(settings.mirror_port())],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(os.environ),
        )
    _mirror_pid_file().write_text(str(process.pid))
    wait_for_http(mirror_url() + "/other/", timeout_s=30)
    return f"mirror: serving {settings.mirror_dir()} at {mirror_url()} (pid {process.pid})"


def services_up(with_mirror: bool = True) -> list[str]:
    lines = [start_kafka()]
    if with_mirror:
        lines.append(start_mirror())
    return lines


def services_down() -> list[str]:
    lines = []
    stopped = stop_kafka_broker(settings.kafka_broker_dir())
    lines.append("kafka: stopped the local broker" if stopped else "kafka: no local broker ran")
    pid = mirror_pid()
    if pid is not None:
        stop_tree(pid)
        _mirror_pid_file().unlink(missing_ok=True)
        lines.append(f"mirror: stopped (pid {pid})")
    else:
        lines.append("mirror: not running")
    return lines


def services_status() -> list[str]:
    kafka = broker_status(settings.kafka_broker_dir(), bootstrap=settings.kafka_bootstrap())
    pid = mirror_pid()
    mirror = f"running at {mirror_url()} (pid {pid})" if pid else "stopped"
    pid_note = f", pid {kafka['pid']}" if kafka["pid"] else ""
    return [f"kafka: {kafka['state']} at {kafka['bootstrap']}{pid_note}", f"mirror: {mirror}"]
