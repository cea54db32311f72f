"""The local mirror over real HTTP: files, ranges, listings, faults and on-demand dumps."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from clickstream_assets.local.generator import write_clickstream_dump
from clickstream_assets.local.mirror import DumpMirror, Fault

DUMP_PATH = "/other/clickstream/2024-10/clickstream-enwiki-2024-10.tsv.gz"
SMALL_ROWS = 2_000
SMALL_LINES = 2_000


def make_mirror(root: Path, **options) -> DumpMirror:
    return DumpMirror(root, clickstream_rows=SMALL_ROWS, pageview_lines=SMALL_LINES, **options)


def pageview_path(hour: datetime) -> str:
    return f"/other/pageviews/{hour:%Y}/{hour:%Y-%m}/pageviews-{hour:%Y%m%d-%H}0000.gz"


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    """A dump that already exists under the mirror's root, at its path on the real site."""
    path = tmp_path / "root" / DUMP_PATH.lstrip("/")
    write_clickstream_dump(path, wiki="enwiki", month="2024-10", rows=SMALL_ROWS)
    return path


@pytest.fixture
def mirror(tmp_path: Path, dump: Path) -> Iterator[DumpMirror]:
    with make_mirror(tmp_path / "root") as running:
        yield running


def test_get_whole_file_equals_file_bytes(mirror: DumpMirror, dump: Path) -> None:
    response = requests.get(mirror.url + DUMP_PATH, timeout=10)

    assert response.status_code == 200
    assert response.content == dump.read_bytes()
    assert response.headers["Content-Length"] == str(dump.stat().st_size)
    assert response.headers["Content-Type"] == "application/gzip"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "GMT" in response.headers["Last-Modified"]


def test_get_range_resume_concatenates_to_file(mirror: DumpMirror, dump: Path) -> None:
    size = dump.stat().st_size

    head = requests.get(mirror.url + DUMP_PATH, headers={"Range": "bytes=0-999"}, timeout=10)
    tail = requests.get(mirror.url + DUMP_PATH, headers={"Range": "bytes=1000-"}, timeout=10)

    assert (head.status_code, tail.status_code) == (206, 206)
    assert head.headers["Content-Range"] == f"bytes 0-999/{size}"
    assert tail.headers["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert head.content + tail.content == dump.read_bytes()


def test_get_range_past_end_416(mirror: DumpMirror, dump: Path) -> None:
    size = dump.stat().st_size

    response = requests.get(mirror.url + DUMP_PATH, headers={"Range": f"bytes={size}-"}, timeout=10)

    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


def test_head_headers_without_body(mirror: DumpMirror, dump: Path) -> None:
    response = requests.head(mirror.url + DUMP_PATH, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(dump.stat().st_size)
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/other/clickstream/2024-10/clickstream-enwiki-2024-11.tsv.gz",
        "/other/clickstream/2024-10/clickstream-xxwiki-2024-10.tsv.gz",
        "/other/clickstream/2016-10/clickstream-enwiki-2016-10.tsv.gz",
        "/other/pageviews/2024/2024-10/pageviews-20241001-250000.gz",
        "/other/nothing-here.gz",
        "/../etc/passwd",
    ],
)
def test_get_missing_or_invalid_404(mirror: DumpMirror, path: str) -> None:
    response = requests.get(mirror.url + path, timeout=10)

    assert response.status_code == 404


def test_get_directory_lists_files(mirror: DumpMirror) -> None:
    response = requests.get(mirror.url + "/other/clickstream/2024-10/", timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'href="clickstream-enwiki-2024-10.tsv.gz"' in response.text


def test_requests_seen_records_method_path_range(mirror: DumpMirror) -> None:
    requests.head(mirror.url + DUMP_PATH, timeout=10)
    requests.get(mirror.url + DUMP_PATH, headers={"Range": "bytes=5-"}, timeout=10)

    assert mirror.requests_seen == [("HEAD", DUMP_PATH, None), ("GET", DUMP_PATH, "bytes=5-")]


def test_fault_truncate_cuts_body_then_recovers(mirror: DumpMirror, dump: Path) -> None:
    mirror.inject(DUMP_PATH, Fault("truncate", after_bytes=500))

    with requests.get(mirror.url + DUMP_PATH, stream=True, timeout=10) as response:
        advertised = int(response.headers["Content-Length"])
        received = bytearray()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in response.iter_content(100):
                received += chunk
    recovered = requests.get(mirror.url + DUMP_PATH, timeout=10)

    assert advertised == dump.stat().st_size
    assert bytes(received) == dump.read_bytes()[:500]
    assert recovered.content == dump.read_bytes()


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (Fault("server_error", times=2), 503),
        (Fault("server_error", times=2, status=502), 502),
        (Fault("not_found", times=2), 404),
    ],
    ids=["503", "502", "404"],
)
def test_fault_status_for_times_then_recovers(
    mirror: DumpMirror, dump: Path, fault: Fault, status: int
) -> None:
    mirror.inject(DUMP_PATH, fault)

    statuses = [requests.get(mirror.url + DUMP_PATH, timeout=10).status_code for _ in range(3)]

    assert statuses == [status, status, 200]


def test_fault_rate_limit_sends_retry_after(mirror: DumpMirror) -> None:
    mirror.inject(DUMP_PATH, Fault("rate_limit", retry_after=7))

    limited = requests.get(mirror.url + DUMP_PATH, timeout=10)
    served = requests.get(mirror.url + DUMP_PATH, timeout=10)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert served.status_code == 200


def test_fault_html_200_serves_error_page(mirror: DumpMirror, dump: Path) -> None:
    mirror.inject(DUMP_PATH, Fault("html_200"))

    page = requests.get(mirror.url + DUMP_PATH, timeout=10)
    served = requests.get(mirror.url + DUMP_PATH, timeout=10)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"<html" in page.content
    assert served.content == dump.read_bytes()


def test_fault_stall_times_out_reader_then_recovers(mirror: DumpMirror, dump: Path) -> None:
    mirror.inject(DUMP_PATH, Fault("stall", after_bytes=100, stall_seconds=5))
    started = time.monotonic()

    with requests.get(mirror.url + DUMP_PATH, stream=True, timeout=(5, 0.5)) as response:
        received = bytearray()
        with pytest.raises(requests.exceptions.ConnectionError):
            for chunk in response.iter_content(100):
                received += chunk
    waited = time.monotonic() - started
    served = requests.get(mirror.url + DUMP_PATH, timeout=10)

    assert bytes(received) == dump.read_bytes()[:100]
    assert waited < 4
    assert served.content == dump.read_bytes()


def test_fault_head_keeps_body_fault_for_get(mirror: DumpMirror, dump: Path) -> None:
    mirror.inject(DUMP_PATH, Fault("truncate", after_bytes=10))

    head = requests.head(mirror.url + DUMP_PATH, timeout=10)
    with (
        requests.get(mirror.url + DUMP_PATH, stream=True, timeout=10) as response,
        pytest.raises(requests.exceptions.ChunkedEncodingError),
    ):
        b"".join(response.iter_content(100))

    assert head.headers["Content-Length"] == str(dump.stat().st_size)


def test_clear_faults_serves_normally(mirror: DumpMirror) -> None:
    mirror.inject(DUMP_PATH, Fault("server_error", times=5))

    mirror.clear_faults()

    assert requests.get(mirror.url + DUMP_PATH, timeout=10).status_code == 200


def test_generate_clickstream_same_url_same_bytes(tmp_path: Path) -> None:
    path = "/other/clickstream/2024-09/clickstream-dewiki-2024-09.tsv.gz"

    with (
        make_mirror(tmp_path / "a", seed=5) as first,
        make_mirror(tmp_path / "b", seed=5) as second,
    ):
        one = requests.get(first.url + path, timeout=30)
        two = requests.get(second.url + path, timeout=30)

    rows = gzip.decompress(one.content).decode().splitlines()
    assert one.status_code == two.status_code == 200
    assert one.content == two.content
    assert len(rows) == SMALL_ROWS
    assert (tmp_path / "a" / path.lstrip("/")).read_bytes() == one.content


def test_generate_concurrent_requests_generate_once(tmp_path: Path) -> None:
    path = "/other/clickstream/2024-08/clickstream-frwiki-2024-08.tsv.gz"
    bodies: list[bytes] = []

    with make_mirror(tmp_path / "root") as running:
        threads = [
            threading.Thread(
                target=lambda: bodies.append(requests.get(running.url + path, timeout=30).content)
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    folder = tmp_path / "root" / "other" / "clickstream" / "2024-08"
    assert len(bodies) == 4 and len(set(bodies)) == 1
    assert [entry.name for entry in folder.iterdir()] == ["clickstream-frwiki-2024-08.tsv.gz"]


def test_generate_pageviews_past_hour_served(tmp_path: Path) -> None:
    hour = datetime(2024, 10, 1, 5, tzinfo=UTC)

    with make_mirror(tmp_path / "root") as running:
        response = requests.get(running.url + pageview_path(hour), timeout=30)

    lines = gzip.decompress(response.content).decode().splitlines()
    assert response.status_code == 200
    assert len(lines) == SMALL_LINES
    assert lines[0].split(" ")[0] == "aa"


@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(hours=2)], ids=["current", "future"])
def test_generate_pageviews_unpublished_hour_404(tmp_path: Path, ahead: timedelta) -> None:
    hour = datetime.now(UTC) + ahead

    with make_mirror(tmp_path / "root") as running:
        response = requests.get(running.url + pageview_path(hour), timeout=10)

    assert response.status_code == 404
    assert not (tmp_path / "root" / pageview_path(hour).lstrip("/")).exists()


def test_generate_off_serves_only_existing_files(tmp_path: Path) -> None:
    with make_mirror(tmp_path / "root", generate=False) as running:
        response = requests.get(running.url + DUMP_PATH, timeout=10)

    assert response.status_code == 404
