"""A local HTTP mirror of dumps.wikimedia.org, for demos, tests and CI without the internet.

It serves a folder laid out like the real site (`/other/clickstream/2024-10/...`,
`/other/pageviews/2024/2024-10/...`) on 127.0.0.1 with the headers a downloader relies on:
Content-Length, Last-Modified, Accept-Ranges and single byte ranges (206, 416). A dump that
is asked for but not yet on disk is generated there first with the synthetic generator, so
any published month or past hour can be downloaded; the same URL always gives the same bytes.

Tests make it misbehave on purpose with `inject(path, Fault(...))`: cut a body short, stall,
answer 503 or 429, return an HTML error page with status 200, or 404 — each for a number of
requests, after which the path is served normally again.
"""

from __future__ import annotations

import email.utils
import html
import logging
import mimetypes
import re
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from clickstream_assets import settings
from clickstream_assets.local.generator import write_clickstream_dump, write_pageview_dump

log = logging.getLogger(__name__)

STREAM_CHUNK_BYTES = 1 << 20
FAULT_KINDS = ("truncate", "server_error", "rate_limit", "html_200", "stall", "not_found")
# Faults that only make sense with a body; a HEAD request is served normally and keeps them.
BODY_FAULTS = ("truncate", "stall")

CLICKSTREAM_PATH = re.compile(
    r"^/other/clickstream/(?P<ym>\d{4}-\d{2})/clickstream-(?P<wiki>[a-z]+)-(?P=ym)\.tsv\.gz$"
)
PAGEVIEW_PATH = re.compile(
    r"^/other/pageviews/(?P<y>\d{4})/(?P=y)-(?P<m>\d{2})/"
    r"pageviews-(?P=y)(?P=m)(?P<d>\d{2})-(?P<h>\d{2})0000\.gz$"
)
# The first hour of the pageviews dataset on the real site.
FIRST_PAGEVIEW_HOUR = datetime(2015, 5, 1, tzinfo=UTC)

# What Wikimedia's edge returns when a backend fails: a page for humans, with status 200 from
# some caches, which a careless downloader would save as a dump.
HTML_ERROR_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Wikimedia Error</title></head>
<body>
<h1>Error</h1>
<p>Our servers are currently under maintenance or experiencing a technical problem.
Please try again in a few minutes.</p>
<p>See the error message at the bottom of this page for more information.</p>
<hr><code>Request from 127.0.0.1 via cp3066 cp3066, Varnish XID 123456789<br>
Upstream caches: cp3066 int<br>Error: 503, Backend fetch failed</code>
</body>
</html>
"""


@dataclass
class Fault:
    """A misbehaviour the mirror shows for the next `times` requests of one path.

    - `truncate`: advertise the full Content-Length, send `after_bytes` bytes, close.
    - `server_error`: answer `status` (503 unless set) with a short text body.
    - `rate_limit`: answer 429 with `Retry-After: retry_after`.
    - `html_200`: answer 200 with an HTML error page instead of the file.
    - `stall`: send headers and `after_bytes` bytes, send nothing for `stall_seconds`, close.
    - `not_found`: answer 404 as if the file did not exist.
    """

    kind: str
    times: int = 1
    after_bytes: int = 0
    status: int = 503
    retry_after: int = 1
    stall_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError(f"fault times must be at least 1, got {self.times}")


@dataclass
class _ActiveFault:
    fault: Fault
    remaining: int


@dataclass(frozen=True)
class _ByteRange:
    start: int
    stop: int  # exclusive


class _RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> _ByteRange | None:
    """The byte range a Range header asks for; None to send the whole file.

    Supports one range, `bytes=START-`, `bytes=START-END` and `bytes=-SUFFIX`. Headers of other
    forms are ignored, as HTTP allows; a range starting at or beyond the end raises.
    """
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0:
            raise _RangeNotSatisfiable
        return _ByteRange(max(0, size - suffix), size)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise _RangeNotSatisfiable
    stop = size if last == "" else min(int(last) + 1, size)
    return _ByteRange(start, stop)


def _published_month(ym: str) -> bool:
    """A clickstream month is published once it is over, and the dataset starts in 2017-11."""
    try:
        month = date.fromisoformat(f"{ym}-01")
    except ValueError:
        return False
    today = datetime.now(UTC).date()
    return date.fromisoformat(settings.CLICKSTREAM_START_MONTH) <= month < today.replace(day=1)


def _published_hour(match: re.Match) -> datetime | None:
    """The hour a pageview file name names, if the real site would have published it by now."""
    try:
        hour = datetime(
            int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=UTC
        )
    except ValueError:
        return None
    current = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return hour if FIRST_PAGEVIEW_HOUR <= hour < current else None


class DumpMirror:
    """The dumps site on 127.0.0.1, serving (and generating on demand) files under `root`.

    Use it as a context manager or call `start()` and `stop()`. `url` is its base URL, to set
    as WIKIMEDIA_DUMPS_URL. `requests_seen` lists (method, path, Range header or None) of
    every request, for tests.
    """

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        generate: bool = True,
        clickstream_rows: int = settings.DEFAULT_MIRROR_CLICKSTREAM_ROWS,
        pageview_lines: int = settings.DEFAULT_MIRROR_PAGEVIEW_LINES,
        seed: int = 0,
    ) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        self.generate = generate
        self.clickstream_rows = clickstream_rows
        self.pageview_lines = pageview_lines
        self.seed = seed
        self.requests_seen: list[tuple[str, str, str | None]] = []
        self._faults: dict[str, _ActiveFault] = {}
        self._lock = threading.Lock()
        self._generation_locks: dict[Path, threading.Lock] = {}
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the mirror is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DumpMirror:
        """Bind the port and serve from a background thread."""
        if self._server is not None:
            raise RuntimeError(f"the mirror already runs at {self.url}")
        self.root.mkdir(parents=True, exist_ok=True)
        self._stopping.clear()
        self._server = _MirrorServer((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # Checked this often for stop(); the default half second would slow every test.
            kwargs={"poll_interval": 0.05},
            name="dump-mirror",
            daemon=True,
        )
        self._thread.start()
        log.info(f"dump mirror serving {self.root} at {self.url}")
        return self

    def stop(self) -> None:
        """Stop serving; stalled responses are woken and closed."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        log.info(f"dump mirror at {self.host}:{self._server.server_address[1]} stopped")
        self._server = None
        self._thread = None

    def __enter__(self) -> DumpMirror:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(self, path: str, fault: Fault) -> None:
        """Make the next `fault.times` requests of `path` (such as /other/...) misbehave."""
        with self._lock:
            self._faults[path] = _ActiveFault(fault, fault.times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _record(self, method: str, path: str, range_header: str | None) -> None:
        with self._lock:
            self.requests_seen.append((method, path, range_header))

    def _take_fault(self, path: str, method: str) -> Fault | None:
        """The fault this request shows, counting it against the fault's `times`."""
        with self._lock:
            active = self._faults.get(path)
            if active is None or (method == "HEAD" and active.fault.kind in BODY_FAULTS):
                return None
            active.remaining -= 1
            if active.remaining <= 0:
                del self._faults[path]
            return active.fault

    def resolve(self, url_path: str) -> Path | None:
        """The file or folder under root that a URL path names; None if it leaves root."""
        parts = [part for part in urllib.parse.unquote(url_path).split("/") if part]
        if any(part in (".", "..") or "\\" in part or "\0" in part for part in parts):
            return None
        return self.root.joinpath(*parts)

    def ensure_generated(self, url_path: str, target: Path) -> None:
        """Generate a missing clickstream or pageview dump that the real site would have.

        One lock per file: concurrent requests for the same dump generate it once, while other
        dumps can be generated at the same time. Names the real site does not publish are left
        missing, so they answer 404.
        """
        if not self.generate or target.exists():
            return
        clickstream = CLICKSTREAM_PATH.match(url_path)
        pageview = PAGEVIEW_PATH.match(url_path)
        if clickstream is not None:
            wiki, ym = clickstream["wiki"], clickstream["ym"]
            if wiki not in settings.CLICKSTREAM_WIKIS or not _published_month(ym):
                return
        elif pageview is not None:
            hour = _published_hour(pageview)
            if hour is None:
                return
        else:
            return

        with self._lock:
            file_lock = self._generation_locks.setdefault(target, threading.Lock())
        with file_lock:
            if target.exists():
                return
            if clickstream is not None:
                write_clickstream_dump(
                    target, wiki=wiki, month=ym, rows=self.clickstream_rows, seed=self.seed
                )
            else:
                write_pageview_dump(target, hour=hour, lines=self.pageview_lines, seed=self.seed)


class _MirrorServer(ThreadingHTTPServer):
    daemon_threads = True
    # Stop without waiting for clients that keep a connection open or a stalled response.
    block_on_close = False

    def __init__(self, address: tuple[str, int], mirror: DumpMirror) -> None:
        self.mirror = mirror
        super().__init__(address, _MirrorHandler)


class _MirrorHandler(BaseHTTPRequestHandler):
    server: _MirrorServer
    server_version = "clickstream-dump-mirror"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        log.info(f"{self.address_string()} {format % args}")

    def _respond(self, *, send_body: bool) -> None:
        mirror = self.server.mirror
        url_path = urllib.parse.urlsplit(self.path).path
        range_header = self.headers.get("Range")
        mirror._record(self.command, url_path, range_header)

        fault = mirror._take_fault(url_path, self.command)
        if fault is not None and fault.kind not in BODY_FAULTS:
            self._send_fault(fault, send_body)
            return
        target = mirror.resolve(url_path)
        if target is None:
            self._send_text(HTTPStatus.NOT_FOUND, "Not Found\n", send_body)
            return
        mirror.ensure_generated(url_path, target)
        if target.is_dir():
            self._send_listing(url_path, target, send_body)
        elif target.is_file():
            self._send_file(target, range_header, send_body, fault)
        else:
            self._send_text(HTTPStatus.NOT_FOUND, "Not Found\n", send_body)

    def _send_fault(self, fault: Fault, send_body: bool) -> None:
        if fault.kind == "server_error":
            self._send_text(fault.status, "Service Unavailable\n", send_body)
        elif fault.kind == "rate_limit":
            self._send_text(
                HTTPStatus.TOO_MANY_REQUESTS,
                "Too Many Requests\n",
                send_body,
                {"Retry-After": str(fault.retry_after)},
            )
        elif fault.kind == "html_200":
            self._send_bytes(HTTPStatus.OK, HTML_ERROR_PAGE, "text/html; charset=utf-8", send_body)
        else:
            self._send_text(HTTPStatus.NOT_FOUND, "Not Found\n", send_body)

    def _send_text(
        self, status: int, text: str, send_body: bool, headers: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, text.encode(), "text/plain; charset=utf-8", send_body, headers)

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        send_body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _send_listing(self, url_path: str, folder: Path, send_body: bool) -> None:
        if not url_path.endswith("/"):
            # As the real site does, so that relative links in the listing resolve.
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", url_path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        title = html.escape(f"Index of {url_path}")
        rows = ['<a href="../">../</a>'] if url_path != "/" else []
        for entry in sorted(folder.iterdir()):
            # Temporary files of a generation in progress are not published yet.
            if entry.name.startswith("."):
                continue
            stat = entry.stat()
            name = entry.name + ("/" if entry.is_dir() else "")
            stamp = time.strftime("%d-%b-%Y %H:%M", time.gmtime(stat.st_mtime))
            size = "-" if entry.is_dir() else str(stat.st_size)
            link = f'<a href="{urllib.parse.quote(name)}">{html.escape(name)}</a>'
            rows.append(f"{link}{' ' * max(1, 51 - len(name))}{stamp} {size:>20}")
        body = (
            f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1><hr><pre>"
            + "\n".join(rows)
            + "\n</pre><hr></body>\n</html>\n"
        )
        self._send_bytes(HTTPStatus.OK, body.encode(), "text/html; charset=utf-8", send_body)

    def _send_file(
        self, path: Path, range_header: str | None, send_body: bool, fault: Fault | None
    ) -> None:
        size = path.stat().st_size
        try:
            byte_range = parse_range(range_header, size)
        except _RangeNotSatisfiable:
            self._send_text(
                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                "Requested Range Not Satisfiable\n",
                send_body,
                {"Content-Range": f"bytes */{size}"},
            )
            return
        start, stop = (0, size) if byte_range is None else (byte_range.start, byte_range.stop)

        self.send_response(HTTPStatus.OK if byte_range is None else HTTPStatus.PARTIAL_CONTENT)
        content_type = "application/gzip" if path.suffix == ".gz" else None
        content_type = content_type or mimetypes.guess_type(path.name)[0]
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        if byte_range is not None:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        if fault is not None:
            # The connection ends with the short body; say so, as a failing server would not.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not send_body:
            return

        limit = stop if fault is None else min(stop, start + fault.after_bytes)
        try:
            self._stream(path, start, limit)
            if fault is not None and fault.kind == "stall":
                self.wfile.flush()
                self.server.mirror._stopping.wait(fault.stall_seconds)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (a downloader giving up on a stall, say): nothing to send to.
            log.debug(f"client closed the connection during {self.path}")
            self.close_connection = True

    def _stream(self, path: Path, start: int, stop: int) -> None:
        with open(path, "rb") as source:
            source.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = source.read(min(STREAM_CHUNK_BYTES, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


def serve(
    root: Path,
    host: str = "127.0.0.1",
    port: int = settings.DEFAULT_MIRROR_PORT,
    *,
    generate: bool = True,
    clickstream_rows: int = settings.DEFAULT_MIRROR_CLICKSTREAM_ROWS,
    pageview_lines: int = settings.DEFAULT_MIRROR_PAGEVIEW_LINES,
    seed: int = 0,
) -> None:
    """Run the mirror in the foreground until SIGINT or SIGTERM, logging one line per request."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    mirror = DumpMirror(
        root,
        host=host,
        port=port,
        generate=generate,
        clickstream_rows=clickstream_rows,
        pageview_lines=pageview_lines,
        seed=seed,
    )
    try:
        with mirror:
            log.info(f"serving {mirror.root} at {mirror.url}; Ctrl+C stops")
            while not stop.wait(0.5):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
