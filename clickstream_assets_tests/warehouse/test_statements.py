import pytest

from clickstream_assets.warehouse.statements import (
    InvalidIdentifier,
    bootstrap_files,
    qualified_name,
    render,
    split_statements,
    statement,
)


def test_qualified_name_fills_database_and_schema():
    assert qualified_name("pageviews") == "ANALYTICS.RAW.PAGEVIEWS"
    assert qualified_name("modelled.Funnels") == "ANALYTICS.MODELLED.FUNNELS"
    assert qualified_name("OTHER.RAW.X$1") == "OTHER.RAW.X$1"


@pytest.mark.parametrize(
    "name",
    ["PAGEVIEWS; DROP TABLE X", "A.B.C.D", "1TABLE", "RAW.", '"QUOTED"', "A B", "", "X--"],
)
def test_qualified_name_refuses_non_identifiers(name):
    with pytest.raises(InvalidIdentifier, match="not a Snowflake identifier"):
        qualified_name(name)


def test_render_refuses_a_malicious_table_before_formatting():
    template = statement("load/clickstream_delete_partition")

    with pytest.raises(InvalidIdentifier):
        render(template, table="PAGEVIEWS; DROP TABLE X")

    assert render(template, table="mine").startswith("DELETE FROM ANALYTICS.RAW.MINE\n")


def test_split_statements_keeps_semicolons_in_strings_and_reads_markers():
    sql = (
        "-- a comment; with a semicolon\n"
        "SELECT 'a;b', 'it''s';\n"
        "\n"
        "-- snowflake-only: no roles here\n"
        "CREATE ROLE R;\n"
        "-- trailing comment\n"
    )

    statements = split_statements(sql, "test.sql")

    assert [s.text for s in statements] == ["SELECT 'a;b', 'it''s'", "CREATE ROLE R"]
    assert [s.snowflake_only for s in statements] == [None, "no roles here"]


def test_bootstrap_files_are_in_name_order():
    names = [path.name for path in bootstrap_files()]

    assert names == sorted(names)
    assert names[:2] == ["00_warehouse.sql", "10_database.sql"]
