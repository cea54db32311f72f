"""The Dagster UI in a real browser: the asset graph with every asset, and the checks."""

import re

import pytest

from clickstream_assets_tests.ui.conftest import screenshot

pytestmark = pytest.mark.slow

# Each root asset's downstream lineage covers one half of the graph.
LINEAGES = {
    "clickstream_dump": (
        "clickstream_dump",
        "clickstream_parquet",
        "clickstream_profile",
        "top_entry_pages",
        "top_navigation_paths",
        "page_exits",
        "page_transitions",
        "page_referrers",
        "page_index",
        "raw_clickstream",
    ),
    "pageview_dump": (
        "pageview_dump",
        "pageview_profile",
        "pageview_topic",
        "raw_pageviews",
        "session_metrics",
    ),
}


def node_label(name: str) -> re.Pattern:
    """An asset's name as a graph node shows it: whole, or shortened with an ellipsis in the
    middle when the graph is zoomed out to fit."""
    head, tail = re.escape(name[:5]), re.escape(name[-5:])
    return re.compile(rf"^(?:{re.escape(name)}|{head}[^\s…]*…[^\s…]*{tail})$")


def dismiss_popups(page) -> None:
    """Dagster's first-visit dialog, if this browser profile gets it, hides the graph."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


@pytest.mark.parametrize("root", sorted(LINEAGES))
def test_dagster_ui_lineage_shows_every_asset_downstream_of_a_dump(page, dagster_ui, root):
    url = f"{dagster_ui}/assets/{root}?view=lineage&lineageScope=downstream&lineageDepth=5"

    page.goto(url, wait_until="networkidle")
    dismiss_popups(page)

    for name in LINEAGES[root]:
        page.get_by_text(node_label(name)).first.wait_for(timeout=60_000)
    screenshot(page, f"dagster-lineage-{root.split('_')[0]}")


def test_dagster_ui_shows_the_checks_of_the_parquet_cache_passing(page, dagster_ui):
    page.goto(f"{dagster_ui}/assets/clickstream_parquet?view=checks", wait_until="networkidle")
    dismiss_popups(page)

    for name in ("has_no_negative_counts", "has_only_known_types", "row_count_matches_dump"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
    assert page.get_by_text("Passed").count() > 0
    screenshot(page, "dagster-checks")
