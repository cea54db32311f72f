from collections import defaultdict

import pytest

from clickstream_assets.reading import catalog, pageviews
from clickstream_assets_tests.reading.materialized import HOUR, PAGEVIEW_LINES


def valid_lines() -> list[tuple[str, str, int]]:
    parsed = []
    for line in PAGEVIEW_LINES:
        fields = line.split(" ")
        if len(fields) == 4 and fields[2].isdigit():
            parsed.append((fields[0], fields[1], int(fields[2])))
    return parsed


@pytest.fixture
def profile(materialized) -> dict:
    return pageviews.read_pageview_profile(catalog.pageview_report(HOUR))


def test_top_projects_share_the_hour_views(profile):
    views = defaultdict(int)
    for project, _, count in valid_lines():
        views[project] += count
    total = sum(views.values())

    frame = pageviews.top_projects(profile)

    assert dict(zip(frame["project"], frame["views"], strict=True)) == dict(views)
    assert dict(zip(frame["project"], frame["share"], strict=True)) == pytest.approx(
        {project: count / total for project, count in views.items()}
    )


def test_top_pages_are_the_most_viewed_lines(profile):
    expected = sorted(valid_lines(), key=lambda line: (-line[2], line[0], line[1]))[:10]

    frame = pageviews.top_pages(profile)

    assert list(frame.itertuples(index=False, name=None)) == expected


def test_reject_reasons_count_the_rejected_lines(profile):
    reasons = pageviews.reject_reasons(profile)
    examples = pageviews.reject_examples(profile)

    assert reasons["lines"].sum() == 2
    assert sorted(examples["text"]) == ["en Broken_line 12", "fr Paris x 0"]
    assert examples["line_number"].tolist() == [8, 9]
