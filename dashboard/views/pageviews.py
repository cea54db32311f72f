"""Pageviews: the profile of one hour, as the pageview_profile asset wrote it."""

import cached
import charts
import parts
import streamlit as st

from clickstream_assets.reading import catalog, pageviews

st.title("Pageviews")
hours = catalog.pageview_hours()
if not hours:
    parts.missing("pageview_profile", lead="No pageview hour is profiled yet.")
    st.stop()

hour = st.sidebar.selectbox(
    "Hour (UTC)", hours, format_func=lambda h: f"{h:%Y-%m-%d %H}:00", key="pageview_hour"
)
partition = catalog.pageview_partition_key(hour)
version = parts.source("pageview_profile", catalog.pageview_report(hour), partition)
if version is None:
    st.stop()
profile = cached.pageview_profile(version)

st.subheader("Completeness")
records, lines, rejected, completeness = st.columns(4)
records.metric("Records", parts.number(profile["records"]))
lines.metric("Lines", parts.number(profile["lines"]), help=f"{profile['blank_lines']:,} blank")
rejected.metric("Rejected lines", parts.number(profile["rejected"]))
completeness.metric(
    "Completeness", f"{profile['completeness']:.2%}", help="Records / non-blank lines."
)
views, projects, pages = st.columns(3)
views.metric("Views", parts.number(profile["views"]))
projects.metric("Projects", parts.number(profile["distinct_projects"]))
pages.metric("Pages", parts.number(profile["distinct_pages"]))
if profile["rejected"]:
    parts.table(pageviews.reject_reasons(profile), lines=parts.COUNT)
    with st.expander("Rejected lines (first ten)"):
        parts.table(pageviews.reject_examples(profile))

st.subheader("Top projects")
left, right = st.columns([2, 3])
projects_frame = pageviews.top_projects(profile)
with left:
    parts.table(projects_frame, views=parts.COUNT, pages=parts.COUNT, share=parts.SHARE)
with right:
    st.altair_chart(charts.bars(projects_frame, "views", "project", "views"), width="stretch")

st.subheader("Top pages")
parts.table(pageviews.top_pages(profile), views=parts.COUNT)

st.subheader("Bytes")
st.caption(
    "Current dumps report a response size of 0 for every line; legacy pagecounts-raw files "
    "have real sizes."
)
total, zero, per_view = st.columns(3)
total.metric("Total response bytes", parts.number(profile["bytes"]["total"]))
zero.metric("Records with size 0", parts.percent(profile["bytes"]["zero_size_share"]))
bytes_per_view = profile["bytes"]["bytes_per_view"]
per_view.metric(
    "Bytes per view (where sizes exist)",
    "—" if bytes_per_view is None else parts.number(bytes_per_view),
)
if profile.get("replaced_utf8"):
    st.caption(f"{profile['replaced_utf8']:,} lines had bytes that are not UTF-8 (replaced).")
