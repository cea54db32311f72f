"""Warehouse assets: pageview messages in ANALYTICS.RAW.PAGEVIEWS, clickstream months in
ANALYTICS.RAW.CLICKSTREAM, and the checks that reconcile them with their sources.

Every asset here writes the warehouse and runs in the Dagster pool `warehouse`: the embedded
warehouse's DuckDB file admits one writing process at a time. Checks that read the warehouse
share the pool for the same reason.
"""

# No `from __future__ import annotations` here: Dagster reads the Config and resource
# annotations of asset functions at runtime.

import pyarrow as pa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from pydantic import Field

from clickstream_assets import settings
from clickstream_assets.clickstream.assets import (
    clickstream_parquet,
    clickstream_partitions,
    partition_of,
)
from clickstream_assets.pageviews.assets import pageview_topic
from clickstream_assets.reporting import markdown_table
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.warehouse import POOL, WarehouseResource
from clickstream_assets.warehouse import clickstream as raw_clickstream_load
from clickstream_assets.warehouse.pageviews import (
    DEFAULT_BATCH_SIZE,
    RAW_TABLE,
    REJECTS_TABLE,
    load_pageviews,
    preview_rows,
)
from clickstream_assets.warehouse.runner import count_row, ensure_bootstrapped, fetch_all

GROUP = "warehouse"


class RawPageviewsConfig(Config):
    batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE,
        gt=0,
        description="Messages per bulk load and per transaction.",
    )
    max_messages: int | None = Field(
        default=None,
        gt=0,
        description="Load at most this many messages in this run; the rest waits for the next.",
    )


@asset(
    group_name=GROUP,
    deps=[pageview_topic],
    kinds={"snowflake", "kafka"},
    pool=POOL,
    check_specs=[
        AssetCheckSpec(
            "has_no_rejected_messages",
            asset="raw_pageviews",
            description="Warns when this run sent messages to ANALYTICS.RAW.PAGEVIEWS_REJECTS.",
        )
    ],
)
def raw_pageviews(
    context: AssetExecutionContext,
    config: RawPageviewsConfig,
    warehouse: WarehouseResource,
    kafka: KafkaResource,
) -> MaterializeResult:
    """Pageview messages from Kafka as VARIANT rows in ANALYTICS.RAW.PAGEVIEWS (typed view:
    ANALYTICS.RAW.PAGEVIEWS_TYPED), loaded exactly once.

    Each run consumes from the offsets RAW has loaded (ANALYTICS.RAW.LOADED_OFFSETS) up to the
    topic's end offsets at the start of the run, in bulk batches; rows and offsets of a batch
    commit together. Lines already in RAW (a republished hour) are skipped; unloadable messages
    go to ANALYTICS.RAW.PAGEVIEWS_REJECTS with their offset and reason."""
    ensure_bootstrapped(warehouse, context.log)

    result = load_pageviews(
        warehouse,
        kafka,
        batch_size=config.batch_size,
        max_messages=config.max_messages,
        load_id=context.run_id,
        log=context.log,
    )
    preview = preview_rows(warehouse, result.topic)
    context.log.info(
        f"loaded {result.rows_loaded:,} rows into {RAW_TABLE} in {result.duration_s:.1f} s "
        f"({result.rows_per_s:,.0f} rows/s); {result.duplicates:,} duplicates skipped, "
        f"{result.rejects:,} rejects into {REJECTS_TABLE}"
    )

    offsets = {
        str(partition): {"first": first, "next": next_offset}
        for partition, (first, next_offset) in sorted(result.offsets.items())
    }
    check = AssetCheckResult(
        check_name="has_no_rejected_messages",
        passed=result.rejects == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={"rejects": result.rejects, "reasons": MetadataValue.json(dict(result.reasons))},
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.rows_loaded,
            "table": RAW_TABLE,
            "topic": result.topic,
            "messages": result.messages,
            "rows_loaded": result.rows_loaded,
            "duplicates_skipped": result.duplicates,
            "rejects": result.rejects,
            "batches": result.batches,
            "offsets": MetadataValue.json(offsets),
            "end_offsets": MetadataValue.json({str(p): o for p, o in result.end_offsets.items()}),
            "rows_per_s": round(result.rows_per_s),
            "duration_s": round(result.duration_s, 2),
            "preview": MetadataValue.md(markdown_table(preview)),
        },
        check_results=[check],
    )


@asset_check(asset=raw_pageviews, pool=POOL)
def raw_rows_match_consumed_offsets(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource, kafka: KafkaResource
) -> AssetCheckResult:
    """Every offset the RAW load moved over is accounted for: the batches recorded as many
    messages as LOADED_OFFSETS advanced, RAW and the rejects table hold exactly the rows those
    batches wrote (the rest were duplicates), and no RAW row lies outside the loaded offsets."""
    counts = count_row(warehouse, "checks/pageviews_reconciliation", {"topic": kafka.topic})

    problems = []
    if counts["consumed_offsets"] != counts["messages"]:
        problems.append("offsets advanced by a different number than the messages loaded")
    if counts["messages"] != counts["rows_loaded"] + counts["duplicates"] + counts["rejects"]:
        problems.append("messages are not all rows, duplicates or rejects")
    if counts["raw_rows"] != counts["rows_loaded"]:
        problems.append(f"{RAW_TABLE} holds a different number of rows than were loaded")
    if counts["reject_rows"] != counts["rejects"]:
        problems.append(f"{REJECTS_TABLE} holds a different number of rows than were rejected")
    if counts["rows_outside_offsets"]:
        problems.append("rows lie outside the loaded offsets")
    return AssetCheckResult(
        passed=not problems,
        metadata={**counts, "topic": kafka.topic},
        description="; ".join(problems) or "every consumed offset is accounted for",
    )


@asset_check(asset=raw_pageviews, pool=POOL)
def has_no_duplicate_lines(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    """No (source_file, line_number) appears twice in ANALYTICS.RAW.PAGEVIEWS."""
    counts = count_row(warehouse, "checks/pageviews_duplicate_lines")
    return AssetCheckResult(passed=counts["duplicated_lines"] == 0, metadata=counts)


@asset_check(asset=raw_pageviews, pool=POOL)
def variant_fields_have_expected_types(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    """Every RAW row's VARIANT has project, page_title and hour as strings (hour an ISO 8601
    UTC hour) and views and bytes as integers, as ANALYTICS.RAW.PAGEVIEWS_TYPED casts them."""
    counts = count_row(warehouse, "checks/pageviews_field_types")
    wrong = {key: value for key, value in counts.items() if key != "rows_checked" and value}
    return AssetCheckResult(
        passed=not wrong,
        metadata=counts,
        description=f"fields of unexpected type: {wrong}" if wrong else "every field as expected",
    )


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"snowflake", "parquet"},
    pool=POOL,
    check_specs=[AssetCheckSpec("has_every_parquet_row", asset="raw_clickstream")],
)
def raw_clickstream(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """The partition's clickstream as VARIANT rows {prev, curr, type, n} in
    ANALYTICS.RAW.CLICKSTREAM, with wiki, month, source file and line number (typed view:
    ANALYTICS.RAW.CLICKSTREAM_TYPED). A run replaces the partition in one transaction."""
    wiki, month = partition_of(context)
    parquet = settings.clickstream_parquet_path(wiki, month)
    if not parquet.exists():
        raise FileNotFoundError(f"{parquet} is missing: materialize clickstream_parquet first")
    ensure_bootstrapped(warehouse, context.log)

    load = raw_clickstream_load.load_clickstream(warehouse, parquet, wiki, month, log=context.log)
    with warehouse.connection() as conn:
        partition = {"wiki": wiki, "month": month}
        (stored,) = fetch_all(conn, "checks/clickstream_partition_rows", partition)
        preview = pa.Table.from_pylist(fetch_all(conn, "load/clickstream_preview", partition))

    stored_rows = int(stored["ROWS_LOADED"])
    check = AssetCheckResult(
        check_name="has_every_parquet_row",
        passed=stored_rows == load.rows,
        metadata={"parquet_rows": load.rows, "warehouse_rows": stored_rows},
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": load.rows,
            "table": load.table,
            "source": MetadataValue.path(str(parquet)),
            "rows_replaced": load.replaced,
            "sum_n": int(stored["SUM_N"]),
            "rows_per_s": round(load.rows / max(load.duration_s, 1e-9)),
            "duration_s": round(load.duration_s, 2),
            "preview": MetadataValue.md(markdown_table(preview)),
        },
        check_results=[check],
    )


warehouse_assets = [raw_pageviews, raw_clickstream]
warehouse_checks = [
    raw_rows_match_consumed_offsets,
    has_no_duplicate_lines,
    variant_fields_have_expected_types,
]
