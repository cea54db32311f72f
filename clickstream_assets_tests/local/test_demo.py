import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from clickstream_assets.local.kafka_broker import free_port

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 420


def start_demo(env: dict[str, str], log: Path) -> subprocess.Popen:
    clickstream = Path(sys.executable).parent / "clickstream"
    return subprocess.Popen(
        [str(clickstream), "demo", "--offline"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_line(log: Path, text: str, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        if process.poll() is not None:
            pytest.fail(f"the demo exited with {process.returncode}:\n{content[-3000:]}")
        time.sleep(1)
    pytest.fail(f"no {text!r} within {READY_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def stop_and_check_nothing_is_left(process: subprocess.Popen) -> None:
    tree = psutil.Process(process.pid).children(recursive=True)
    assert any("dagster-webserver" in " ".join(p.cmdline()) for p in tree)

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)

    time.sleep(1)
    alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []


def asset_names(ui: str) -> set[str]:
    query = "{ assetNodes { assetKey { path } } }"
    response = requests.post(f"{ui}/graphql", json={"query": query}, timeout=30)
    return {"/".join(n["assetKey"]["path"]) for n in response.json()["data"]["assetNodes"]}


def test_demo_serves_the_ui_materializes_and_stops_cleanly(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        CLICKSTREAM_DATA_DIR=str(tmp_path / "data"),
        DAGSTER_WEBSERVER_PORT=str(port),
        CLICKSTREAM_MIRROR_PORT=str(free_port()),
        KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        DASHBOARD_PORT=str(free_port()),
    )
    env.pop("DAGSTER_HOME", None)
    env.pop("WIKIMEDIA_DUMPS_URL", None)
    log = tmp_path / "demo.log"
    demo = start_demo(env, log)

    output = wait_for_line(log, "ready:", demo)

    ui = f"http://127.0.0.1:{port}"
    assert "dumps: local mirror at http://127.0.0.1:" in output
    assert "(--offline was given)" in output
    assert "clickstream enwiki 2024-09: materialized" in output
    assert "clickstream enwiki 2024-10: materialized" in output
    assert requests.get(f"{ui}/server_info", timeout=10).status_code == 200
    assert {"clickstream_parquet", "page_exits", "pageview_topic", "session_metrics"} <= (
        asset_names(ui)
    )
    assert "warehouse: fakesnow at" in output
    assert "loaded and sessionized" in output
    dashboard = f"http://127.0.0.1:{env['DASHBOARD_PORT']}"
    assert f"dashboard: {dashboard}" in output
    assert requests.get(f"{dashboard}/_stcore/health", timeout=10).text == "ok"
    for month in ("2024-09", "2024-10"):
        parquet = (
            tmp_path / f"data/parquet/clickstream/wiki=dewiki/month={month}/clickstream.parquet"
        )
        assert parquet.exists()
    stop_and_check_nothing_is_left(demo)

    again = start_demo(env, log)
    output = wait_for_line(log, "ready:", again)
    assert "clickstream enwiki 2024-10: already materialized, kept" in output
    assert "already published, kept" in output
    stop_and_check_nothing_is_left(again)
