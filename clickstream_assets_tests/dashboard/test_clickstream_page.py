import shutil
from collections import defaultdict

import pytest

from clickstream_assets import settings
from clickstream_assets_tests.dashboard.conftest import open_page, texts
from clickstream_assets_tests.reading.materialized import (
    MONTHS,
    RANKING_LIMIT,
    REFERRERS,
    WIKI,
    exits_of,
    probability,
    views_of,
)

MONTH = MONTHS[1]
PARTITION = f"{MONTH}|{WIKI}"


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def show(app, section: str):
    app.segmented_control(key="clickstream_section").set_value(section).run()
    return app


def test_headline_equals_the_served_dump(materialized):
    rows = materialized.clickstream_rows(MONTH)
    pages = {curr for _, curr, _, _ in rows} | {p for p, _, _, _ in rows if p not in REFERRERS}

    app = open_page()

    assert not app.exception
    assert metrics(app) == {
        "Rows": f"{len(rows):,}",
        "Clicks (sum of n)": f"{sum(n for *_, n in rows):,}",
        "Distinct pages": f"{len(pages):,}",
    }


def test_views_name_the_run_and_link_the_asset(materialized, monkeypatch):
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://dagster.internal:8080")

    app = open_page()

    captions = texts(app.caption)
    run_id = materialized.runs[PARTITION]
    assert f"**clickstream_profile** · partition `{PARTITION}` · materialized" in captions
    assert f"by run [{run_id[:8]}](http://dagster.internal:8080/runs/{run_id})" in captions
    assert (
        "[open in Dagster](http://dagster.internal:8080/assets/top_entry_pages"
        "?view=partitions&partition=2024-10-01%7Cenwiki)"
    ) in captions


def test_older_month_is_shown_when_chosen(materialized):
    rows = materialized.clickstream_rows(MONTHS[0])
    app = open_page()

    app.selectbox(key="clickstream_month").set_value(MONTHS[0]).run()

    assert metrics(app)["Rows"] == f"{len(rows):,}"
    assert materialized.runs[f"{MONTHS[0]}|{WIKI}"][:8] in texts(app.caption)


def test_entry_pages_equal_the_served_dump(materialized):
    entries = defaultdict(int)
    for prev, curr, _, n in materialized.clickstream_rows(MONTH):
        if prev == "other-search":
            entries[curr] += n
    expected = sorted(entries, key=lambda page: (-entries[page], page))[:RANKING_LIMIT]
    app = open_page()

    app.selectbox(key="entry_source").set_value("search").run()

    table = app.dataframe[0].value
    assert table["curr"].tolist() == expected
    assert table["n"].tolist() == [entries[page] for page in expected]
    assert table["share"].tolist() == pytest.approx(
        [entries[page] / sum(entries.values()) for page in expected]
    )


def test_drop_offs_follow_the_minimum_views(materialized):
    exits = exits_of(materialized.clickstream_rows(MONTH))
    kept = {page: row for page, row in exits.items() if row[0] >= 100}
    expected = sorted(kept, key=lambda page: (-kept[page][2], page))[:20]
    app = show(open_page(), "Drop-offs")

    app.select_slider(key="drop_min_views").set_value(100).run()
    app.slider(key="drop_limit").set_value(20).run()

    table = app.dataframe[0].value
    assert table["page"].tolist() == expected
    assert table["exits"].tolist() == [kept[page][2] for page in expected]
    assert table["exit_rate"].tolist() == pytest.approx(
        [kept[page][2] / kept[page][0] for page in expected]
    )
    assert metrics(app)["Pages with at least 100 views"] == f"{len(kept):,}"


def test_funnel_equals_the_transition_probabilities(materialized):
    rows = materialized.clickstream_rows(MONTH)
    app = show(open_page(), "Funnel")

    first = app.selectbox(key="funnel_first_page").value
    second = app.selectbox(key="funnel_step_2").value
    third = app.selectbox(key="funnel_step_3").value

    table = app.dataframe[0].value
    steps = [probability(rows, first, second), probability(rows, second, third)]
    assert table["page"].tolist() == [first, second, third]
    assert table["step_conversion"].tolist() == pytest.approx([1.0, *steps])
    assert table["overall_conversion"].tolist() == pytest.approx(
        [1.0, steps[0], steps[0] * steps[1]]
    )


def test_funnel_steps_offer_the_likely_next_pages(materialized):
    rows = materialized.clickstream_rows(MONTH)
    app = show(open_page(), "Funnel")
    first = app.selectbox(key="funnel_first_page").value
    links = defaultdict(int)
    for prev, curr, _, n in rows:
        if prev == first:
            links[curr] += n

    options = app.selectbox(key="funnel_step_2").options

    likely = sorted(links, key=lambda curr: (-links[curr], curr))[:20]
    assert options == [f"{curr}  ({probability(rows, first, curr):.2%})" for curr in likely]


def test_page_flow_shows_shares_of_the_page_views(materialized):
    rows = materialized.clickstream_rows(MONTH)
    views = views_of(rows)
    page = max(views, key=lambda p: (views[p], p))
    app = show(open_page(), "Page flow")

    app.text_input(key="flow_search").set_value(page.replace("_", " ").lower()).run()
    app.selectbox(key="flow_page").set_value(page).run()

    assert metrics(app)["Views (clicks into the page)"] == f"{views[page]:,}"
    flow = app.dataframe[0].value
    incoming = flow[flow["side"] == "in"]
    assert incoming["n"].sum() == views[page]
    assert incoming["share"].sum() == pytest.approx(1.0)
    mix = app.dataframe[1].value
    search = sum(n for prev, curr, _, n in rows if curr == page and prev == "other-search")
    assert mix.set_index("source").loc["search", "n"] == search


def test_page_search_without_matches_says_so(materialized):
    app = show(open_page(), "Page flow")

    app.text_input(key="flow_search").set_value("no title has this").run()

    assert "No title starts with “no title has this”." in texts(app.warning)
    assert not app.exception


def test_raw_rows_are_lines_of_the_dump(materialized):
    rows = materialized.clickstream_rows(MONTH)
    app = show(open_page(), "Raw rows")

    app.number_input(key="raw_seed").set_value(4).run()

    table = app.dataframe[0].value
    assert len(table) == 100
    for line, prev, curr, kind, n in table.itertuples(index=False):
        assert rows[line - 1] == (prev, curr, kind, n)


def test_nothing_materialized_names_the_asset(empty):
    app = open_page()

    assert not app.exception
    message = texts(app.info)
    assert "No clickstream month is on disk yet." in message
    assert "Materialize `clickstream_parquet`" in message


def test_missing_analytics_name_their_asset(materialized, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    parquet = settings.clickstream_parquet_path(WIKI, MONTH)
    parquet.parent.mkdir(parents=True)
    shutil.copy(materialized.data_dir / parquet.relative_to(tmp_path / "data"), parquet)
    app = open_page()

    headline = texts(app.info)
    show(app, "Drop-offs")

    assert not app.exception
    assert metrics(app)["Rows"] == f"{len(materialized.clickstream_rows(MONTH)):,}"
    assert "`clickstream_profile` is not materialized for enwiki 2024-10 yet." in headline
    assert f"Materialize `page_exits` (partition `{PARTITION}`)" in texts(app.info)
