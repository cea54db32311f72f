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
    assert children == CLICKSTREAM_ASSETS - {"clickstream_dump", "clickstream_parquet"}
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
