import pytest
import yaml
from dagster import DagsterInstance, asset, materialize

from clickstream_assets.local.dagster_home import instance_config
from clickstream_assets.resources.warehouse import warehouse_from_env
from clickstream_assets.warehouse.runner import bootstrap
from clickstream_assets_tests.dashboard.conftest import open_page, texts
from clickstream_assets_tests.reading.sessions_data import session_rows, within, write_sessions


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """A data dir and a set-up Dagster instance of this test's own."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(home)))
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    return home


def materialize_sessions(home, rows) -> str:
    """Write the rows through an asset keyed session_metrics, as the sessionizer's runs do;
    the run id it returns is what the page should name."""

    @asset(name="session_metrics")
    def written_sessions() -> None:
        write_sessions(warehouse_from_env(), rows)

    instance = DagsterInstance.from_config(str(home))
    try:
        return materialize([written_sessions], instance=instance).run_id
    finally:
        instance.dispose()


def test_metrics_equal_the_sessions_in_the_lookback(environment):
    rows = session_rows()
    materialize_sessions(environment, rows)
    expected = within(rows, 12)
    app = open_page("sessions")

    app.slider(key="sessions_lookback").set_value(12).run()

    assert not app.exception
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown == {
        "Sessions": f"{len(expected):,}",
        "Events": f"{sum(row[3] for row in expected):,}",
        "Views": f"{sum(row[4] for row in expected):,}",
        "Bytes": f"{sum(row[5] for row in expected):,}",
    }


def test_table_shows_the_newest_sessions_up_to_the_maximum(environment):
    rows = session_rows()
    materialize_sessions(environment, rows)
    app = open_page("sessions")

    app.slider(key="sessions_lookback").set_value(48).run()
    app.select_slider(key="sessions_max").set_value(100).run()

    projects, table = (frame.value for frame in app.dataframe)
    assert len(table) == 100
    assert table["session_end"].tolist() == sorted((row[2] for row in rows), reverse=True)[:100]
    assert projects["sessions"].sum() == len(within(rows, 48))
    assert f"100 of {len(within(rows, 48)):,} sessions" in texts(app.caption)


def test_lookback_defaults_to_a_day_back_from_the_newest_session(environment):
    rows = session_rows()
    materialize_sessions(environment, rows)

    app = open_page("sessions")

    assert app.slider(key="sessions_lookback").value == 24
    assert "Sessions that ended from **2024-10-02 12:10** to **2024-10-03 12:10** UTC" in texts(
        app.markdown
    )


def test_sessions_name_the_run_that_wrote_them(environment):
    run_id = materialize_sessions(environment, session_rows())

    app = open_page("sessions")

    caption = texts(app.caption)
    assert "**session_metrics** · ANALYTICS.MODELLED.SESSION_METRICS in fakesnow at" in caption
    assert f"by run [{run_id[:8]}]" in caption
    assert "/assets/session_metrics)" in caption


def test_no_warehouse_names_the_asset(empty):
    app = open_page("sessions")

    assert not app.exception
    assert "Materialize `session_metrics`" in texts(app.info)
    assert not (empty / "warehouse").exists()


def test_empty_table_names_the_asset(empty):
    bootstrap(warehouse_from_env())

    app = open_page("sessions")

    assert not app.exception
    assert "has no sessions yet" in texts(app.info)
