from clickstream_assets_tests.dashboard.conftest import open_page, texts
from clickstream_assets_tests.reading.materialized import HOUR, PAGEVIEW_LINES


def records() -> list[tuple[str, str, int]]:
    parsed = []
    for line in PAGEVIEW_LINES:
        fields = line.split(" ")
        if len(fields) == 4 and fields[2].isdigit():
            parsed.append((fields[0], fields[1], int(fields[2])))
    return parsed


def test_profile_numbers_equal_the_served_hour(materialized):
    parsed = records()
    non_blank = [line for line in PAGEVIEW_LINES if line]

    app = open_page("pageviews")

    assert not app.exception
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["Records"] == f"{len(parsed):,}"
    assert shown["Lines"] == f"{len(PAGEVIEW_LINES):,}"
    assert shown["Rejected lines"] == f"{len(non_blank) - len(parsed):,}"
    assert shown["Completeness"] == f"{len(parsed) / len(non_blank):.2%}"
    assert shown["Views"] == f"{sum(views for *_, views in parsed):,}"
    assert shown["Projects"] == f"{len({project for project, _, _ in parsed}):,}"
    assert shown["Records with size 0"] == "100.0%"


def test_top_projects_and_pages_equal_the_served_hour(materialized):
    parsed = records()
    totals = {}
    for project, _, views in parsed:
        totals[project] = totals.get(project, 0) + views

    app = open_page("pageviews")

    tables = [frame.value for frame in app.dataframe]
    projects = next(t for t in tables if "share" in t.columns)
    pages = next(t for t in tables if "page_title" in t.columns)
    assert dict(zip(projects["project"], projects["views"], strict=True)) == totals
    assert pages.iloc[0].tolist() == ["en", "Main_Page", 120]


def test_profile_names_the_hour_and_its_run(materialized):
    app = open_page("pageviews")

    caption = texts(app.caption)

    assert "**pageview_profile** · partition `2024-10-01-13:00`" in caption
    assert materialized.runs[HOUR.strftime("%Y-%m-%d-%H:00")][:8] in caption


def test_no_profile_names_the_asset(empty):
    app = open_page("pageviews")

    assert not app.exception
    assert "Materialize `pageview_profile`" in texts(app.info)
