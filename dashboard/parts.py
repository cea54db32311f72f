"""Pieces every page uses: where a view's data comes from, what to do when it does not exist
yet, the dataset choice and the server-side page picker."""

from __future__ import annotations

from pathlib import Path

import cached
import pandas as pd
import streamlit as st

from clickstream_assets import settings
from clickstream_assets.reading import catalog, provenance
from clickstream_assets.reading.catalog import ClickstreamDataset, FileVersion

# Matches a page picker offers; the search runs in DuckDB and only these reach the browser.
PICKER_MATCHES = 50


def source(
    asset: str, path: Path, partition: str | None = None, label: str = ""
) -> FileVersion | None:
    """The version of an asset's file, with a caption saying which materialization it is; or a
    message naming what to materialize (and None) when the file does not exist."""
    version = catalog.version_of(path)
    if version is None:
        missing(asset, partition, label)
        return None
    caption(asset, partition, version)
    return version


def missing(asset: str, partition: str | None = None, label: str = "", lead: str = "") -> None:
    """The message of a view whose asset is not materialized: what to materialize, and where."""
    text = provenance.not_materialized(asset, partition, label)
    st.info(f"{lead} {text}" if lead else text, icon=":material/info:")


def caption(asset: str, partition: str | None, version: FileVersion | None) -> None:
    """One line: asset, partition, when it was materialized and by which run, and its link."""
    shown = cached.materialization(str(settings.dagster_home()), asset, partition, version)
    link = f"[open in Dagster]({provenance.asset_url(asset, partition)})"
    where = f" · partition `{partition}`" if partition else ""
    if shown is None:
        st.caption(f"**{asset}**{where} · no materialization found · {link}")
        return
    when = f"{shown.timestamp:%Y-%m-%d %H:%M:%S} UTC"
    if shown.recorded:
        run = f"[{shown.run_id[:8]}]({provenance.run_url(shown.run_id)})"
        text = f"materialized {when} by run {run}"
    else:
        text = f"file written {when} ({shown.note})"
    st.caption(f"**{asset}**{where} · {text} · {link}")


def choose_dataset(datasets: list[ClickstreamDataset], key: str) -> ClickstreamDataset:
    """Wiki and month in the sidebar, among the materialized ones (newest month first)."""
    wikis = sorted({d.wiki for d in datasets})
    wiki = st.sidebar.selectbox("Wiki", wikis, key=f"{key}_wiki")
    months = [d.month for d in catalog.months_of(datasets, wiki)]
    month = st.sidebar.selectbox("Month", months, format_func=month_label, key=f"{key}_month")
    return ClickstreamDataset(wiki, month)


def month_label(month: str) -> str:
    return month[:7]


def page_picker(
    label: str,
    key: str,
    exits: FileVersion,
    index: FileVersion,
    with_clicks_onward: bool = False,
) -> dict | None:
    """A title search (run in DuckDB over `page_index`) and a choice among its matches.

    A month has millions of titles, so the browser only ever gets the best matches. Returns
    the chosen page's row (page, views, clicks_onward, exits, exit_rate).
    """
    text = st.text_input(
        f"Search {label}",
        key=f"{key}_search",
        placeholder="start of a title; spaces match underscores; empty lists the most viewed",
    )
    matches = cached.search_pages(exits, index, text.strip(), PICKER_MATCHES, with_clicks_onward)
    if matches.empty:
        st.warning(f"No title starts with “{text.strip()}”.")
        return None
    views = dict(zip(matches["page"], matches["views"], strict=True))
    page = st.selectbox(
        label,
        list(views),
        key=f"{key}_page",
        format_func=lambda p: f"{p}  ({views[p]:,.0f} views)",
    )
    return matches[matches["page"] == page].iloc[0].to_dict()


def number(value: float) -> str:
    return f"{value:,.0f}"


def percent(value: float) -> str:
    return f"{value:.1%}"


def table(frame: pd.DataFrame, **columns) -> None:
    """A data frame without its index; `columns` are column configurations by name."""
    st.dataframe(frame, hide_index=True, column_config=columns or None, width="stretch")


COUNT = st.column_config.NumberColumn(format="localized")
SHARE = st.column_config.NumberColumn(format="percent")
