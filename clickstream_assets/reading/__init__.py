"""Reading what the assets materialized: the queries behind the dashboard and its benchmark.

Every function here reads files and tables that Dagster assets wrote (parquet through DuckDB,
JSON reports, the warehouse's SESSION_METRICS, the Dagster instance's event log) and returns
data frames or plain values. None of them downloads or derives a dataset of its own, and none
knows about Streamlit, so tests and benchmarks call them directly.

- `catalog`: which datasets exist on disk, their paths and file versions (the cache keys).
- `provenance`: which materialization a view shows, and its link in the Dagster UI.
- `clickstream`: headline numbers, rankings, drop-offs, page search, funnels, page flows.
- `compare`: what changed most between two materialized months of one wiki.
- `pageviews`: the hourly profile reports of `pageview_profile`.
- `sessions`: SESSION_METRICS, read briefly and read-only.
"""
