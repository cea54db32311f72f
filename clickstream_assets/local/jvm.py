"""The JVM parts of the local stack: jars that Maven resolves from `jvm/pom.xml`.

Each part is a Maven profile of that pom and gets its own folder under `<data dir>/jvm/`,
because the Kafka broker and Spark's Kafka connector need different kafka-clients versions and
must never share a classpath. Maven runs once per part; a marker file written after a
successful copy (holding a hash of the pom) says the folder is complete, so a copy that was
interrupted, or one made from an older pom, is resolved again rather than used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from clickstream_assets import settings

logger = logging.getLogger(__name__)

KAFKA_BROKER = "kafka-broker"
SPARK_KAFKA = "spark-kafka"
# Each part is both the name of a profile in jvm/pom.xml and the name of its folder.
PARTS = (KAFKA_BROKER, SPARK_KAFKA)

MARKER_NAME = ".complete.json"
POM_PATH = settings.JVM_DIR / "pom.xml"
# Resolving the broker's ~45 jars from Maven Central takes well under a minute on a fresh
# machine; this bound only keeps a hung network from blocking forever.
MVN_TIMEOUT_S = 900


class JvmArtifactsError(RuntimeError):
    """Maven or Java is missing, or Maven could not resolve a part of jvm/pom.xml."""


def java_executable() -> str:
    """The `java` that runs the broker: `$JAVA_HOME/bin/java`, else the one on PATH."""
    home = settings.java_home()
    if home is not None:
        candidate = home / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise JvmArtifactsError(
            f"JAVA_HOME is {home}, but {candidate} is not an executable; point JAVA_HOME at a "
            "Java 17 (or newer) JDK or unset it to use the java on PATH"
        )
    found = shutil.which("java")
    if found is None:
        raise JvmArtifactsError(
            "java was not found on PATH; the local Kafka broker and Spark need Java 17 or newer "
            "(Debian: apt-get install openjdk-17-jre-headless), or set JAVA_HOME"
        )
    return found


def mvn_executable() -> str:
    found = shutil.which("mvn")
    if found is None:
        raise JvmArtifactsError(
            f"mvn was not found on PATH; Maven 3.8 or newer resolves the jars named in {POM_PATH} "
            "(Debian: apt-get install maven)"
        )
    return found


def part_dir(part: str) -> Path:
    """The folder that holds the jars of one part, whether or not they were resolved yet."""
    _check_part(part)
    return settings.jvm_dir() / part


def artifacts_present(part: str) -> bool:
    """True when the part's folder holds a complete copy made from the current pom."""
    folder = part_dir(part)
    marker = folder / MARKER_NAME
    try:
        recorded = json.loads(marker.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    jars = recorded.get("jars", [])
    return (
        recorded.get("pom_sha256") == _pom_sha256()
        and bool(jars)
        and all((folder / name).is_file() for name in jars)
    )


def ensure_jvm_artifacts(part: str) -> Path:
    """Resolve one part of jvm/pom.xml with Maven unless a complete copy exists; return its folder.

    Maven copies into a temporary sibling folder that is renamed into place only after it
    succeeded, so a killed run never leaves a folder that looks complete. A lock file keeps two
    processes (the CLI and a test run, say) from resolving the same part at once.
    """
    folder = part_dir(part)
    if artifacts_present(part):
        return folder

    java_executable()
    mvn = mvn_executable()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{part}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if artifacts_present(part):
            return folder
        _resolve(mvn, part, folder)
    return folder


def kafka_broker_classpath() -> str:
    """The broker's classpath (its jars joined with the path separator), resolving it if needed."""
    return os.pathsep.join(str(jar) for jar in _jars(ensure_jvm_artifacts(KAFKA_BROKER)))


def spark_kafka_jars() -> list[Path]:
    """The jars that Spark's `kafka` source needs beyond those pip's pyspark ships."""
    return _jars(ensure_jvm_artifacts(SPARK_KAFKA))


def mvn_command(part: str, output_dir: Path) -> list[str]:
    """The Maven command that copies one part's jars into `output_dir` (also for the README)."""
    _check_part(part)
    return [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(POM_PATH),
        "-P",
        part,
        "dependency:copy-dependencies",
        f"-DoutputDirectory={output_dir}",
    ]


def _resolve(mvn: str, part: str, folder: Path) -> None:
    # Copies that a killed run left behind; the caller holds the lock, so none is in progress.
    for leftover in folder.parent.glob(f".{part}.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{part}.partial-", dir=folder.parent))
    command = [mvn, *mvn_command(part, staging)[1:]]
    logger.info("resolving JVM artifacts %r from %s into %s with Maven", part, POM_PATH, folder)
    started = time.monotonic()
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=MVN_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            tail = "\n".join(output[-40:])
            raise JvmArtifactsError(
                f"Maven failed (exit {result.returncode}) resolving {part!r} from {POM_PATH}:\n"
                f"  {' '.join(command)}\n{tail}"
            )
        jars = sorted(path.name for path in staging.glob("*.jar"))
        if not jars:
            raise JvmArtifactsError(
                f"Maven succeeded but copied no jars for profile {part!r} of {POM_PATH}; "
                "does the pom still define that profile?"
            )
        marker = {"pom_sha256": _pom_sha256(), "jars": jars}
        (staging / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n")
        # mkdtemp makes the folder private; the jars are meant for every local user.
        staging.chmod(0o755)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)

    size_mb = sum((folder / name).stat().st_size for name in jars) / 1e6
    logger.info(
        "copied %d jars (%.1f MB) for %r into %s in %.1f s",
        len(jars),
        size_mb,
        part,
        folder,
        time.monotonic() - started,
    )


def _jars(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jar"))


def _pom_sha256() -> str:
    return hashlib.sha256(POM_PATH.read_bytes()).hexdigest()


def _check_part(part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"unknown JVM part {part!r}; jvm/pom.xml defines {', '.join(PARTS)}")
