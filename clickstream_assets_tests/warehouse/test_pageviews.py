from datetime import datetime

import pytest
from confluent_kafka import Producer

from clickstream_assets.warehouse.pageviews import load_pageviews, loaded_offsets
from clickstream_assets.warehouse.runner import bootstrap
from clickstream_assets_tests.warehouse.conftest import (
    expected_rows,
    pageview_lines,
    publish,
    raw_rows,
    scalar,
    write_hour,
)


def test_load_pageviews_matches_source(tmp_path, warehouse, kafka):
    lines = pageview_lines(3_000)
    dump = write_hour(tmp_path / "dumps", lines)
    published = publish(kafka, dump)
    bootstrap(warehouse)

    result = load_pageviews(warehouse, kafka, batch_size=1_000)

    rows = raw_rows(warehouse, kafka.topic)
    assert result.rows_loaded == published.messages == 3_000
    assert result.duplicates == result.rejects == 0
    assert {row[:6] for row in rows} == expected_rows(lines, dump.name)
    assert {row[6] for row in rows} == {datetime(2024, 10, 1, 13)}
    assert loaded_offsets(warehouse, kafka.topic) == kafka.end_offsets()


def test_load_pageviews_again_changes_nothing(tmp_path, warehouse, kafka):
    publish(kafka, write_hour(tmp_path / "dumps", pageview_lines(500)))
    bootstrap(warehouse)
    load_pageviews(warehouse, kafka)
    offsets = loaded_offsets(warehouse, kafka.topic)

    again = load_pageviews(warehouse, kafka)

    assert again.messages == again.rows_loaded == again.batches == 0
    assert loaded_offsets(warehouse, kafka.topic) == offsets
    assert scalar(warehouse, "SELECT COUNT(*) FROM ANALYTICS.RAW.PAGEVIEWS") == 500


def test_load_pageviews_republished_hour_adds_no_duplicates(tmp_path, warehouse, kafka):
    dump = write_hour(tmp_path / "dumps", pageview_lines(800))
    publish(kafka, dump)
    bootstrap(warehouse)
    load_pageviews(warehouse, kafka, batch_size=300)

    publish(kafka, dump)
    publish(kafka, dump)
    second = load_pageviews(warehouse, kafka, batch_size=300)

    assert second.messages == 1_600
    assert second.rows_loaded == 0
    assert second.duplicates == 1_600
    assert scalar(warehouse, "SELECT COUNT(*) FROM ANALYTICS.RAW.PAGEVIEWS") == 800


def test_load_pageviews_republished_within_one_batch_keeps_one_copy(tmp_path, warehouse, kafka):
    dump = write_hour(tmp_path / "dumps", pageview_lines(400))
    publish(kafka, dump)
    publish(kafka, dump)
    bootstrap(warehouse)

    result = load_pageviews(warehouse, kafka, batch_size=10_000)

    assert (result.messages, result.rows_loaded, result.duplicates) == (800, 400, 400)
    assert (
        scalar(
            warehouse,
            "SELECT COUNT(DISTINCT SOURCE_FILE || ':' || LINE_NUMBER) FROM ANALYTICS.RAW.PAGEVIEWS",
        )
        == 400
    )


class Crash(RuntimeError):
    pass


def test_load_pageviews_crash_after_first_batch_then_rerun_is_exact(tmp_path, warehouse, kafka):
    publish(kafka, write_hour(tmp_path / "dumps", pageview_lines(2_000)))
    bootstrap(warehouse)

    def crash(batch):
        raise Crash(f"stopped after batch {batch.number}")

    with pytest.raises(Crash):
        load_pageviews(warehouse, kafka, batch_size=500, after_batch=crash)
    after_crash = scalar(warehouse, "SELECT COUNT(*) FROM ANALYTICS.RAW.PAGEVIEWS")
    rerun = load_pageviews(warehouse, kafka, batch_size=500)

    assert after_crash == 500
    assert rerun.messages == rerun.rows_loaded == 1_500
    assert scalar(warehouse, "SELECT COUNT(*) FROM ANALYTICS.RAW.PAGEVIEWS") == 2_000
    assert loaded_offsets(warehouse, kafka.topic) == kafka.end_offsets()


def test_load_pageviews_max_messages_leaves_the_rest_for_the_next_load(tmp_path, warehouse, kafka):
    publish(kafka, write_hour(tmp_path / "dumps", pageview_lines(1_000)))
    bootstrap(warehouse)

    first = load_pageviews(warehouse, kafka, max_messages=600)
    second = load_pageviews(warehouse, kafka, max_messages=600)

    assert (first.messages, second.messages) == (600, 400)
    assert scalar(warehouse, "SELECT COUNT(*) FROM ANALYTICS.RAW.PAGEVIEWS") == 1_000


def test_load_pageviews_rejects_land_with_reasons(warehouse, kafka):
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    good = b'{"project":"en","page_title":"A","views":1,"bytes":2,"hour":"2024-10-01T13:00:00Z"}'
    headers = [("source_file", b"pageviews-20241001-130000.gz"), ("hour", b"x")]
    messages = [
        (good, [*headers, ("line_number", b"1")]),
        (b"{not json", [*headers, ("line_number", b"2")]),
        (b"[1, 2]", [*headers, ("line_number", b"3")]),
        (b'{"project":"en","views":1,"bytes":2,"hour":"h"}', [*headers, ("line_number", b"4")]),
        (
            b'{"project":null,"page_title":"B","views":1,"bytes":2,"hour":"h"}',
            [*headers, ("line_number", b"5")],
        ),
        (good, [("hour", b"x")]),
        (b"\xff\xfe", [*headers, ("line_number", b"7")]),
    ]
    for value, message_headers in messages:
        producer.produce(kafka.topic, value, b"en", partition=0, headers=message_headers)
    producer.flush(30)
    bootstrap(warehouse)

    result = load_pageviews(warehouse, kafka)

    with warehouse.connection() as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT KAFKA_OFFSET, REASON FROM ANALYTICS.RAW.PAGEVIEWS_REJECTS "
            "WHERE KAFKA_TOPIC = %s ORDER BY KAFKA_OFFSET",
            (kafka.topic,),
        )
        rejects = cursor.fetchall()
    assert (result.rows_loaded, result.rejects) == (1, 6)
    assert rejects == [
        (1, "value is not valid JSON"),
        (2, "value is not a JSON object"),
        (3, "field page_title is missing"),
        (4, "field project is missing"),
        (5, "header source_file is missing"),
        (6, "value is not UTF-8"),
    ]
    assert loaded_offsets(warehouse, kafka.topic) == {0: 7}
