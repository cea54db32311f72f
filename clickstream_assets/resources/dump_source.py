"""The dumps site as a Dagster resource: dumps.wikimedia.org in production, the mirror locally."""

import logging
import time
from pathlib import Path

from dagster import ConfigurableResource

from clickstream_assets import settings
from clickstream_assets.resources.downloads import DownloadResult, download_dump, validate_url

# Log a progress line at most this often, so a 400 MB download shows about a line a second.
PROGRESS_INTERVAL_S = 2.0


class DumpSourceResource(ConfigurableResource):
    """Where dumps are downloaded from, and how patiently.

    `base_url` is the dumps site or the local mirror (same paths); `row_cap` streams only the
    head of each clickstream dump (unset: whole dumps).
    """

    base_url: str = settings.DEFAULT_DUMPS_URL
    row_cap: int | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_attempts: int = 6
    backoff_s: float = 1.0

    def url_for(self, path: str) -> str:
        return validate_url(self.base_url.rstrip("/") + path)

    def fetch(
        self,
        url: str,
        dest: Path,
        *,
        row_cap: int | None = None,
        logger: logging.Logger | None = None,
    ) -> DownloadResult:
        """Download `url` to `dest` with retries and resume, logging progress to `logger`."""
        log = logger or logging.getLogger(__name__)
        last = [0.0]

        def report(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_INTERVAL_S:
                return
            last[0] = now
            share = f" ({done / total:.0%} of {total:,})" if total else ""
            log.info(f"downloaded {done:,} bytes{share} from {url}")

        return download_dump(
            url,
            dest,
            row_cap=row_cap,
            timeout=(self.connect_timeout_s, self.read_timeout_s),
            max_attempts=self.max_attempts,
            backoff_s=self.backoff_s,
            progress=report,
        )


def dump_source_from_env() -> DumpSourceResource:
    return DumpSourceResource(base_url=settings.dumps_url(), row_cap=settings.clickstream_row_cap())
