import os

from clickstream_assets.reading import catalog
from clickstream_assets.reading.catalog import ClickstreamDataset
from clickstream_assets_tests.reading.materialized import HOUR, MONTHS, WIKI


def test_clickstream_datasets_list_materialized_months_newest_first(materialized):
    datasets = catalog.clickstream_datasets()

    assert datasets == [ClickstreamDataset(WIKI, month) for month in sorted(MONTHS, reverse=True)]
    assert datasets[0].partition_key == f"{MONTHS[1]}|{WIKI}"
    assert datasets[0].label == f"{WIKI} {MONTHS[1][:7]}"


def test_clickstream_datasets_of_an_empty_data_dir_are_none(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path))

    datasets = catalog.clickstream_datasets()

    assert datasets == []


def test_clickstream_datasets_ignore_folders_that_are_no_partition(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path))
    stray = tmp_path / "parquet" / "clickstream" / "wiki=enwiki" / "month=latest"
    stray.mkdir(parents=True)
    (stray / "clickstream.parquet").write_bytes(b"")

    datasets = catalog.clickstream_datasets()

    assert datasets == []


def test_pageview_hours_list_profiled_hours(materialized):
    hours = catalog.pageview_hours()

    assert hours == [HOUR]
    assert catalog.pageview_report(HOUR).is_file()
    assert catalog.pageview_partition_key(HOUR) == "2024-10-01-13:00"


def test_version_of_a_missing_file_is_none(tmp_path):
    version = catalog.version_of(tmp_path / "page_exits.parquet")

    assert version is None


def test_version_of_a_replaced_file_changes(tmp_path):
    path = tmp_path / "page_exits.parquet"
    path.write_bytes(b"first")
    before = catalog.version_of(path)

    replacement = tmp_path / ".page_exits.parquet.tmp"
    replacement.write_bytes(b"second!")
    os.replace(replacement, path)

    after = catalog.version_of(path)
    assert before != after
    assert after.path == str(path)
