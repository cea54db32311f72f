"""The `clickstream` command: demo, services, the local mirror and the data generator."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

import click

from clickstream_assets import settings
from clickstream_assets.warehouse.cli import warehouse as warehouse_group


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
    signal.signal(signal.SIGINT, _interrupt)


@main.command()
@click.option("--offline", is_flag=True, help="Use the local mirror even if the real site answers.")
def demo(offline: bool) -> None:
    """Start everything locally, materialize the demo data and serve the Dagster UI."""
    from clickstream_assets.local.demo import run_demo

    run_demo(offline, echo=lambda line: click.echo(line, err=False))


@main.group()
def services() -> None:
    """The embedded services: the Kafka broker and the dump mirror."""


@services.command("up")
@click.option("--no-mirror", is_flag=True, help="Start only the Kafka broker.")
def services_up(no_mirror: bool) -> None:
    """Start the local broker (for a loopback KAFKA_BOOTSTRAP) and the mirror."""
    from clickstream_assets.local import services as local

    for line in local.services_up(with_mirror=not no_mirror):
        click.echo(line)


@services.command("down")
def services_down() -> None:
    """Stop the local broker and the mirror, whichever process started them."""
    from clickstream_assets.local import services as local

    for line in local.services_down():
        click.echo(line)


@services.command("status")
def services_status() -> None:
    """Say what runs."""
    from clickstream_assets.local import services as local

    for line in local.services_status():
        click.echo(line)


@main.group()
def kafka() -> None:
    """Look into Kafka topics by hand (KAFKA_* settings apply)."""


@kafka.command("consume")
@click.option("--topic", default=None, help="Default: KAFKA_TOPIC.")
@click.option("--group-id", default="clickstream-cli", show_default=True)
@click.option("--from-beginning", is_flag=True, help="Start at the oldest retained message.")
@click.option("--limit", type=int, default=None, help="Stop after N messages.")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write JSON lines here instead of standard output.",
)
@click.option("--no-auto-commit", is_flag=True, help="Leave the group's offsets untouched.")
@click.option(
    "--timeout",
    "timeout_ms",
    type=int,
    default=10_000,
    show_default=True,
    help="Stop after this many milliseconds without a message.",
)
@click.option("--verbose", is_flag=True, help="Print a summary line per message on stderr.")
def kafka_consume(
    topic, group_id, from_beginning, limit, output, no_auto_commit, timeout_ms, verbose
) -> None:
    """Consume messages as JSON lines."""
    import json

    from clickstream_assets.pageviews.inspect import consume_messages
    from clickstream_assets.resources.kafka import kafka_from_env

    resource = kafka_from_env()
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        for record in consume_messages(
            resource,
            topic or resource.topic,
            group_id,
            from_beginning=from_beginning,
            limit=limit,
            timeout_ms=timeout_ms,
            auto_commit=not no_auto_commit,
        ):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            if verbose:
                click.echo(
                    f"{record['partition']}:{record['offset']} key={record['key']}", err=True
                )
    finally:
        if output:
            out.close()
    click.echo(f"consumed {count:,} messages", err=True)


@kafka.command("topics")
def kafka_topics() -> None:
    """List topics with each partition's low and high offsets."""
    from clickstream_assets.pageviews.inspect import describe_topics
    from clickstream_assets.resources.kafka import kafka_from_env

    for topic in describe_topics(kafka_from_env()):
        click.echo(f"{topic['topic']}: {topic['messages']:,} messages")
        for p in topic["partitions"]:
            click.echo(
                f"  partition {p['partition']}: offsets {p['low']:,}..{p['high']:,} "
                f"(leader {p['leader']})"
            )


@main.group()
def pageviews() -> None:
    """Hourly pageview dumps."""


@pageviews.command("profile")
@click.option("--source", required=True, help="A pageview dump: a local file or an http(s) URL.")
@click.option("--limit", type=int, default=None, help="Profile only the first N records.")
def pageviews_profile(source: str, limit: int | None) -> None:
    """Profile a pageview dump and print the summary."""
    import tempfile

    from clickstream_assets.pageviews.profile import profile_pageviews, render_markdown
    from clickstream_assets.resources.downloads import download_dump

    if source.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(source).name
            download_dump(source, path, row_cap=limit)
            profile = profile_pageviews(path, limit=limit)
    else:
        path = Path(source)
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="--source")
        profile = profile_pageviews(path, limit=limit)
    click.echo(render_markdown(profile))


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


main.add_command(warehouse_group, name="warehouse")


if __name__ == "__main__":
    sys.exit(main())
