"""A robust HTTP downloader for Wikimedia's gzip dumps.

It streams with `requests`, retries with exponential backoff (honouring Retry-After on 429 and
503), resumes an interrupted transfer with a Range request, refuses HTML error pages served
with status 200, checks the byte count and that the gzip stream is complete, and only then
renames the file into place, so a file at the destination is always a whole dump.

With a row cap it streams only the head of the dump: the body is decompressed as it arrives,
the first N lines are written to a new gzip file and the connection is closed.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests
from isal import igzip

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
# Small enough that a broken connection loses little (a partly read chunk is dropped), large
# enough that the loop costs nothing next to the network.
CHUNK_BYTES = 64 << 10
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}

ProgressCallback = Callable[[int, int | None], None]


class DownloadError(RuntimeError):
    """A dump could not be downloaded; the message names the URL and what went wrong."""


class TransferGaveUp(DownloadError):
    """Every attempt broke off; the partial file is kept so the next run resumes it."""


@dataclass(frozen=True)
class DownloadResult:
    url: str
    path: Path
    bytes: int
    rows: int | None
    duration_s: float
    attempts: int
    resumed: int
    skipped: bool


def validate_url(url: str) -> str:
    """Accept only absolute http(s) URLs: a dump URL comes from run config, so check it."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"dump URL must be an absolute http(s) URL, got {url!r}")
    return url


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def _read_sidecar(dest: Path) -> dict | None:
    try:
        return json.loads(_sidecar(dest).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _existing_download(dest: Path, url: str, row_cap: int | None) -> DownloadResult | None:
    """A previous complete download of the same URL and cap, or None."""
    meta = _read_sidecar(dest)
    if not dest.exists() or meta is None:
        return None
    if meta.get("url") != url or meta.get("row_cap") != row_cap:
        return None
    if meta.get("bytes") != dest.stat().st_size:
        return None
    return DownloadResult(url, dest, meta["bytes"], meta.get("rows"), 0.0, 0, 0, skipped=True)


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _FileSink:
    """Writes the compressed body as it arrives; resumable at any byte offset."""

    def __init__(self, part: Path):
        self.part = part
        self.offset = part.stat().st_size if part.exists() else 0
        self._file = part.open("ab")
        self.rows = None

    @property
    def done(self) -> bool:
        return False

    def restart(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self.offset = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.offset += len(chunk)

    def close(self) -> None:
        self._file.close()

    def verify(self, url: str) -> None:
        """Decompress the whole file: a truncated or corrupt gzip stream fails here."""
        try:
            with igzip.open(self.part, "rb") as stream:
                while stream.read(8 * CHUNK_BYTES):
                    pass
        except EOFError as exc:
            raise DownloadError(
                f"{url}: the gzip stream ends early (truncated dump of {self.offset:,} bytes)"
            ) from exc
        except (OSError, zlib.error) as exc:
            raise DownloadError(f"{url}: the body is not a valid gzip stream ({exc})") from exc


class _HeadSink:
    """Decompresses as bytes arrive and keeps the first `row_cap` lines in a new gzip file."""

    def __init__(self, part: Path, row_cap: int):
        self.part = part
        self.row_cap = row_cap
        self.offset = 0
        self.rows = 0
        self._inflate = zlib.decompressobj(wbits=31)
        self._out = igzip.open(part, "wb", compresslevel=1)
        self._tail = b""
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def restart(self) -> None:
        self._out.close()
        self.__init__(self.part, self.row_cap)

    def write(self, chunk: bytes) -> None:
        self.offset += len(chunk)
        try:
            data = self._inflate.decompress(chunk)
        except zlib.error as exc:
            raise DownloadError(f"the body is not a valid gzip stream ({exc})") from exc
        self._keep_lines(self._tail + data)
        if self._inflate.eof and not self._done and self._tail:
            # A dump whose last line has no newline: keep it as the final row.
            self._keep_lines(self._tail + b"\n")

    def _keep_lines(self, data: bytes) -> None:
        if self._done:
            return
        cut = data.rfind(b"\n") + 1
        complete, self._tail = data[:cut], data[cut:]
        wanted = self.row_cap - self.rows
        lines = complete.count(b"\n")
        if lines >= wanted:
            end = -1
            for _ in range(wanted):
                end = complete.index(b"\n", end + 1)
            complete = complete[: end + 1]
            lines = wanted
            self._done = True
            self._tail = b""
        self._out.write(complete)
        self.rows += lines

    def close(self) -> None:
        self._out.close()

    def verify(self, url: str) -> None:
        if not self._done and not self._inflate.eof:
            raise DownloadError(
                f"{url}: the gzip stream ends early after {self.offset:,} bytes "
                f"and {self.rows:,} rows (truncated dump)"
            )


def download_dump(
    url: str,
    dest: Path,
    *,
    row_cap: int | None = None,
    timeout: tuple[float, float] = (10.0, 60.0),
    max_attempts: int = 6,
    backoff_s: float = 1.0,
    max_wait_s: float = 120.0,
    progress: ProgressCallback | None = None,
    session: requests.Session | None = None,
) -> DownloadResult:
    """Download the gzip dump at `url` to `dest`, or its first `row_cap` lines.

    A complete earlier download of the same URL and cap is kept as it is. Nothing is left at
    `dest` unless the whole transfer succeeded and the gzip stream checked out.
    """
    validate_url(url)
    if row_cap is not None and row_cap <= 0:
        raise ValueError(f"row cap must be a positive number of rows, got {row_cap}")
    existing = _existing_download(dest, url, row_cap)
    if existing is not None:
        log.info("%s is already downloaded (%s bytes); skipping", dest, f"{existing.bytes:,}")
        return existing

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + (".head.part" if row_cap else ".part"))
    if row_cap:
        part.unlink(missing_ok=True)
    sink = _HeadSink(part, row_cap) if row_cap else _FileSink(part)
    if sink.offset:
        log.info("resuming the partial download %s at byte %s", part, f"{sink.offset:,}")
    started = time.monotonic()
    try:
        attempts, resumed = _transfer(
            url,
            sink,
            session or requests.Session(),
            timeout,
            max_attempts,
            backoff_s,
            max_wait_s,
            progress,
        )
        sink.close()
        sink.verify(url)
    except BaseException as exc:
        sink.close()
        if row_cap or not isinstance(exc, TransferGaveUp) or _is_empty(part):
            part.unlink(missing_ok=True)
        raise

    size = part.stat().st_size
    os.replace(part, dest)
    result = DownloadResult(
        url, dest, size, sink.rows, time.monotonic() - started, attempts, resumed, False
    )
    _write_sidecar(dest, result, row_cap)
    return result


def _write_sidecar(dest: Path, result: DownloadResult, row_cap: int | None) -> None:
    meta = asdict(result) | {"path": str(result.path), "row_cap": row_cap}
    tmp = _sidecar(dest).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, _sidecar(dest))


def _transfer(
    url: str,
    sink: _FileSink | _HeadSink,
    session: requests.Session,
    timeout: tuple[float, float],
    max_attempts: int,
    backoff_s: float,
    max_wait_s: float,
    progress: ProgressCallback | None,
) -> tuple[int, int]:
    """Stream the body into `sink`, resuming and retrying; returns (attempts, resumes)."""
    attempts = resumed = 0
    total: int | None = None
    while True:
        attempts += 1
        headers = {"Accept-Encoding": "identity"}
        if sink.offset:
            headers["Range"] = f"bytes={sink.offset}-"
            resumed += 1
        try:
            with session.get(url, headers=headers, stream=True, timeout=timeout) as response:
                wait = _check_response(url, response, sink, attempts, max_attempts)
                if wait is None:
                    total = _expected_total(response, sink)
                    if total is not None and sink.offset >= total:
                        return attempts, resumed
                    _stream_body(url, response, sink, total, progress)
                    if sink.done or total is None or sink.offset >= total:
                        return attempts, resumed
                    reason = f"connection closed at {sink.offset:,} of {total:,} bytes"
                else:
                    reason = f"HTTP {response.status_code}"
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            wait = None
        if attempts >= max_attempts:
            raise TransferGaveUp(f"{url}: gave up after {attempts} attempts; last: {reason}")
        delay = min(max_wait_s, wait if wait is not None else _backoff(backoff_s, attempts))
        log.warning(
            "%s: %s; retrying in %.1f s (attempt %d of %d, resuming at byte %s)",
            url,
            reason,
            delay,
            attempts + 1,
            max_attempts,
            f"{sink.offset:,}",
        )
        time.sleep(delay)


def _backoff(base: float, attempt: int) -> float:
    return base * 2 ** (attempt - 1) * (0.5 + random.random() / 2)


def _check_response(
    url: str,
    response: requests.Response,
    sink: _FileSink | _HeadSink,
    attempts: int,
    max_attempts: int,
) -> float | None:
    """Raise on a final failure; return a wait in seconds for a retryable one, else None."""
    status = response.status_code
    if status in RETRYABLE_STATUS:
        return _retry_after_seconds(response) or _backoff(1.0, attempts)
    if status == 416 and sink.offset:
        # The partial file is not a prefix the server can continue: start over.
        sink.restart()
        return 0.0
    if status == 404:
        raise DownloadError(
            f"{url}: 404 Not Found (the dump is not published, or the URL is wrong)"
        )
    if status not in (200, 206):
        raise DownloadError(f"{url}: unexpected HTTP {status} {response.reason}")
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type.lower():
        raise DownloadError(
            f"{url}: the server answered HTTP {status} with an HTML page ({content_type}), "
            "not a gzip dump"
        )
    if status == 200 and sink.offset:
        log.warning("%s: the server ignored the Range request; downloading from the start", url)
        sink.restart()
    return None


def _expected_total(response: requests.Response, sink: _FileSink | _HeadSink) -> int | None:
    if response.status_code == 206:
        content_range = response.headers.get("Content-Range", "")
        start, _, total = content_range.removeprefix("bytes ").partition("/")
        if int(start.split("-")[0]) != sink.offset:
            raise DownloadError(f"server resumed at {content_range!r}, expected {sink.offset}")
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _stream_body(
    url: str,
    response: requests.Response,
    sink: _FileSink | _HeadSink,
    total: int | None,
    progress: ProgressCallback | None,
) -> None:
    first = sink.offset == 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            if first:
                if not chunk.startswith(GZIP_MAGIC):
                    raise DownloadError(
                        f"{url}: the body is not gzip (it starts with {chunk[:16]!r})"
                    )
                first = False
            sink.write(chunk)
            if progress is not None:
                progress(sink.offset, total)
            if sink.done:
                return
    except requests.exceptions.ChunkedEncodingError as exc:
        raise requests.ConnectionError(str(exc)) from exc


def _is_empty(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0
