"""Sessions: ANALYTICS.MODELLED.SESSION_METRICS, as the session_metrics asset wrote it."""

import altair as alt
import cached
import parts
import streamlit as st

from clickstream_assets import settings
from clickstream_assets.reading import provenance
from clickstream_assets.reading.sessions import TABLE, SessionsNotMaterialized
from clickstream_assets.resources.warehouse import WarehouseLocked

ASSET = "session_metrics"
MAX_SESSIONS = (100, 500, 1_000, 5_000, 10_000)

st.title("Sessions")
where = cached.warehouse().describe()
try:
    span = cached.session_span(where)
except SessionsNotMaterialized:
    parts.missing(ASSET, lead=f"{TABLE} does not exist in {where} yet.")
    st.stop()
except WarehouseLocked as exc:
    st.warning(f"The warehouse is busy: {exc}.", icon=":material/hourglass:")
    st.stop()
if span.rows == 0:
    parts.missing(ASSET, lead=f"{TABLE} in {where} has no sessions yet.")
    st.stop()

recorded = cached.materialization(str(settings.dagster_home()), ASSET, None, None)
link = f"[open in Dagster]({provenance.asset_url(ASSET)})"
if recorded is not None:
    run = f"[{recorded.run_id[:8]}]({provenance.run_url(recorded.run_id)})"
    st.caption(
        f"**{ASSET}** · {TABLE} in {where} · materialized "
        f"{recorded.timestamp:%Y-%m-%d %H:%M:%S} UTC by run {run} · {link}"
    )
else:
    loaded = (
        "at an unknown time"
        if span.loaded_at is None
        else f"{span.loaded_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    st.caption(
        f"**{ASSET}** · {TABLE} in {where} · rows last loaded {loaded} "
        f"(no record in the Dagster instance) · {link}"
    )

if span.hours > 1:
    lookback = st.sidebar.slider(
        "Lookback (hours)",
        1,
        span.hours,
        min(24, span.hours),
        key="sessions_lookback",
        help="Back from the newest session end in the table: the data are historical hours.",
    )
else:
    # A slider needs two distinct ends; the table spans a single hour.
    lookback = 1
    st.sidebar.caption("Lookback: the one hour the table spans")
max_sessions = st.sidebar.select_slider(
    "Maximum sessions in the table", MAX_SESSIONS, value=500, key="sessions_max"
)
try:
    window = cached.session_window(where, span, lookback, max_sessions)
except WarehouseLocked as exc:
    st.warning(f"The warehouse is busy: {exc}.", icon=":material/hourglass:")
    st.stop()

st.markdown(
    f"Sessions that ended from **{window.since:%Y-%m-%d %H:%M}** to "
    f"**{window.until:%Y-%m-%d %H:%M}** UTC"
)
sessions, events, views, size = st.columns(4)
sessions.metric("Sessions", parts.number(window.totals["sessions"]))
events.metric("Events", parts.number(window.totals["events"]))
views.metric("Views", parts.number(window.totals["views"]))
size.metric("Bytes", parts.number(window.totals["bytes"]))

st.subheader("Sessions over time")
st.altair_chart(
    alt.Chart(window.over_time)
    .mark_area(line=True, point=True, opacity=0.3)
    .encode(
        x=alt.X("hour:T", title="hour the sessions started (UTC)"),
        y=alt.Y("sessions:Q", title="sessions"),
        tooltip=[
            alt.Tooltip("hour:T", format="%Y-%m-%d %H:00"),
            "sessions:Q",
            "events:Q",
            alt.Tooltip("views:Q", format=","),
        ],
    ),
    width="stretch",
)

st.subheader("Top projects")
parts.table(
    window.projects,
    sessions=parts.COUNT,
    events=parts.COUNT,
    views=parts.COUNT,
    bytes=st.column_config.NumberColumn(format="bytes"),
)

st.subheader("Newest sessions")
shown = len(window.sessions)
st.caption(f"{shown:,} of {window.totals['sessions']:,} sessions in the window, newest first.")
parts.table(
    window.sessions,
    events=parts.COUNT,
    total_views=parts.COUNT,
    total_bytes=st.column_config.NumberColumn(format="bytes"),
)
