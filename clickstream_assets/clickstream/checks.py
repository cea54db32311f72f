"""Asset checks that query the stored clickstream parquet of a partition."""

import warnings

import duckdb
import pyarrow.parquet as pq
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    PreviewWarning,
    asset_check,
)
from isal import igzip

from clickstream_assets import settings
from clickstream_assets.clickstream.analytics import scan
from clickstream_assets.clickstream.assets import clickstream_parquet, clickstream_partitions
from clickstream_assets.clickstream.parsing import REFERRERS, TYPES

INFLATE_CHUNK = 16 << 20

# Partitioned asset checks are a preview feature of Dagster 1.13; they are what lets a check
# run against the month x wiki partition it belongs to, so the preview note is expected.
warnings.filterwarnings("ignore", message="Specifying a partitions_def", category=PreviewWarning)


def _partition(context: AssetCheckExecutionContext) -> tuple[str, str]:
    dims = context.partition_key.keys_by_dimension
    return dims["wiki"], dims["month"]


def _query_one(sql: str) -> tuple:
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        return con.execute(sql).fetchone()


@asset_check(asset=clickstream_parquet, partitions_def=clickstream_partitions, blocking=True)
def has_no_negative_counts(context: AssetCheckExecutionContext) -> AssetCheckResult:
    """Every n in the parquet file is at least 0 (read from the row-group statistics)."""
    path = settings.clickstream_parquet_path(*_partition(context))
    metadata = pq.ParquetFile(path).metadata
    column = metadata.schema.names.index("n")
    minimums = [
        metadata.row_group(i).column(column).statistics.min for i in range(metadata.num_row_groups)
    ]
    smallest = min(minimums) if minimums else None
    return AssetCheckResult(
        passed=smallest is None or smallest >= 0, metadata={"min_n": smallest if minimums else 0}
    )


@asset_check(asset=clickstream_parquet, partitions_def=clickstream_partitions)
def has_only_known_types(context: AssetCheckExecutionContext) -> AssetCheckResult:
    """`type` is link, external or other, and `curr` is never a referrer such as other-search."""
    path = settings.clickstream_parquet_path(*_partition(context))
    types = ", ".join(f"'{t}'" for t in TYPES)
    referrers = ", ".join(f"'{r}'" for r in REFERRERS)
    unknown_types, referrer_curr = _query_one(f"""
        SELECT COUNT(*) FILTER (WHERE type NOT IN ({types})),
               COUNT(*) FILTER (WHERE curr IN ({referrers}))
        FROM {scan(path)}
    """)
    return AssetCheckResult(
        passed=unknown_types == 0 and referrer_curr == 0,
        metadata={"unknown_types": unknown_types, "referrers_as_curr": referrer_curr},
    )


@asset_check(asset=clickstream_parquet, partitions_def=clickstream_partitions)
def has_no_duplicate_pairs(context: AssetCheckExecutionContext) -> AssetCheckResult:
    """Each (prev, curr) pair appears once, as in the published dumps."""
    path = settings.clickstream_parquet_path(*_partition(context))
    pairs, extra = _query_one(f"""
        SELECT COUNT(*), COALESCE(SUM(copies - 1), 0) FROM (
            SELECT COUNT(*) AS copies FROM {scan(path)} GROUP BY prev, curr HAVING COUNT(*) > 1
        )
    """)
    return AssetCheckResult(
        passed=pairs == 0, metadata={"duplicate_pairs": pairs, "extra_rows": int(extra)}
    )


@asset_check(asset=clickstream_parquet, partitions_def=clickstream_partitions)
def has_no_counts_below_ten(context: AssetCheckExecutionContext) -> AssetCheckResult:
    """Wikimedia drops pairs seen fewer than ten times; smaller n means an unexpected source."""
    path = settings.clickstream_parquet_path(*_partition(context))
    (below,) = _query_one(f"SELECT COUNT(*) FROM {scan(path)} WHERE n < 10")
    return AssetCheckResult(
        passed=below == 0, severity=AssetCheckSeverity.WARN, metadata={"rows_below_ten": below}
    )


def count_lines(path) -> int:
    """Lines in a gzip file, counting a last line without a newline."""
    lines = 0
    last = b"\n"
    with igzip.open(path, "rb") as stream:
        while chunk := stream.read(INFLATE_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


@asset_check(asset=clickstream_parquet, partitions_def=clickstream_partitions)
def row_count_matches_dump(context: AssetCheckExecutionContext) -> AssetCheckResult:
    """Parquet rows plus quarantined lines equal the lines of the downloaded dump."""
    wiki, month = _partition(context)
    dump_lines = count_lines(settings.clickstream_dump_path(wiki, month))
    parquet_rows = pq.ParquetFile(settings.clickstream_parquet_path(wiki, month)).metadata.num_rows
    quarantine = settings.clickstream_quarantine_path(wiki, month)
    quarantined = (
        sum(1 for _ in quarantine.open(encoding="utf-8")) - 1 if quarantine.exists() else 0
    )
    return AssetCheckResult(
        passed=parquet_rows + quarantined == dump_lines,
        metadata={
            "dump_lines": dump_lines,
            "parquet_rows": parquet_rows,
            "quarantined_lines": quarantined,
        },
    )


clickstream_checks = [
    has_no_negative_counts,
    has_only_known_types,
    has_no_duplicate_pairs,
    has_no_counts_below_ten,
    row_count_matches_dump,
]
