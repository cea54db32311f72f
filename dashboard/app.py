"""The clickstream dashboard: `streamlit run dashboard/app.py`.

It shows what the Dagster assets materialized and computes no dataset of its own: parquet and
reports under the data dir (CLICKSTREAM_DATA_DIR), read with DuckDB, and the warehouse of
`warehouse_from_env()`. Each view names the materialization it shows and links to the asset
in the Dagster UI (DAGSTER_WEBSERVER_URL).
"""

import streamlit as st

st.set_page_config(
    page_title="Clickstream analytics", page_icon=":material/conversion_path:", layout="wide"
)
pages = [
    st.Page("views/clickstream.py", title="Clickstream", icon=":material/conversion_path:"),
    st.Page("views/compare.py", title="Compare months", icon=":material/compare_arrows:"),
    st.Page("views/pageviews.py", title="Pageviews", icon=":material/bar_chart:"),
    st.Page("views/sessions.py", title="Sessions", icon=":material/timeline:"),
]
st.navigation(pages).run()
