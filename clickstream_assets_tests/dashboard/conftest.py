"""Fixtures of the dashboard tests: the app under Streamlit's AppTest, on materialized data."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from clickstream_assets_tests.reading.materialized import Materialized, materialized_data

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
# A first run imports Dagster and DuckDB; a shared two-core machine needs the margin.
RUN_TIMEOUT_S = 120
# The dashboard uses no magic. With magic on, every run parses its page with ast.parse, and
# CPython 3.11 can fail that with "AST constructor recursion depth mismatch" while another
# thread also builds an AST; without it a page is only compiled to bytecode.
config.set_option("runner.magicEnabled", False)


@pytest.fixture
def materialized(tmp_path_factory, monkeypatch) -> Materialized:
    """The session's materialized data dir and Dagster instance, set in the environment."""
    built = materialized_data(tmp_path_factory)
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(built.data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(built.dagster_home))
    monkeypatch.delenv("DAGSTER_WEBSERVER_URL", raising=False)
    return built


@pytest.fixture
def empty(tmp_path, monkeypatch) -> Path:
    """A data dir and DAGSTER_HOME in which nothing was materialized."""
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    return tmp_path / "data"


def open_page(page: str | None = None) -> AppTest:
    """The app after its first run, switched to `views/<page>.py` and run again."""
    app = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S).run()
    if page:
        app.switch_page(f"views/{page}.py").run()
    return app


def texts(elements) -> str:
    """Every value of a list of elements (captions, infos, ...) in one string."""
    return "\n".join(str(element.value) for element in elements)
