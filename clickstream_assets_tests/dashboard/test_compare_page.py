import shutil
from collections import defaultdict

from clickstream_assets import settings
from clickstream_assets_tests.dashboard.conftest import open_page, texts
from clickstream_assets_tests.reading.materialized import MONTHS, REFERRERS, WIKI, exits_of


def test_exits_equal_both_months_of_the_served_dumps(materialized):
    before, after = (exits_of(materialized.clickstream_rows(month)) for month in MONTHS)
    changes = sorted(
        (
            (page, after.get(page, (0, 0, 0))[2] - before.get(page, (0, 0, 0))[2])
            for page in set(before) | set(after)
        ),
        key=lambda change: (-abs(change[1]), change[0]),
    )[:25]
    app = open_page("compare")

    app.segmented_control(key="compare_section").set_value("Exits").run()

    table = app.dataframe[0].value
    assert list(zip(table["page"], table["change"].astype(int), strict=True)) == changes
    captions = texts(app.caption)
    assert all(run[:8] in captions for key, run in materialized.runs.items() if "|" in key)


def test_transitions_list_links_whose_clicks_changed(materialized):
    links = []
    for month in MONTHS:
        counts = defaultdict(int)
        for prev, curr, _, n in materialized.clickstream_rows(month):
            if prev not in REFERRERS:
                counts[(prev, curr)] += n
        links.append(counts)
    app = open_page("compare")

    app.segmented_control(key="compare_section").set_value("Transitions").run()

    table = app.dataframe[0].value
    assert len(table) == 25
    for prev, curr, n_a, n_b, change in table.itertuples(index=False):
        assert (n_a, n_b) == (links[0].get((prev, curr), 0), links[1].get((prev, curr), 0))
        assert change == n_b - n_a
    assert "a link in neither ranking changed by at most" in texts(app.caption)


def test_months_default_to_the_newest_two(materialized):
    app = open_page("compare")

    chosen = (app.selectbox(key="compare_a").value, app.selectbox(key="compare_b").value)

    assert chosen == MONTHS
    assert "month A 2024-09 → month B 2024-10" in texts(app.markdown)


def test_one_month_explains_what_comparing_needs(materialized, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    parquet = settings.clickstream_parquet_path(WIKI, MONTHS[1])
    parquet.parent.mkdir(parents=True)
    shutil.copy(materialized.data_dir / parquet.relative_to(tmp_path / "data"), parquet)

    app = open_page("compare")

    assert not app.exception
    assert "Comparing needs two materialized months of one wiki." in texts(app.info)
