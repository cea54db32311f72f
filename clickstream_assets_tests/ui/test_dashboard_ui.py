"""The dashboard in a real browser: each page renders its charts and the numbers the assets
materialized, and is saved as a screenshot."""

import json

import pyarrow.parquet as pq
import pytest

from clickstream_assets import settings
from clickstream_assets_tests.ui.conftest import SESSIONS, screenshot

pytestmark = pytest.mark.slow

TIMEOUT_MS = 90_000


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_test_id("stApp").wait_for(timeout=TIMEOUT_MS)


def metric_value(page, label: str) -> str:
    """The value shown by the st.metric whose label is `label`."""
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    metric.wait_for(timeout=TIMEOUT_MS)
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def settled_screenshot(page, name: str) -> None:
    """A screenshot once the script has finished running (no running indicator)."""
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=TIMEOUT_MS)
    screenshot(page, name)


def wait_for_charts(page, count: int = 1) -> None:
    charts = page.locator(".vega-embed")
    charts.nth(count - 1).wait_for(timeout=TIMEOUT_MS)


def test_dashboard_clickstream_page_shows_the_month_and_its_entry_pages(
    page, dashboard_url, materialized_data
):
    parquet = settings.clickstream_parquet_path("enwiki", "2024-10-01")
    rows = pq.ParquetFile(parquet).metadata.num_rows

    open_page(page, dashboard_url)

    assert metric_value(page, "Rows") in (f"{rows:,}",)
    page.get_by_text("Top entry pages").first.wait_for(timeout=TIMEOUT_MS)
    wait_for_charts(page)
    settled_screenshot(page, "dashboard-clickstream")


def test_dashboard_pageviews_page_shows_the_hour_profile(page, dashboard_url, materialized_data):
    reports = sorted((materialized_data / "reports" / "pageviews").rglob("*.json"))
    profile = json.loads(reports[0].read_text())

    open_page(page, f"{dashboard_url}/pageviews")

    assert metric_value(page, "Records") == f"{profile['records']:,}"
    assert metric_value(page, "Projects") == f"{profile['distinct_projects']:,}"
    page.get_by_text("Top projects").first.wait_for(timeout=TIMEOUT_MS)
    wait_for_charts(page)
    settled_screenshot(page, "dashboard-pageviews")


def test_dashboard_sessions_page_shows_session_metrics(page, dashboard_url):
    views = sum(session["total_views"] for session in SESSIONS)

    open_page(page, f"{dashboard_url}/sessions")

    assert metric_value(page, "Sessions") == f"{len(SESSIONS):,}"
    assert metric_value(page, "Views") == f"{views:,}"
    wait_for_charts(page)
    settled_screenshot(page, "dashboard-sessions")


def test_dashboard_compare_page_shows_both_months(page, dashboard_url):
    open_page(page, f"{dashboard_url}/compare")

    page.get_by_text("Entry pages that changed most").first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("2024-09").count() > 0
    assert page.get_by_text("2024-10").count() > 0
    settled_screenshot(page, "dashboard-compare")
