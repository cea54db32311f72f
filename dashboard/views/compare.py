"""Compare months: two materialized months of one wiki side by side."""

import cached
import parts
import streamlit as st

from clickstream_assets.reading import catalog, provenance
from clickstream_assets.reading.catalog import ClickstreamDataset

CHANGES = 25


def sources(asset: str, name: str, a: ClickstreamDataset, b: ClickstreamDataset):
    """The file `name` of both months with their captions, or None when either is missing."""
    versions = [
        parts.source(asset, month.analytics(name), month.partition_key, month.label)
        for month in (a, b)
    ]
    return None if None in versions else tuple(versions)


def entry_pages(a: ClickstreamDataset, b: ClickstreamDataset) -> None:
    st.subheader("Entry pages that changed most")
    versions = sources("top_entry_pages", "top_entry_pages", a, b)
    if versions is None:
        return
    source = st.selectbox("Entry source", cached.entry_sources(versions[1]), key="compare_source")
    changes = cached.changed_entry_pages(*versions, source, CHANGES)
    if changes.unseen_at_most:
        st.caption(
            "From the two months' rankings. A page ranked in one month only has a bounded change "
            "(`change_at_least`); a page in neither ranking changed by at most "
            f"{changes.unseen_at_most:,}."
        )
    parts.table(
        changes.frame,
        n_a=parts.COUNT,
        n_b=parts.COUNT,
        change=parts.COUNT,
        change_at_least=parts.COUNT,
    )


def exits(a: ClickstreamDataset, b: ClickstreamDataset) -> None:
    st.subheader("Exits that changed most")
    versions = sources("page_exits", "page_exits", a, b)
    index = sources("page_index", "page_index", a, b)
    if versions is None or index is None:
        return
    parts.table(
        cached.changed_exits(versions, index, CHANGES).frame,
        views_a=parts.COUNT,
        views_b=parts.COUNT,
        exits_a=parts.COUNT,
        exits_b=parts.COUNT,
        exit_rate_a=parts.SHARE,
        exit_rate_b=parts.SHARE,
        change=parts.COUNT,
    )


def transitions(a: ClickstreamDataset, b: ClickstreamDataset) -> None:
    st.subheader("Transitions that changed most")
    ranked = sources("top_navigation_paths", "top_navigation_paths", a, b)
    links = sources("page_transitions", "page_transitions", a, b)
    if ranked is None or links is None:
        return
    changes = cached.changed_transitions(ranked, links, CHANGES)
    if changes.unseen_at_most:
        st.caption(
            "Among the links of either month's top navigation paths (a link ranked in one month "
            "only is looked up in the other month's transitions); a link in neither ranking "
            "changed by at most "
            f"{changes.unseen_at_most:,}."
        )
    parts.table(changes.frame, n_a=parts.COUNT, n_b=parts.COUNT, change=parts.COUNT)


def months(datasets: list[ClickstreamDataset]) -> tuple[ClickstreamDataset, ClickstreamDataset]:
    """Wiki and the two months in the sidebar; by default the newest month and the one before."""
    with_two = sorted({d.wiki for d in datasets if len(catalog.months_of(datasets, d.wiki)) > 1})
    wiki = st.sidebar.selectbox("Wiki", with_two, key="compare_wiki")
    choices = [d.month for d in catalog.months_of(datasets, wiki)]
    first = st.sidebar.selectbox(
        "Month A", choices, index=1, format_func=parts.month_label, key="compare_a"
    )
    second = st.sidebar.selectbox(
        "Month B", choices, index=0, format_func=parts.month_label, key="compare_b"
    )
    return ClickstreamDataset(wiki, first), ClickstreamDataset(wiki, second)


st.title("Compare months")
datasets = catalog.clickstream_datasets()
if not any(len(catalog.months_of(datasets, d.wiki)) > 1 for d in datasets):
    st.info(
        "Comparing needs two materialized months of one wiki. Materialize the clickstream "
        "assets (`clickstream_parquet` and its analytics) for another month in the "
        f"[Dagster UI]({provenance.asset_url('clickstream_parquet')}), then reload this page.",
        icon=":material/info:",
    )
    st.stop()

a, b = months(datasets)
st.markdown(f"**{a.wiki}**: month A {a.month[:7]} → month B {b.month[:7]}; change = B − A")
if a == b:
    st.warning("Month A and month B are the same month.")
section = st.segmented_control(
    "View",
    ("Entry pages", "Exits", "Transitions"),
    default="Entry pages",
    required=True,
    key="compare_section",
)
if section == "Entry pages":
    entry_pages(a, b)
elif section == "Exits":
    exits(a, b)
else:
    transitions(a, b)
