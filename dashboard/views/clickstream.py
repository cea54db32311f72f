"""Clickstream: one materialized month of one wiki."""

import cached
import charts
import pandas as pd
import parts
import streamlit as st

from clickstream_assets.reading import catalog, clickstream
from clickstream_assets.reading.catalog import ClickstreamDataset

SECTIONS = ("Entry pages", "Navigation paths", "Drop-offs", "Funnel", "Page flow", "Raw rows")
MIN_VIEWS = (0, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
# The page_exits asset's own default for its drop-off preview.
DEFAULT_MIN_VIEWS = 1_000


def headline(dataset: ClickstreamDataset) -> None:
    """Rows, clicks and distinct pages of the month, from the clickstream_profile report."""
    label, key = dataset.label, dataset.partition_key
    parquet = catalog.version_of(dataset.parquet)
    report = catalog.version_of(dataset.profile)
    rows, clicks, pages = st.columns(3)
    if report is None:
        rows.metric("Rows", parts.number(cached.parquet_rows(parquet)))
        parts.caption("clickstream_parquet", key, parquet)
        parts.missing("clickstream_profile", key, label, "Clicks and distinct pages need it.")
        return
    profile = cached.profile(report)
    rows.metric("Rows", parts.number(profile["rows"]))
    clicks.metric("Clicks (sum of n)", parts.number(profile["clicks"]))
    pages.metric("Distinct pages", parts.number(profile["distinct"]["pages"]))
    parts.caption("clickstream_profile", key, report)


def entry_pages(dataset: ClickstreamDataset) -> None:
    st.subheader("Top entry pages")
    version = parts.source(
        "top_entry_pages",
        dataset.analytics("top_entry_pages"),
        dataset.partition_key,
        dataset.label,
    )
    if version is None:
        return
    sources = cached.entry_sources(version)
    source = st.selectbox(
        "Entry source",
        sources,
        key="entry_source",
        help="`all` ranks the entries from every source together.",
    )
    ranked = cached.entry_pages(version, source, 100)
    left, right = st.columns([3, 2])
    with left:
        parts.table(ranked, n=parts.COUNT, share=parts.SHARE)
    with right:
        st.altair_chart(
            charts.bars(ranked.head(15), "n", "curr", f"entries from {source}"), width="stretch"
        )


def navigation_paths(dataset: ClickstreamDataset) -> None:
    st.subheader("Top navigation paths")
    key, label = dataset.partition_key, dataset.label
    version = parts.source(
        "top_navigation_paths", dataset.analytics("top_navigation_paths"), key, label
    )
    if version is None:
        return
    st.markdown("Article-to-article links")
    parts.table(cached.navigation_paths(version, 100), n=parts.COUNT)
    two_step = catalog.version_of(dataset.analytics("top_two_step_paths"))
    if two_step is not None:
        st.markdown("Two-step paths A → B → C, estimated as n(A → B) × P(B → C)")
        parts.table(
            cached.two_step_paths(two_step, 100),
            first_n=parts.COUNT,
            second_n=parts.COUNT,
            estimated_n=parts.COUNT,
            probability=parts.SHARE,
        )


def drop_offs(dataset: ClickstreamDataset) -> None:
    st.subheader("Biggest drop-offs")
    version = parts.source(
        "page_exits", dataset.analytics("page_exits"), dataset.partition_key, dataset.label
    )
    if version is None:
        return
    st.caption(
        "Exits are estimated: views (clicks into a page) minus clicks onward to other "
        "articles, floored at 0. The dumps record no exits."
    )
    min_views = st.select_slider(
        "Minimum views",
        MIN_VIEWS,
        value=DEFAULT_MIN_VIEWS,
        key="drop_min_views",
        format_func=parts.number,
    )
    limit = st.slider("Pages", 10, 200, 50, step=10, key="drop_limit")
    st.metric(
        f"Pages with at least {min_views:,} views",
        parts.number(cached.count_pages(version, min_views)),
    )
    parts.table(
        cached.drop_offs(version, min_views, limit),
        views=parts.COUNT,
        clicks_onward=parts.COUNT,
        exits=parts.COUNT,
        exit_rate=parts.SHARE,
    )


def funnel(dataset: ClickstreamDataset) -> None:
    st.subheader("Funnel")
    key, label = dataset.partition_key, dataset.label
    transitions = parts.source(
        "page_transitions", dataset.analytics("page_transitions"), key, label
    )
    exits = parts.source("page_exits", dataset.analytics("page_exits"), key, label)
    index = parts.source("page_index", dataset.analytics("page_index"), key, label)
    if transitions is None or exits is None or index is None:
        return
    st.caption(
        "Each step offers the pages readers of the previous step went to most. A step converts "
        "with the transition probability n(A → B) / views(A), capped at 1; a step's overall "
        "conversion is the product along the path (as the page_transitions asset defines it)."
    )
    steps = st.number_input("Steps", min_value=2, max_value=8, value=3, key="funnel_steps")
    first = parts.page_picker("first page", "funnel_first", exits, index, with_clicks_onward=True)
    if first is None:
        return
    pages = [first["page"]]
    for step in range(2, int(steps) + 1):
        options = cached.next_pages(transitions, pages[-1], 20)
        if options.empty:
            st.warning(f"No reader of `{pages[-1]}` went on to another article: the funnel ends.")
            break
        probability = dict(zip(options["curr"], options["probability"], strict=True))
        pages.append(
            st.selectbox(
                f"Step {step}: after `{pages[-1]}`",
                list(probability),
                key=f"funnel_step_{step}",
                format_func=lambda page, p=probability: f"{page}  ({p[page]:.2%})",
            )
        )
    if len(pages) < 2:
        return
    result = cached.funnel(transitions, tuple(pages))
    st.altair_chart(charts.funnel(result), width="stretch")
    parts.table(
        result,
        step_conversion=parts.SHARE,
        overall_conversion=parts.SHARE,
        estimated_readers=parts.COUNT,
    )


def page_flow(dataset: ClickstreamDataset, datasets: list[ClickstreamDataset]) -> None:
    st.subheader("Flow through a page")
    key, label = dataset.partition_key, dataset.label
    referrers = parts.source("page_referrers", dataset.analytics("page_referrers"), key, label)
    exits = parts.source("page_exits", dataset.analytics("page_exits"), key, label)
    index = parts.source("page_index", dataset.analytics("page_index"), key, label)
    transitions = parts.source(
        "page_transitions", dataset.analytics("page_transitions"), key, label
    )
    if referrers is None or exits is None or index is None or transitions is None:
        return
    chosen = parts.page_picker("page", "flow", exits, index)
    if chosen is None:
        return
    page = chosen["page"]
    top = st.slider("Named sources and destinations per side", 3, 15, 8, key="flow_top")

    inflows = cached.page_inflows(referrers, page)
    flow = clickstream.page_flow(inflows, cached.page_outflows(transitions, page, top), chosen, top)
    views, exits_n, rate = st.columns(3)
    views.metric("Views (clicks into the page)", parts.number(chosen["views"]))
    exits_n.metric("Estimated exits", parts.number(chosen["exits"]))
    rate.metric("Exit rate", parts.percent(chosen["exit_rate"]))
    st.altair_chart(charts.sankey(flow, page), width="stretch")
    parts.table(flow, n=parts.COUNT, share=parts.SHARE)

    st.markdown(f"**Where readers of `{page}` came from, by month**")
    months = [d.month for d in catalog.months_of(datasets, dataset.wiki)]
    chosen_months = st.multiselect(
        "Months",
        months,
        default=[dataset.month],
        format_func=parts.month_label,
        key="flow_months",
        help="Each month added reads that month's page_referrers for the page; the result is "
        "kept until the month is rematerialized.",
    )
    mixes = []
    for month in sorted(chosen_months):
        other = ClickstreamDataset(dataset.wiki, month)
        version = catalog.version_of(other.analytics("page_referrers"))
        if version is not None:
            mix = clickstream.source_mix(cached.page_inflows(version, page))
            mixes.append(mix.assign(month=month[:7]))
    if mixes:
        mix = pd.concat(mixes, ignore_index=True)
        st.altair_chart(charts.source_mix(mix), width="stretch")
        parts.table(mix[["month", "source", "n", "share"]], n=parts.COUNT, share=parts.SHARE)


def raw_rows(dataset: ClickstreamDataset) -> None:
    st.subheader("Raw rows")
    parquet = parts.source(
        "clickstream_parquet", dataset.parquet, dataset.partition_key, dataset.label
    )
    if parquet is None:
        return
    seed = st.number_input(
        "Sample", min_value=0, value=0, step=1, key="raw_seed", help="Each number draws other rows."
    )
    st.caption(
        "Stretches of five consecutive rows from random places of one randomly drawn part "
        "(row group) of the file; `row` is the line number in the dump."
    )
    parts.table(cached.sample_rows(parquet, int(seed), 100), n=parts.COUNT)


st.title("Clickstream")
datasets = catalog.clickstream_datasets()
if not datasets:
    parts.missing("clickstream_parquet", lead="No clickstream month is on disk yet.")
    st.stop()

dataset = parts.choose_dataset(datasets, "clickstream")
st.markdown(f"**{dataset.wiki}**, {dataset.month[:7]}")
headline(dataset)
section = st.segmented_control(
    "View", SECTIONS, default=SECTIONS[0], required=True, key="clickstream_section"
)
if section == "Entry pages":
    entry_pages(dataset)
elif section == "Navigation paths":
    navigation_paths(dataset)
elif section == "Drop-offs":
    drop_offs(dataset)
elif section == "Funnel":
    funnel(dataset)
elif section == "Page flow":
    page_flow(dataset, datasets)
else:
    raw_rows(dataset)
