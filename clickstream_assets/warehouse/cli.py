"""`clickstream warehouse ...`: the bootstrap and loads by hand, against SNOWFLAKE_* settings
(or the embedded warehouse when SNOWFLAKE_ACCOUNT is unset)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from clickstream_assets.warehouse.statements import InvalidIdentifier, qualified_name


@contextlib.contextmanager
def _warehouse() -> Iterator:
    from clickstream_assets.resources.warehouse import warehouse_from_env

    # Outside a Dagster run the EnvVars (password, key path) are resolved here.
    with warehouse_from_env().process_config_and_initialize_cm() as resource:
        yield resource


@click.group()
def warehouse() -> None:
    """The Snowflake warehouse (or its embedded fakesnow stand-in)."""


@warehouse.command()
def bootstrap() -> None:
    """Create the warehouse, database, schemas, role, tables and views of sql/bootstrap/."""
    from clickstream_assets.warehouse.runner import bootstrap as apply_bootstrap

    with _warehouse() as resource:
        result = apply_bootstrap(resource)
    click.echo(
        f"applied {len(result.applied)} statements to {resource.describe()}"
        + (f", skipped {len(result.skipped)} marked snowflake-only" if result.skipped else "")
    )


def _table_name(ctx, param, value: str) -> str:
    try:
        return qualified_name(value)
    except InvalidIdentifier as exc:
        raise click.BadParameter(str(exc)) from None


@warehouse.command()
@click.option(
    "--source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A clickstream dump (.tsv or .tsv.gz) or its parquet file.",
)
@click.option(
    "--table",
    default="CLICKSTREAM",
    show_default=True,
    callback=_table_name,
    help="TABLE (in ANALYTICS.RAW), SCHEMA.TABLE or DATABASE.SCHEMA.TABLE; created if missing.",
)
@click.option("--wiki", default=None, help="Default: from the file name (clickstream-enwiki-...).")
@click.option("--month", default=None, help="YYYY-MM; default: from the file name.")
def load(source: Path, table: str, wiki: str | None, month: str | None) -> None:
    """Load a clickstream file into a RAW table as VARIANT rows, replacing its wiki and month."""
    from clickstream_assets.warehouse.clickstream import load_clickstream, partition_of_file
    from clickstream_assets.warehouse.runner import ensure_bootstrapped

    named = partition_of_file(source)
    wiki = wiki or (named[0] if named else None)
    month = f"{month[:7]}-01" if month else (named[1] if named else None)
    if not wiki or not month:
        raise click.UsageError(f"cannot tell the wiki and month of {source}: give --wiki/--month")

    with _warehouse() as resource:
        ensure_bootstrapped(resource)
        result = load_clickstream(resource, source, wiki, month, table=table)
    click.echo(
        f"loaded {result.rows:,} rows into {result.table} ({wiki} {month[:7]}, "
        f"{result.replaced:,} replaced) in {result.duration_s:.1f} s"
    )
