"""Reading the hourly reports of `pageview_profile` (JSON under reports/pageviews/)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def read_pageview_profile(path: Path) -> dict:
    """The profile of one hour as `pageview_profile` wrote it."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def top_projects(profile: dict) -> pd.DataFrame:
    """The hour's most viewed projects: project, views, pages, share (of the hour's views)."""
    frame = pd.DataFrame(profile["top_projects"], columns=["project", "views", "pages"])
    frame["share"] = frame["views"] / profile["views"] if profile["views"] else 0.0
    return frame


def top_pages(profile: dict) -> pd.DataFrame:
    """The hour's most viewed pages: project, page_title, views."""
    return pd.DataFrame(profile["top_pages"], columns=["project", "page_title", "views"])


def reject_reasons(profile: dict) -> pd.DataFrame:
    """Why lines were rejected, with counts: reason, lines."""
    reasons = profile["reject_reasons"].items()
    return pd.DataFrame(list(reasons), columns=["reason", "lines"])


def reject_examples(profile: dict) -> pd.DataFrame:
    """A few rejected lines as the parser saw them: line_number, reason, text."""
    return pd.DataFrame(profile["reject_examples"], columns=["line_number", "reason", "text"])
