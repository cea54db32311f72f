from dagster import AssetKey, Definitions

from clickstream_assets.definitions import defs

CLICKSTREAM_ASSETS = {
    "clickstream_dump",
    "clickstream_parquet",
    "clickstream_profile",
    "top_entry_pages",
    "top_navigation_paths",
    "page_exits",
    "page_transitions",
    "page_referrers",
    "page_index",
}


def test_definitions_load_and_validate():
    Definitions.validate_loadable(defs)

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys >= CLICKSTREAM_ASSETS


def test_definitions_clickstream_lineage_and_groups():
    graph = defs.resolve_asset_graph()

    parquet = graph.get(AssetKey("clickstream_parquet"))
    children = {key.to_user_string() for key in parquet.child_keys}
    from_parquet = CLICKSTREAM_ASSETS - {"clickstream_dump", "clickstream_parquet", "page_index"}
    assert children == from_parquet | {"raw_clickstream"}
    exits = graph.get(AssetKey("page_exits"))
    assert {key.to_user_string() for key in exits.child_keys} == {"page_index"}
    assert {graph.get(AssetKey(name)).group_name for name in CLICKSTREAM_ASSETS} == {"clickstream"}


def test_definitions_clickstream_checks_are_named_as_predicates():
    graph = defs.resolve_asset_graph()

    checks = {
        key.name
        for key in graph.asset_check_keys
        if key.asset_key.path[0].startswith(("clickstream", "page_"))
    }
    assert {
        "has_no_negative_counts",
        "has_only_known_types",
        "has_no_duplicate_pairs",
        "row_count_matches_dump",
        "has_no_quarantined_lines",
        "has_exit_rates_between_zero_and_one",
        "has_probabilities_between_zero_and_one",
    } <= checks


def test_definitions_pageview_flow_lineage_and_groups():
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(AssetKey(name)).parent_keys}

    assert parents("pageview_topic") == {"pageview_dump"}
    assert parents("raw_pageviews") == {"pageview_topic"}
    assert parents("session_metrics") == {"pageview_topic"}
    groups = {
        name: graph.get(AssetKey(name)).group_name
        for name in ("pageview_dump", "pageview_topic", "raw_pageviews", "session_metrics")
    }
    assert groups == {
        "pageview_dump": "pageviews",
        "pageview_topic": "pageviews",
        "raw_pageviews": "warehouse",
        "session_metrics": "sessions",
    }


def test_definitions_have_the_schedule_the_sensor_and_the_checks_of_every_layer():
    graph = defs.resolve_asset_graph()

    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert {
        ("raw_pageviews", "raw_rows_match_consumed_offsets"),
        ("raw_pageviews", "has_no_duplicate_lines"),
        ("raw_pageviews", "variant_fields_have_expected_types"),
        ("session_metrics", "has_no_overlapping_sessions"),
        ("session_metrics", "has_no_duplicate_sessions"),
        ("session_metrics", "session_views_reconcile_with_raw"),
    } <= checks
    assert defs.resolve_schedule_def("pageview_hourly_schedule").job_name == "pageview_hour"
    assert defs.resolve_sensor_def("pageview_topic_sensor").job_name == "pageview_consumers"
