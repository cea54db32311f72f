"""A real Apache Kafka 4.x broker for demos, tests and CI, run as a separate Java process.

One KRaft node acts as broker and controller. Its storage is formatted once as a standalone
(dynamic, single-voter) quorum with a cluster id kept under the broker dir; each start writes
`server.properties` and a log4j 2 config and launches `kafka.Kafka` with the jars that
`jvm/pom.xml` resolves. Production never uses this module: it points `KAFKA_BOOTSTRAP` at a
real cluster.

Layout of the broker dir (default `<data dir>/kafka`):

    cluster_id          the id the storage was formatted with
    controller_port     the controller listener's port, chosen at format time and kept:
                        a standalone quorum records its voter's endpoint in storage/
    server.properties   generated on every start
    log4j2.xml          generated on every start
    broker.pid          pid of the running JVM, so another process can stop it
    storage/            log.dirs: topic partitions and the KRaft metadata log
    logs/server.log     the broker's own log
    logs/stdout.log     the JVM's stdout and stderr (crashes before log4j starts land here)

A broker is never left behind: the process that starts one stops it at exit (and on Linux the
JVM also gets SIGTERM if that process dies without running its exit handlers), unless the
start was asked to outlive it, as `clickstream services up` does. A pid file whose process is
gone, or belongs to something else, is removed the next time anyone looks at it.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import quoteattr

import psutil
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from clickstream_assets import settings
from clickstream_assets.local import jvm

logger = logging.getLogger(__name__)
# librdkafka reports every refused connection while the broker starts; route those lines into
# logging (at their own levels) instead of letting them go to stderr.
_librdkafka_logger = logging.getLogger(f"{__name__}.librdkafka")

HOST = "127.0.0.1"
DEFAULT_PORT = 9092
DEFAULT_PARTITIONS = 3
MAIN_CLASS = "kafka.Kafka"
NODE_ID = 1
# One node can host no more than one replica per partition.
REPLICATION = 1
# __consumer_offsets gets 50 partitions by default; on one local node that only makes the first
# consumer group wait longer while they are all created.
OFFSETS_TOPIC_PARTITIONS = 5
# The storage tool and the broker start in a couple of seconds; these bounds catch a hang.
FORMAT_TIMEOUT_S = 120
POLL_INTERVAL_S = 0.25
LOG_TAIL_LINES = 40

_START_MARK = "--- starting"
_SASL_USER_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
# prctl(2) option: signal the child when the thread that forked it exits.
_PR_SET_PDEATHSIG = 1


class KafkaBrokerError(RuntimeError):
    """The local broker could not be formatted, started or stopped."""


class KafkaBroker:
    """One local KRaft broker (broker and controller in one JVM) with its storage under base_dir.

    `start()` launches the JVM unless a broker already answers on the port, and waits until it
    answers a metadata request; `stop()` sends SIGTERM and waits for Kafka's clean shutdown.
    Used as a context manager it starts on entry and stops on exit.
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        port: int = DEFAULT_PORT,
        partitions: int = DEFAULT_PARTITIONS,
        sasl_port: int | None = None,
        sasl_users: dict[str, str] | None = None,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        if sasl_users and sasl_port is None:
            raise ValueError("sasl_users were given without a sasl_port to serve them on")
        if sasl_port is not None and not sasl_users:
            raise ValueError(f"sasl_port {sasl_port} needs at least one user in sasl_users")
        for name, password in (sasl_users or {}).items():
            _check_sasl_user(name, password)

        self.base_dir = Path(base_dir) if base_dir is not None else settings.kafka_broker_dir()
        self.port = port
        self.partitions = partitions
        self.sasl_port = sasl_port
        self.sasl_users = dict(sasl_users or {})
        self._process: subprocess.Popen[bytes] | None = None

    # Paths under the broker dir.

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "broker.pid"

    @property
    def storage_dir(self) -> Path:
        return self.base_dir / "storage"

    @property
    def logs_dir(self) -> Path:
        return self.base_dir / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "server.log"

    @property
    def stdout_log(self) -> Path:
        return self.logs_dir / "stdout.log"

    @property
    def config_file(self) -> Path:
        return self.base_dir / "server.properties"

    # Addresses.

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str | None:
        """The SASL_PLAINTEXT (PLAIN mechanism) listener, or None when none was configured."""
        return f"{HOST}:{self.sasl_port}" if self.sasl_port is not None else None

    # Lifecycle.

    def start(self, timeout: float = 90.0, *, stop_at_exit: bool = True) -> bool:
        """Start the broker unless one answers already; wait until it answers a metadata request.

        Returns True when this call launched a JVM. When a broker this project did not start
        already answers on the port, nothing is launched and that broker is used as it is.
        With `stop_at_exit=False` the broker outlives this process (for `clickstream services
        up`); it is then stopped with `stop_broker(base_dir)` from any process.
        """
        pid = self.pid()
        if pid is not None:
            running_on = _configured_bootstrap(self.base_dir)
            if running_on != self.bootstrap:
                raise KafkaBrokerError(
                    f"the Kafka broker in {self.base_dir} (pid {pid}) already runs on "
                    f"{running_on}, not {self.bootstrap}; stop it first (clickstream services "
                    "down) to start it on another port"
                )
            logger.info("Kafka broker already running from %s (pid %d)", self.base_dir, pid)
            self._wait_until_answering(pid, timeout)
            return False
        if broker_answers(self.bootstrap, timeout=5.0):
            logger.warning(
                "a Kafka broker that this project did not start already answers on %s; "
                "using it and starting none (its storage is not under %s)",
                self.bootstrap,
                self.base_dir,
            )
            return False
        for port in (self.port, self.sasl_port):
            if port is not None and _port_taken(port):
                raise KafkaBrokerError(
                    f"cannot start a Kafka broker on {HOST}:{port}: another process holds the "
                    "port and does not answer as a Kafka broker"
                )

        started = time.monotonic()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        controller_port = self._controller_port()
        classpath = jvm.kafka_broker_classpath()
        self._write_config(controller_port)
        self._write_log4j_config()
        self._format_storage(classpath)
        pid = self._launch(classpath, stop_at_exit)
        self._wait_until_answering(pid, timeout)
        logger.info(
            "Kafka broker answers on %s (pid %d, storage %s) after %.1f s",
            self.bootstrap,
            pid,
            self.storage_dir,
            time.monotonic() - started,
        )
        return True

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the broker started from this base dir: SIGTERM, wait, SIGKILL only after timeout.

        Returns True when a broker process was stopped. A broker on the port that this project
        did not start is left alone.
        """
        atexit.unregister(self._stop_at_exit)
        pid = self.pid()
        if pid is None:
            self._process = None
            return False
        _terminate(pid, timeout, self._process)
        self._process = None
        self.pid_file.unlink(missing_ok=True)
        return True

    def pid(self) -> int | None:
        """Pid of this base dir's running broker JVM; removes a pid file that is stale."""
        if self._process is not None and self._process.poll() is not None:
            # Stopped by another process (`clickstream services down`): reap the exited child.
            self._process = None
        return _live_broker_pid(self.base_dir)

    def status(self) -> dict[str, Any]:
        """State (running, unresponsive, external or stopped), pid and addresses of this broker."""
        return broker_status(self.base_dir, bootstrap=self.bootstrap) | {
            "sasl_bootstrap": self.sasl_bootstrap
        }

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KafkaBroker(bootstrap={self.bootstrap!r}, base_dir={str(self.base_dir)!r})"

    # Steps of start().

    def _controller_port(self) -> int:
        """The controller port, chosen once: a standalone quorum records its voter's endpoint."""
        recorded = self.base_dir / "controller_port"
        if recorded.exists():
            port = int(recorded.read_text().strip())
            if _port_taken(port):
                raise KafkaBrokerError(
                    f"the controller port {HOST}:{port} recorded in {recorded} is taken by "
                    f"another process; free it, or remove {self.base_dir} to start afresh"
                )
            return port
        # The port after the client port, as Kafka's examples use, when it is free.
        taken = {self.port, self.sasl_port}
        port = self.port + 1
        while port in taken or _port_taken(port):
            port = free_port()
        _write_atomic(recorded, f"{port}\n")
        return port

    def _write_config(self, controller_port: int) -> None:
        listeners = [f"PLAINTEXT://{self.bootstrap}", f"CONTROLLER://{HOST}:{controller_port}"]
        advertised = [f"PLAINTEXT://{self.bootstrap}"]
        if self.sasl_port is not None:
            listeners.append(f"SASL_PLAINTEXT://{self.sasl_bootstrap}")
            advertised.append(f"SASL_PLAINTEXT://{self.sasl_bootstrap}")
        properties = {
            "process.roles": "broker,controller",
            "node.id": NODE_ID,
            "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
            "controller.listener.names": "CONTROLLER",
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
            ),
            "log.dirs": self.storage_dir,
            "num.partitions": self.partitions,
            "default.replication.factor": REPLICATION,
            "min.insync.replicas": 1,
            "offsets.topic.replication.factor": REPLICATION,
            "offsets.topic.num.partitions": OFFSETS_TOPIC_PARTITIONS,
            "transaction.state.log.replication.factor": REPLICATION,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": REPLICATION,
            "share.coordinator.state.topic.min.isr": 1,
            # Consumers in tests and the demo join one at a time; waiting 3 s for more only
            # slows every first poll.
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
            "num.recovery.threads.per.data.dir": 1,
        }
        if self.sasl_port is not None:
            properties["sasl.enabled.mechanisms"] = "PLAIN"
            properties["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = _plain_jaas(
                self.sasl_users
            )
        lines = [f"{key}={_escape_property(str(value))}" for key, value in properties.items()]
        header = "# Generated by clickstream_assets.local.kafka_broker on every start.\n"
        _write_atomic(self.config_file, header + "\n".join(lines) + "\n")

    def _write_log4j_config(self) -> None:
        pattern = "[%d] %p %m (%c)%n"
        # Kafka logs its own shutdown from a JVM shutdown hook; log4j's hook would close the
        # file first and lose exactly those lines, so the broker's log stays open to the end.
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by clickstream_assets.local.kafka_broker on every start. -->
<Configuration status="warn" shutdownHook="disable">
  <Appenders>
    <RollingFile name="server" fileName={quoteattr(str(self.server_log))}
                 filePattern={quoteattr(str(self.server_log) + ".%i")}>
      <PatternLayout pattern={quoteattr(pattern)}/>
      <SizeBasedTriggeringPolicy size="50 MB"/>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log.LogCleaner" level="WARN"/>
    <Root level="INFO">
      <AppenderRef ref="server"/>
    </Root>
  </Loggers>
</Configuration>
"""
        _write_atomic(self.base_dir / "log4j2.xml", xml)

    def _format_storage(self, classpath: str) -> None:
        """Format log.dirs once; a formatted dir has meta.properties and is left as it is."""
        if (self.storage_dir / "meta.properties").exists():
            return
        cluster_id = self._cluster_id()
        command = [
            jvm.java_executable(),
            *self._jvm_options(),
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.config_file),
            "--standalone",
            "--ignore-formatted",
        ]
        logger.info("formatting Kafka storage %s (cluster id %s)", self.storage_dir, cluster_id)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise KafkaBrokerError(
                f"formatting Kafka storage {self.storage_dir} failed "
                f"(exit {result.returncode}):\n{output}"
            )

    def _cluster_id(self) -> str:
        recorded = self.base_dir / "cluster_id"
        if recorded.exists():
            return recorded.read_text().strip()
        cluster_id = _random_cluster_id()
        _write_atomic(recorded, f"{cluster_id}\n")
        return cluster_id

    def _jvm_options(self) -> list[str]:
        return [
            f"-Xmx{settings.kafka_broker_heap()}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            # A broker that ran out of heap misbehaves in odd ways; exiting makes it visible.
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.base_dir / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.logs_dir}",
        ]

    def _launch(self, classpath: str, stop_at_exit: bool) -> int:
        """Launch the broker JVM, write its pid file and return its pid."""
        command = [
            jvm.java_executable(),
            *self._jvm_options(),
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.config_file),
        ]
        with open(self.stdout_log, "ab") as out:
            out.write(f"{_START_MARK} {MAIN_CLASS} at {time.ctime()}\n".encode())
            out.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                # Its own session: Ctrl-C in a terminal reaches this process, which stops the
                # broker cleanly, and a broker meant to outlive the CLI survives its terminal.
                start_new_session=True,
                preexec_fn=_die_with_parent_hook() if stop_at_exit else None,
            )
        _write_atomic(self.pid_file, f"{self._process.pid}\n")
        if stop_at_exit:
            atexit.register(self._stop_at_exit)
        return self._process.pid

    def _wait_until_answering(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not _is_broker_process(pid, self.base_dir):
                if self._process is not None:
                    self._process.wait()
                    self._process = None
                self.pid_file.unlink(missing_ok=True)
                raise KafkaBrokerError(
                    f"the Kafka broker in {self.base_dir} (pid {pid}) exited before it "
                    f"answered on {self.bootstrap}:\n{self._log_tail()}"
                )
            if broker_answers(self.bootstrap, timeout=2.0):
                return
            if time.monotonic() > deadline:
                tail = self._log_tail()
                self.stop()
                raise KafkaBrokerError(
                    f"the Kafka broker in {self.base_dir} (pid {pid}) did not answer on "
                    f"{self.bootstrap} within {timeout:.0f} s and was stopped:\n{tail}"
                )
            time.sleep(POLL_INTERVAL_S)

    def _log_tail(self) -> str:
        parts = []
        for path in (self.stdout_log, self.server_log):
            if not path.exists():
                continue
            lines = path.read_text(errors="replace").splitlines()
            # stdout.log keeps every start; only the last one explains this failure.
            if path == self.stdout_log:
                starts = [i for i, line in enumerate(lines) if line.startswith(_START_MARK)]
                lines = lines[starts[-1] :] if starts else lines
            tail = "\n".join(lines[-LOG_TAIL_LINES:])
            parts.append(f"--- last lines of {path}:\n{tail}")
        return "\n".join(parts) or f"(no log under {self.logs_dir})"

    def _stop_at_exit(self) -> None:
        if self.pid() is not None:
            logger.info("stopping the Kafka broker in %s as its starter exits", self.base_dir)
            self.stop()


def start_broker(
    base_dir: Path | None = None,
    port: int = DEFAULT_PORT,
    partitions: int = DEFAULT_PARTITIONS,
    sasl_port: int | None = None,
    sasl_users: dict[str, str] | None = None,
    timeout: float = 90.0,
    *,
    stop_at_exit: bool = True,
) -> KafkaBroker:
    """Start (or find running) the local broker and return it once it answers."""
    broker = KafkaBroker(base_dir, port, partitions, sasl_port, sasl_users)
    broker.start(timeout, stop_at_exit=stop_at_exit)
    return broker


def stop_broker(base_dir: Path | None = None, timeout: float = 60.0) -> bool:
    """Stop the broker whose pid file is in base_dir, whichever process started it.

    Returns True when a broker was stopped, False when none was running there.
    """
    base_dir = Path(base_dir) if base_dir is not None else settings.kafka_broker_dir()
    pid = _live_broker_pid(base_dir)
    if pid is None:
        return False
    _terminate(pid, timeout, None)
    (base_dir / "broker.pid").unlink(missing_ok=True)
    return True


def broker_status(base_dir: Path | None = None, bootstrap: str | None = None) -> dict[str, Any]:
    """The state of the local broker in base_dir and of whatever answers on its port.

    `state` is `running` (started from base_dir and answering), `unresponsive` (its JVM lives
    but does not answer yet), `external` (a broker this project did not start answers on the
    port) or `stopped`. Without `bootstrap`, the port is read from base_dir's server.properties.
    """
    base_dir = Path(base_dir) if base_dir is not None else settings.kafka_broker_dir()
    bootstrap = bootstrap or _configured_bootstrap(base_dir)
    pid = _live_broker_pid(base_dir)
    answers = bootstrap is not None and broker_answers(bootstrap, timeout=3.0)
    if pid is not None:
        state = "running" if answers else "unresponsive"
    else:
        state = "external" if answers else "stopped"
    return {
        "state": state,
        "running": state == "running",
        "pid": pid,
        "bootstrap": bootstrap,
        "answers": answers,
        "base_dir": str(base_dir),
        "log_file": str(base_dir / "logs" / "server.log"),
    }


def broker_answers(
    bootstrap: str, timeout: float = 5.0, config: dict[str, Any] | None = None
) -> bool:
    """True when a Kafka broker at `bootstrap` answers a metadata request within `timeout`.

    A plain TCP connect comes first, so an address where nothing listens fails at once and
    without librdkafka's retries. `config` adds client settings (SASL, for instance).
    """
    if not any(_tcp_connects(address) for address in bootstrap.split(",")):
        return False
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": max(1000, int(timeout * 1000)),
            "logger": _librdkafka_logger,
            **(config or {}),
        }
    )
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _live_broker_pid(base_dir: Path) -> int | None:
    """Pid from base_dir's pid file if that process is still this broker; else clean it up."""
    pid_file = base_dir / "broker.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        logger.warning("removing unreadable Kafka broker pid file %s", pid_file)
        pid_file.unlink(missing_ok=True)
        return None
    if _is_broker_process(pid, base_dir):
        return pid
    logger.info("removing stale Kafka broker pid file %s (pid %d is gone)", pid_file, pid)
    pid_file.unlink(missing_ok=True)
    return None


def _is_broker_process(pid: int, base_dir: Path) -> bool:
    """True when pid runs kafka.Kafka on base_dir's config (a reused pid does not count)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return MAIN_CLASS in cmdline and str(base_dir / "server.properties") in cmdline


def _terminate(pid: int, timeout: float, child: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM lets Kafka's shutdown hook close logs cleanly; SIGKILL only after the timeout."""
    started = time.monotonic()
    try:
        process = psutil.Process(pid)
        process.terminate()
    except psutil.NoSuchProcess:
        return
    if _wait_exited(process, child, timeout):
        logger.info("Kafka broker (pid %d) stopped in %.1f s", pid, time.monotonic() - started)
        return
    logger.warning(
        "the Kafka broker (pid %d) did not exit within %.0f s of SIGTERM; killing it", pid, timeout
    )
    with contextlib.suppress(psutil.NoSuchProcess):
        process.kill()
    if not _wait_exited(process, child, 10.0):
        raise KafkaBrokerError(f"the Kafka broker (pid {pid}) survived SIGKILL")


def _wait_exited(
    process: psutil.Process, child: subprocess.Popen[bytes] | None, timeout: float
) -> bool:
    """Wait until the process has exited; a zombie counts as exited.

    A broker stopped from another process than its starter stays a zombie until the starter
    reaps it, so waiting for its pid to vanish would never end.
    """
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _configured_bootstrap(base_dir: Path) -> str | None:
    """The PLAINTEXT listener named in base_dir's server.properties, if it was ever written."""
    try:
        text = (base_dir / "server.properties").read_text()
    except FileNotFoundError:
        return None
    match = re.search(r"^listeners=.*?PLAINTEXT://([^,\s]+)", text, flags=re.MULTILINE)
    return match.group(1) if match else None


def _tcp_connects(address: str) -> bool:
    host, _, port = address.strip().rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


def _port_taken(port: int) -> bool:
    """True when something listens on the loopback port (or holds it bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the broker itself does: connections that a stopped broker left in TIME_WAIT do
        # not keep a new one from listening.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _random_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes in URL-safe base64 without padding."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # Kafka's own generator avoids a leading dash, which command lines read as an option.
        if not cluster_id.startswith("-"):
            return cluster_id


def _check_sasl_user(name: str, password: str) -> None:
    if not _SASL_USER_PATTERN.match(name):
        raise ValueError(f"SASL user name {name!r} must match {_SASL_USER_PATTERN.pattern}")
    if not password or any(char in password for char in '"\\\n\r;'):
        raise ValueError(
            f"the password of SASL user {name!r} must be non-empty and contain no quote, "
            "backslash, semicolon or line break (it is written into a JAAS line)"
        )


def _plain_jaas(users: dict[str, str]) -> str:
    """The broker side of SASL/PLAIN: one user_NAME="password" option per accepted user."""
    options = " ".join(f'user_{name}="{password}"' for name, password in sorted(users.items()))
    return f"org.apache.kafka.common.security.plain.PlainLoginModule required {options};"


def _escape_property(value: str) -> str:
    # Java properties treat a backslash as an escape; Windows-style paths never occur here,
    # but a stray backslash would silently change a value.
    return value.replace("\\", "\\\\")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _die_with_parent_hook() -> Any:
    """A preexec_fn that makes Linux send SIGTERM to the JVM when its starter dies.

    This covers a starter killed with SIGKILL, whose exit handlers never run. Linux ties the
    signal to the thread that forked, so brokers are started from long-lived threads (the
    main thread of the CLI or of pytest). Elsewhere the atexit handler alone stops the broker.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        # The starter may have died between fork and prctl; then no signal would ever come.
        if os.getppid() != parent:
            os._exit(1)

    return hook
