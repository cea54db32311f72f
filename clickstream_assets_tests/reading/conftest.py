"""Fixtures of the reading tests: the session's materialized test data, in the environment."""

from __future__ import annotations

import pytest

from clickstream_assets_tests.reading.materialized import Materialized, materialized_data


@pytest.fixture
def materialized(tmp_path_factory, monkeypatch) -> Materialized:
    """The session's materialized data dir and Dagster instance, set in the environment."""
    built = materialized_data(tmp_path_factory)
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(built.data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(built.dagster_home))
    return built
