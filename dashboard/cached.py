"""The reading functions, cached per materialization.

Every read is keyed on the `FileVersion` (path, modification time, size) of the file it reads,
so a new materialization, which replaces the file, is read afresh and an unchanged one never
is twice. Warehouse reads have no file version: they are keyed on what the table holds (its
row count and newest rows) and expire after a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from dagster import DagsterInstance

from clickstream_assets.reading import clickstream, compare, pageviews, provenance, sessions
from clickstream_assets.reading.catalog import FileVersion
from clickstream_assets.resources.warehouse import WarehouseResource, warehouse_from_env

# Dagster records a materialization when the asset's run ends; a short time to live lets a
# view pick up a run that finished after it first looked.
MATERIALIZATION_TTL_S = 30
WAREHOUSE_TTL_S = 10
ENTRIES = 256


@st.cache_resource(show_spinner=False)
def dagster_instance(home: str) -> DagsterInstance | None:
    return provenance.open_instance(Path(home))


@st.cache_data(show_spinner=False, ttl=MATERIALIZATION_TTL_S, max_entries=ENTRIES)
def materialization(
    home: str, asset: str, partition: str | None, version: FileVersion | None
) -> provenance.Materialization | None:
    return provenance.materialization_of(dagster_instance(home), asset, partition, version)


# Clickstream month


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def profile(version: FileVersion) -> dict:
    return clickstream.read_profile(Path(version.path))


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def parquet_rows(version: FileVersion) -> int:
    return clickstream.parquet_rows(Path(version.path))


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def entry_sources(version: FileVersion) -> list[str]:
    return clickstream.entry_sources(Path(version.path))


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def entry_pages(version: FileVersion, source: str, limit: int) -> pd.DataFrame:
    return clickstream.entry_pages(Path(version.path), source, limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def navigation_paths(version: FileVersion, limit: int) -> pd.DataFrame:
    return clickstream.navigation_paths(Path(version.path), limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def two_step_paths(version: FileVersion, limit: int) -> pd.DataFrame:
    return clickstream.two_step_paths(Path(version.path), limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def drop_offs(version: FileVersion, min_views: int, limit: int) -> pd.DataFrame:
    return clickstream.drop_offs(Path(version.path), min_views, limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def count_pages(version: FileVersion, min_views: int) -> int:
    return clickstream.count_pages(Path(version.path), min_views)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def search_pages(
    exits: FileVersion, index: FileVersion, text: str, limit: int, with_clicks_onward: bool
) -> pd.DataFrame:
    return clickstream.search_pages(
        Path(exits.path), Path(index.path), text, limit, with_clicks_onward
    )


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def next_pages(version: FileVersion, page: str, limit: int) -> pd.DataFrame:
    return clickstream.next_pages(Path(version.path), page, limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def funnel(version: FileVersion, pages: tuple[str, ...]) -> pd.DataFrame:
    return clickstream.funnel(Path(version.path), pages)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def page_inflows(version: FileVersion, page: str) -> pd.DataFrame:
    return clickstream.page_inflows(Path(version.path), page)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def page_outflows(version: FileVersion, page: str, top: int) -> pd.DataFrame:
    return clickstream.page_outflows(Path(version.path), page, top)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def sample_rows(version: FileVersion, seed: int, rows: int) -> pd.DataFrame:
    return clickstream.sample_rows(Path(version.path), seed, rows)


# Two months


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def changed_entry_pages(a: FileVersion, b: FileVersion, source: str, limit: int) -> compare.Changes:
    return compare.changed_entry_pages(Path(a.path), Path(b.path), source, limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def changed_exits(
    exits: tuple[FileVersion, FileVersion], index: tuple[FileVersion, FileVersion], limit: int
) -> compare.Changes:
    paths = [Path(version.path) for version in (*exits, *index)]
    return compare.changed_exits(*paths, limit=limit)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def changed_transitions(
    paths: tuple[FileVersion, FileVersion],
    transitions: tuple[FileVersion, FileVersion],
    limit: int,
) -> compare.Changes:
    return compare.changed_transitions(
        Path(paths[0].path),
        Path(paths[1].path),
        Path(transitions[0].path),
        Path(transitions[1].path),
        limit,
    )


# Pageviews


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def pageview_profile(version: FileVersion) -> dict:
    return pageviews.read_pageview_profile(Path(version.path))


# Sessions


def warehouse() -> WarehouseResource:
    """The warehouse of the environment; cheap to build, and built per call so that a changed
    environment (another data dir) is followed."""
    return warehouse_from_env()


@st.cache_data(show_spinner=False, ttl=WAREHOUSE_TTL_S)
def session_span(where: str) -> sessions.SessionSpan:
    """`where`, the warehouse's description, keys the cache."""
    return sessions.read_session_span(warehouse())


@st.cache_data(show_spinner=False, ttl=WAREHOUSE_TTL_S, max_entries=ENTRIES)
def session_window(
    where: str, span: sessions.SessionSpan, lookback_hours: int, max_sessions: int
) -> sessions.SessionWindow:
    """Keyed on the span too: new rows in the table change it, and so the window is read anew."""
    return sessions.read_session_window(warehouse(), span.newest_end, lookback_hours, max_sessions)
