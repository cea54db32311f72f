"""Helpers shared by the benchmarks: child-process measurement, tables and the README section.

Every measured variant runs in a child process of its own, so its peak memory is its own and
not the high-water mark of whatever ran before it in the same interpreter. The parent reaps
each child with `os.wait4`, which returns that one child's CPU time and peak RSS without
polling. Linux carries the RSS a child had between fork and exec (a copy of the parent's)
into that peak, so a Python child reports its own high-water mark from `/proc/self/status`
instead (`VmHWM` belongs to the memory map exec created), and the parent keeps itself lean
so that the fork-time copy of a non-Python child stays small.

The machines these run on are shared, so each measurement also records how many cores other
processes kept busy meanwhile; a table that shows it can be read honestly.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
SECTION_START = "<!-- performance:start -->"
SECTION_END = "<!-- performance:end -->"
# The child's answer to the parent is the last stdout line that starts with this tag, so
# anything a library prints on stdout cannot be mistaken for it.
RESULT_TAG = "BENCHMARK-RESULT "


@dataclass
class Measurement:
    """One run of one variant in a child process."""

    seconds: float
    peak_rss_bytes: int
    cpu_seconds: float
    others_cores: float
    payload: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / 2**20


def _busy_cpu_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def run_child(command: Sequence[str], cwd: Path = REPO_ROOT, check: bool = True) -> Measurement:
    """Run a command to completion and measure it.

    `seconds` is the child's own timing of its work when it reports one (see `report`), so
    interpreter start-up and imports are left out; otherwise the wall time of the process.
    A child that exits non-zero fails the call with its stderr, or with `check=False` gives a
    measurement whose `error` is the last line of its stderr.
    """
    busy_before = _busy_cpu_seconds()
    started = time.perf_counter()
    child = subprocess.Popen(
        list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Both pipes are read to the end before reaping, so a chatty child never blocks on a full
    # pipe; then wait4 reaps it and hands back the usage of this child alone.
    stdout, stderr = _drain(child)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    busy = _busy_cpu_seconds() - busy_before

    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, (busy - cpu) / wall)
    if child.returncode != 0:
        if check:
            raise RuntimeError(
                f"{' '.join(command)} exited with {child.returncode}:\n{stderr.strip()[-3000:]}"
            )
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {child.returncode}"
        return Measurement(float("nan"), 0, cpu, others, error=last)
    payload = _payload(stdout)
    return Measurement(
        seconds=payload.get("seconds", wall),
        # Linux reports ru_maxrss in kibibytes.
        peak_rss_bytes=payload.get("peak_rss_bytes", usage.ru_maxrss * 1024),
        cpu_seconds=cpu,
        others_cores=others,
        payload=payload,
    )


def _drain(child: subprocess.Popen) -> tuple[str, str]:
    # communicate() would also wait() for the child, reaping it before wait4 could; reading
    # stderr on a thread while stdout is read here is as safe against a full pipe.
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(child.stderr.read()), daemon=True)
    reader.start()
    stdout = child.stdout.read()
    reader.join()
    child.stdout.close()
    child.stderr.close()
    return stdout, chunks[0] if chunks else ""


def _payload(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line.removeprefix(RESULT_TAG))
    return {}


def report(payload: dict[str, Any]) -> None:
    """In a child: hand the parent its result (at least `seconds`) and its peak RSS, plus
    `children_peak_rss_bytes` when the payload says what the processes it started held."""
    peak = own_peak_rss_bytes()
    if peak is not None:
        payload = {**payload, "peak_rss_bytes": peak + payload.get("children_peak_rss_bytes", 0)}
    sys.stdout.write(RESULT_TAG + json.dumps(payload) + "\n")
    sys.stdout.flush()


def own_peak_rss_bytes() -> int | None:
    """This process's peak RSS since it was exec'd (`VmHWM`), where /proc provides it."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """Run `work` and return its result with the wall seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def best(runs: Sequence[Measurement]) -> Measurement:
    """The fastest run, carrying the highest peak RSS seen in any run (memory is not noise).

    When any run failed, the first failure, since a variant that fails has no time to show.
    """
    failed = [run for run in runs if run.error is not None]
    if failed:
        return failed[0]
    fastest = min(runs, key=lambda run: run.seconds)
    return Measurement(
        seconds=fastest.seconds,
        peak_rss_bytes=max(run.peak_rss_bytes for run in runs),
        cpu_seconds=fastest.cpu_seconds,
        others_cores=fastest.others_cores,
        payload=fastest.payload,
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; numbers are right-aligned."""
    cells = [[str(value) for value in row] for row in rows]
    numeric = [
        all(re.fullmatch(r"[-+]?[\d,.]+[x%]?|—|failed", row[i]) for row in cells)
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if right else "---" for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def machine_note() -> str:
    """One line naming the machine and the date, for the head of a results table."""
    cpu = _cpu_model() or platform.processor() or platform.machine()
    memory_gb = psutil.virtual_memory().total / 2**30
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return (
        f"Measured {today} on {os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}."
    )


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def write_readme_section(name: str, body: str, readme: Path = README) -> None:
    """Put `body` under `### name` between the README's performance markers.

    Only that subsection is replaced (or appended when new); the text before the first
    subsection and every other benchmark's subsection stay as they are. Written atomically.
    """
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} lacks the markers {SECTION_START} ... {SECTION_END}")
    inside = text[start + len(SECTION_START) : end]

    intro, sections = _split_sections(inside)
    sections[name] = body.strip()
    parts = [intro.strip()] if intro.strip() else []
    parts += [f"### {title}\n\n{content}" for title, content in sections.items()]
    new_inside = "\n" + "\n\n".join(parts) + "\n"

    updated = text[: start + len(SECTION_START)] + new_inside + text[end:]
    tmp = readme.with_name(f".{readme.name}.{os.getpid()}.tmp")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, readme)


def _split_sections(inside: str) -> tuple[str, dict[str, str]]:
    """The text before the first `### ` heading, and each subsection's body by its title."""
    pieces = re.split(r"^### (.+)$", inside, flags=re.MULTILINE)
    intro, sections = pieces[0], {}
    for title, content in zip(pieces[1::2], pieces[2::2], strict=True):
        sections[title.strip()] = content.strip()
    return intro, sections
