import gzip
import json
import logging

import pytest

from clickstream_assets.local.mirror import DumpMirror, Fault
from clickstream_assets.resources.downloads import (
    DownloadError,
    TransferGaveUp,
    download_dump,
    validate_url,
)

PATH = "/other/clickstream/2024-10/clickstream-dewiki-2024-10.tsv.gz"
ROWS = 40_000
FAST = {"timeout": (2.0, 1.0), "max_attempts": 4, "backoff_s": 0.05}


@pytest.fixture
def mirror(tmp_path):
    with DumpMirror(tmp_path / "mirror", clickstream_rows=ROWS) as server:
        yield server


@pytest.fixture
def served(mirror) -> bytes:
    """The bytes the mirror serves for PATH (generated on the first request)."""
    download_dump(mirror.url + PATH, mirror.root / "warmup.gz", **FAST)
    mirror.requests_seen.clear()
    return (mirror.root / "warmup.gz").read_bytes()


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


def test_download_whole_dump_is_byte_identical(mirror, served, out):
    dest = out / "dump.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, **FAST)

    assert dest.read_bytes() == served
    assert result.bytes == len(served)
    assert (result.skipped, result.attempts, result.resumed) == (False, 1, 0)
    assert json.loads((dest.parent / "dump.tsv.gz.json").read_text())["bytes"] == len(served)


def test_download_existing_complete_file_is_skipped(mirror, served, out):
    dest = out / "dump.tsv.gz"
    download_dump(mirror.url + PATH, dest, **FAST)
    mirror.requests_seen.clear()

    result = download_dump(mirror.url + PATH, dest, **FAST)

    assert result.skipped
    assert mirror.requests_seen == []


def test_download_resumes_after_truncated_body(mirror, served, out):
    mirror.inject(PATH, Fault("truncate", after_bytes=len(served) // 3))
    dest = out / "dump.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, **FAST)

    assert dest.read_bytes() == served
    assert result.resumed == 1
    first, resume = (r for _, _, r in mirror.requests_seen)
    offset = int(resume.removeprefix("bytes=").removesuffix("-"))
    assert first is None
    assert 0 < offset <= len(served) // 3


def test_download_resumes_after_stalled_connection(mirror, served, out):
    mirror.inject(PATH, Fault("stall", after_bytes=len(served) // 2, stall_seconds=3))
    dest = out / "dump.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, **FAST)

    assert dest.read_bytes() == served
    assert result.resumed == 1


def test_download_honours_retry_after(mirror, served, out, caplog):
    mirror.inject(PATH, Fault("rate_limit", retry_after=1))
    dest = out / "dump.tsv.gz"

    with caplog.at_level(logging.WARNING):
        result = download_dump(mirror.url + PATH, dest, **FAST)

    assert dest.read_bytes() == served
    assert result.attempts == 2
    assert "HTTP 429; retrying in 1.0 s" in caplog.text


def test_download_retries_server_errors(mirror, served, out):
    mirror.inject(PATH, Fault("server_error", status=503, times=2))
    dest = out / "dump.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, **FAST)

    assert dest.read_bytes() == served
    assert result.attempts == 3


def test_download_gives_up_on_persistent_server_errors(mirror, served, out):
    mirror.inject(PATH, Fault("server_error", status=502, times=10))
    dest = out / "dump.tsv.gz"

    with pytest.raises(TransferGaveUp, match="gave up after 4 attempts; last: HTTP 502"):
        download_dump(mirror.url + PATH, dest, **FAST)

    assert leftovers(out) == []


def test_download_given_up_keeps_the_part_and_the_next_run_resumes(mirror, served, out):
    mirror.inject(PATH, Fault("truncate", after_bytes=len(served) // 2, times=4))
    dest = out / "dump.tsv.gz"
    with pytest.raises(TransferGaveUp):
        download_dump(mirror.url + PATH, dest, **{**FAST, "max_attempts": 1})
    assert leftovers(out) == ["dump.tsv.gz.part"]
    mirror.clear_faults()

    result = download_dump(mirror.url + PATH, dest, **FAST)

    assert dest.read_bytes() == served
    assert result.resumed == 1
    assert leftovers(out) == ["dump.tsv.gz", "dump.tsv.gz.json"]


def test_download_refuses_html_error_page_with_status_200(mirror, out):
    mirror.inject(PATH, Fault("html_200"))
    dest = out / "dump.tsv.gz"

    with pytest.raises(DownloadError, match="HTTP 200 with an HTML page"):
        download_dump(mirror.url + PATH, dest, **FAST)

    assert leftovers(out) == []


def test_download_404_names_the_url(mirror, out):
    url = mirror.url + "/other/clickstream/2024-10/clickstream-xxwiki-2024-10.tsv.gz"

    with pytest.raises(DownloadError, match=r"clickstream-xxwiki-2024-10.tsv.gz: 404 Not Found"):
        download_dump(url, out / "dump.tsv.gz", **FAST)

    assert leftovers(out) == []


def test_download_truncated_source_file_fails_and_leaves_nothing(mirror, served, out):
    broken = mirror.root / "other" / "broken.tsv.gz"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(served[: len(served) // 2])
    dest = out / "dump.tsv.gz"

    with pytest.raises(DownloadError, match="gzip stream ends early"):
        download_dump(mirror.url + "/other/broken.tsv.gz", dest, **FAST)

    assert leftovers(out) == []


def test_download_non_gzip_body_is_refused(mirror, out):
    plain = mirror.root / "other" / "plain.tsv.gz"
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_bytes(b"prev\tcurr\ttype\tn\n" * 10)

    with pytest.raises(DownloadError, match="the body is not gzip"):
        download_dump(mirror.url + "/other/plain.tsv.gz", out / "dump.tsv.gz", **FAST)

    assert leftovers(out) == []


def test_download_row_cap_streams_only_the_head(mirror, served, out):
    dest = out / "head.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, row_cap=1_000, **FAST)

    expected = gzip.decompress(served).splitlines(keepends=True)[:1_000]
    assert gzip.decompress(dest.read_bytes()).splitlines(keepends=True) == expected
    assert result.rows == 1_000


def test_download_row_cap_beyond_the_file_keeps_every_row(mirror, served, out):
    dest = out / "head.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, row_cap=10_000_000, **FAST)

    assert gzip.decompress(dest.read_bytes()) == gzip.decompress(served)
    assert result.rows == ROWS


def test_download_row_cap_resumes_mid_stream(mirror, served, out):
    mirror.inject(PATH, Fault("truncate", after_bytes=len(served) // 4))
    dest = out / "head.tsv.gz"

    result = download_dump(mirror.url + PATH, dest, row_cap=30_000, **FAST)

    expected = gzip.decompress(served).splitlines(keepends=True)[:30_000]
    assert gzip.decompress(dest.read_bytes()).splitlines(keepends=True) == expected
    assert result.resumed == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/x.gz", "dumps/x.gz", ""])
def test_validate_url_accepts_only_http(url):
    with pytest.raises(ValueError, match="absolute http"):
        validate_url(url)
