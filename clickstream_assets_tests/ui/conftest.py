"""Fixtures of the browser tests: materialized data, the Dagster webserver, and headless
Chromium (Debian's package, which `.ci/run` installs) driven by Playwright."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from clickstream_assets import settings
from clickstream_assets.clickstream.assets import clickstream_assets
from clickstream_assets.clickstream.checks import clickstream_checks
from clickstream_assets.local.dagster_home import ensure_dagster_home
from clickstream_assets.local.kafka_broker import free_port
from clickstream_assets.local.mirror import DumpMirror
from clickstream_assets.local.processes import ProcessGroup, child_env, wait_for_http
from clickstream_assets.pageviews.assets import pageview_dump, pageview_profile
from clickstream_assets.resources.dump_source import DumpSourceResource
from clickstream_assets.resources.warehouse import warehouse_from_env
from clickstream_assets.sessions.store import merge_sessions
from clickstream_assets.warehouse.runner import bootstrap
from clickstream_assets_tests.reading.materialized import materialize_partitions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PARTITIONS = ("2024-10-01|enwiki", "2024-09-01|enwiki")
ROWS = 4_000
PAGEVIEW_HOUR = "2024-10-01-13:00"
# Sessions of three projects in one hour, as the sessionizer would have merged them.
SESSIONS = [
    {
        "project": project,
        "session_start": "2024-10-01 13:00:00",
        "session_end": "2024-10-01 13:10:00",
        "events": events,
        "total_views": views,
        "total_bytes": views * 1_000,
    }
    for project, events, views in (("en", 120, 4_321), ("de", 40, 1_234), ("ja", 10, 99))
]
# Flags that keep Chromium off the network it cannot reach here, and root-safe.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = settings.REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def materialized_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data dir with a Dagster instance in which two enwiki months are materialized."""
    data = tmp_path_factory.mktemp("ui") / "data"
    saved = {key: os.environ.get(key) for key in ("CLICKSTREAM_DATA_DIR", "DAGSTER_HOME")}
    os.environ["CLICKSTREAM_DATA_DIR"] = str(data)
    os.environ.pop("DAGSTER_HOME", None)
    ensure_dagster_home()
    try:
        with DumpMirror(data.parent / "mirror", clickstream_rows=ROWS) as mirror:
            instance = DagsterInstance.get()
            source = DumpSourceResource(base_url=mirror.url, backoff_s=0.05)
            clickstream = [*clickstream_assets, *clickstream_checks]
            materialize_partitions(instance, source, clickstream, PARTITIONS)
            materialize_partitions(
                instance, source, [pageview_dump, pageview_profile], [PAGEVIEW_HOUR]
            )
        warehouse = warehouse_from_env()
        bootstrap(warehouse)
        merge_sessions(warehouse, SESSIONS)
        yield data
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def dagster_ui(materialized_data: Path) -> Iterator[str]:
    """The Dagster webserver on the materialized instance; its base URL."""
    port = free_port()
    env = child_env(
        CLICKSTREAM_DATA_DIR=str(materialized_data),
        DAGSTER_HOME=str(materialized_data / "dagster_home"),
    )
    group = ProcessGroup()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    workspace = str(settings.REPO_ROOT / "workspace.yaml")
    args = [str(webserver), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)]
    group.start("dagster-webserver", args, env, materialized_data / "logs")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/server_info", timeout_s=180, group=group)
        yield url
    finally:
        group.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (`.ci/run` does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ (kept by CI) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture(scope="session")
def dashboard_url(materialized_data: Path, dagster_ui: str) -> Iterator[str]:
    """The Streamlit dashboard on the materialized data dir; its base URL."""
    port = free_port()
    env = child_env(
        CLICKSTREAM_DATA_DIR=str(materialized_data),
        DAGSTER_HOME=str(materialized_data / "dagster_home"),
        DAGSTER_WEBSERVER_URL=dagster_ui,
    )
    streamlit = Path(sys.executable).parent / "streamlit"
    args = [
        str(streamlit),
        "run",
        str(settings.REPO_ROOT / "dashboard" / "app.py"),
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--runner.magicEnabled=false",
    ]
    group = ProcessGroup()
    group.start("dashboard", args, env, materialized_data / "logs")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/_stcore/health", timeout_s=120, group=group)
        yield url
    finally:
        group.stop()
