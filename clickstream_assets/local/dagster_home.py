"""A DAGSTER_HOME for local use: SQLite storage under the data dir, no telemetry, no popups."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from clickstream_assets import settings


def instance_config(home: Path) -> dict:
    """The dagster.yaml of a local instance rooted at `home`."""
    return {
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
        "local_artifact_storage": {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": str(home / "artifacts")},
        },
        "compute_logs": {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(home / "compute_logs")},
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
        "concurrency": {
            # Two cores: a few runs at a time. The warehouse pool admits one writer at a time,
            # because the embedded warehouse file takes one writing process.
            "runs": {"max_concurrent_runs": 3},
            "pools": {"default_limit": 1},
        },
        "run_monitoring": {"enabled": True, "poll_interval_seconds": 30},
    }


def ensure_dagster_home() -> Path:
    """Create DAGSTER_HOME with its dagster.yaml when missing, export it, and return it.

    An existing dagster.yaml is left alone, so an operator's edits survive.
    """
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        tmp = config.with_name(".dagster.yaml.tmp")
        tmp.write_text(yaml.safe_dump(instance_config(home), sort_keys=False))
        os.replace(tmp, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
