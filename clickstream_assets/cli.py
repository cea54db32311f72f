"""The `clickstream` command: demo, services, the local mirror and the data generator."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

import click

from clickstream_assets import settings


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug lines.")
def main(verbose: bool) -> None:
    """Clickstream funnel analytics on Wikimedia's public dumps, orchestrated by Dagster."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # SIGTERM (from a supervisor or a test) stops the command as cleanly as Ctrl+C does.
    signal.signal(signal.SIGTERM, _interrupt)


@main.command()
@click.option("--offline", is_flag=True, help="Use the local mirror even if the real site answers.")
def demo(offline: bool) -> None:
    """Start everything locally, materialize the demo data and serve the Dagster UI."""
    from clickstream_assets.local.demo import run_demo

    run_demo(offline, echo=lambda line: click.echo(line, err=False))


@main.group()
def mirror() -> None:
    """The local HTTP mirror of dumps.wikimedia.org."""


@mirror.command("serve")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder laid out like the dumps site (default: the data dir's mirror/).",
)
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1.")
@click.option("--no-generate", is_flag=True, help="Serve only files that exist.")
def mirror_serve(root: Path | None, port: int | None, no_generate: bool) -> None:
    """Serve the mirror in the foreground until Ctrl+C."""
    from clickstream_assets.local.mirror import serve

    serve(
        root or settings.mirror_dir(),
        "127.0.0.1",
        port or settings.mirror_port(),
        generate=not no_generate,
    )


@main.group()
def generate() -> None:
    """Write synthetic dumps in the exact formats of the real ones."""


@generate.command("clickstream")
@click.option("--wiki", default="enwiki", show_default=True)
@click.option("--month", default=settings.DEMO_MONTH[:7], show_default=True, help="YYYY-MM")
@click.option("--rows", type=int, default=100_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def generate_clickstream(wiki: str, month: str, rows: int, seed: int, out: Path) -> None:
    """A monthly clickstream dump (`prev<TAB>curr<TAB>type<TAB>n`, gzip)."""
    from clickstream_assets.local.generator import write_clickstream_dump

    result = write_clickstream_dump(out, wiki=wiki, month=month, rows=rows, seed=seed)
    click.echo(f"wrote {result.rows:,} rows ({result.bytes_written:,} bytes) to {out}")


@generate.command("pageviews")
@click.option("--hour", required=True, help="UTC hour, YYYY-MM-DDTHH")
@click.option("--lines", type=int, default=100_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--legacy", is_flag=True, help="The pagecounts-raw variant with byte sizes.")
@click.option("--out", type=click.Path(path_type=Path), required=True)
def generate_pageviews(hour: str, lines: int, seed: int, legacy: bool, out: Path) -> None:
    """An hourly pageview dump (`domain_code page_title count_views total_response_size`)."""
    from clickstream_assets.local.generator import write_pageview_dump

    try:
        when = datetime.strptime(hour, "%Y-%m-%dT%H")
    except ValueError as exc:
        raise click.BadParameter(
            f"expected YYYY-MM-DDTHH, got {hour!r}", param_hint="--hour"
        ) from exc
    result = write_pageview_dump(out, hour=when, lines=lines, seed=seed, legacy=legacy)
    click.echo(f"wrote {result.rows:,} lines ({result.bytes_written:,} bytes) to {out}")


if __name__ == "__main__":
    sys.exit(main())
