"""Child processes of the demo (webserver, daemon, dashboard): start, wait until ready, stop."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

log = logging.getLogger(__name__)


@dataclass
class ChildProcess:
    name: str
    process: subprocess.Popen
    log_path: Path


@dataclass
class ProcessGroup:
    """Processes started together and stopped together, newest first."""

    children: list[ChildProcess] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> ChildProcess:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab") as out:
            # A session of its own: Ctrl+C in the terminal reaches only the demo, which then
            # stops its children in order instead of all at once.
            process = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = ChildProcess(name, process, log_path)
        self.children.append(child)
        log.info("started %s (pid %d), log at %s", name, process.pid, log_path)
        return child

    def check_alive(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                tail = child.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{child.name} exited with code {code}; its log ends:\n{tail}")

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every child and its descendants, then SIGKILL what outlives the timeout."""
        for child in reversed(self.children):
            stop_tree(child.process.pid, timeout_s)
            log.info("stopped %s", child.name)
        self.children.clear()


def stop_tree(pid: int, timeout_s: float = 20.0) -> None:
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    tree = [*parent.children(recursive=True), parent]
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def wait_for_http(url: str, timeout_s: float, group: ProcessGroup | None = None) -> None:
    """Poll `url` until it answers with a status below 500."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if group is not None:
            group.check_alive()
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env
