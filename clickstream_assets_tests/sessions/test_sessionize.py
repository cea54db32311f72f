from datetime import datetime

import pytest
from pyspark.sql import Row

from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.sessions.sessionize import (
    duration_seconds,
    kafka_source_options,
    parse_events,
    sessionize,
    to_session_rows,
)


def events_frame(spark, events):
    rows = [
        Row(project=p, event_time=datetime.fromisoformat(t), events=1, views=v, bytes=b, valid=True)
        for p, t, v, b in events
    ]
    return spark.createDataFrame(rows)


# en reads at 10:00 (twice), 11:00 and 13:00; de at 10:00.
HAND_MADE = [
    ("en", "2024-10-01 10:00:00", 5, 100),
    ("en", "2024-10-01 10:00:00", 3, 0),
    ("en", "2024-10-01 11:00:00", 2, 20),
    ("de", "2024-10-01 10:00:00", 7, 70),
    ("en", "2024-10-01 13:00:00", 1, 10),
]


def test_sessionize_hand_made_events_with_a_ten_minute_gap(spark):
    events = events_frame(spark, HAND_MADE)

    rows = to_session_rows(sessionize(events, "10 minutes"))

    assert [tuple(row.values()) for row in rows] == [
        ("de", "2024-10-01 10:00:00", "2024-10-01 10:10:00", 1, 7, 70),
        ("en", "2024-10-01 10:00:00", "2024-10-01 10:10:00", 2, 8, 100),
        ("en", "2024-10-01 11:00:00", "2024-10-01 11:10:00", 1, 2, 20),
        ("en", "2024-10-01 13:00:00", "2024-10-01 13:10:00", 1, 1, 10),
    ]


def test_sessionize_hand_made_events_with_a_gap_longer_than_an_hour(spark):
    events = events_frame(spark, HAND_MADE)

    rows = to_session_rows(sessionize(events, "90 minutes"))

    assert [tuple(row.values()) for row in rows] == [
        ("de", "2024-10-01 10:00:00", "2024-10-01 11:30:00", 1, 7, 70),
        ("en", "2024-10-01 10:00:00", "2024-10-01 12:30:00", 3, 10, 120),
        ("en", "2024-10-01 13:00:00", "2024-10-01 14:30:00", 1, 1, 10),
    ]


def test_parse_events_marks_values_that_are_not_the_published_json(spark):
    values = [
        b'{"project":"en","page_title":"A","views":3,"bytes":9,"hour":"2024-10-01T13:00:00Z"}',
        b"not json",
        b'{"project":"en","page_title":"B","views":"many","bytes":9,"hour":"2024-10-01T13:00:00Z"}',
        b'{"project":"de","page_title":"C","views":1,"bytes":2,"hour":"yesterday"}',
    ]
    messages = spark.createDataFrame([Row(value=v) for v in values])

    parsed = parse_events(messages).collect()

    assert [row.valid for row in parsed] == [True, False, False, False]
    assert parsed[0].event_time == datetime(2024, 10, 1, 13)
    assert (parsed[0].project, parsed[0].views, parsed[0].bytes) == ("en", 3, 9)


def test_duration_seconds_reads_spark_intervals_and_refuses_others():
    assert duration_seconds("10 minutes") == 600
    assert duration_seconds("15 min") == 900
    assert duration_seconds("1 hour") == 3600

    with pytest.raises(ValueError, match="'ten minutes' is not understood"):
        duration_seconds("ten minutes")


def test_kafka_source_options_carry_sasl_settings_to_the_java_client():
    kafka = KafkaResource(
        bootstrap_servers="broker:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="clickstream",
        sasl_password='se"cret',
    )

    options = kafka_source_options(kafka)

    assert options["kafka.bootstrap.servers"] == "broker:9093"
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.mechanism"] == "PLAIN"
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="clickstream" password="se\\"cret";'
    )
