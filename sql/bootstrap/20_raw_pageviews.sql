-- Pageview messages from Kafka, one row per message, as they arrived. A line of an hourly dump
-- is identified by (SOURCE_FILE, LINE_NUMBER): loads skip a line that is already here, so a
-- republished hour adds no duplicates. KAFKA_TOPIC, KAFKA_PARTITION and KAFKA_OFFSET say which
-- message a row came from.
CREATE TABLE IF NOT EXISTS ANALYTICS.RAW.PAGEVIEWS (
    RAW VARIANT NOT NULL,
    SOURCE_FILE VARCHAR NOT NULL,
    LINE_NUMBER NUMBER(38, 0) NOT NULL,
    KAFKA_TOPIC VARCHAR NOT NULL,
    KAFKA_PARTITION NUMBER(10, 0) NOT NULL,
    KAFKA_OFFSET NUMBER(38, 0) NOT NULL,
    INGESTED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()
);

-- Messages that could not be loaded (not JSON, not an object, a field or header missing), with
-- the value as text and the reason, so nothing consumed disappears without a trace.
CREATE TABLE IF NOT EXISTS ANALYTICS.RAW.PAGEVIEWS_REJECTS (
    KAFKA_TOPIC VARCHAR NOT NULL,
    KAFKA_PARTITION NUMBER(10, 0) NOT NULL,
    KAFKA_OFFSET NUMBER(38, 0) NOT NULL,
    SOURCE_FILE VARCHAR,
    LINE_NUMBER NUMBER(38, 0),
    VALUE VARCHAR,
    REASON VARCHAR NOT NULL,
    REJECTED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()
);

-- Where the RAW load stands in each partition: NEXT_OFFSET is the first message not yet
-- loaded, FIRST_OFFSET the first one it ever loaded. Written in the same transaction as the
-- rows, so rows and offsets can never disagree.
CREATE TABLE IF NOT EXISTS ANALYTICS.RAW.LOADED_OFFSETS (
    TOPIC VARCHAR NOT NULL,
    PARTITION NUMBER(10, 0) NOT NULL,
    FIRST_OFFSET NUMBER(38, 0) NOT NULL,
    NEXT_OFFSET NUMBER(38, 0) NOT NULL,
    UPDATED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
    PRIMARY KEY (TOPIC, PARTITION)
);

-- One row per committed batch: how its messages were accounted for. The reconciliation check
-- compares these counts with the offsets and with the rows in RAW.
CREATE TABLE IF NOT EXISTS ANALYTICS.RAW.PAGEVIEWS_LOADS (
    LOAD_ID VARCHAR NOT NULL,
    TOPIC VARCHAR NOT NULL,
    MESSAGES NUMBER(38, 0) NOT NULL,
    ROWS_LOADED NUMBER(38, 0) NOT NULL,
    DUPLICATES NUMBER(38, 0) NOT NULL,
    REJECTS NUMBER(38, 0) NOT NULL,
    OFFSETS VARCHAR NOT NULL,
    LOADED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()
);

-- Scratch space of the loader: one batch of message values as text, bulk loaded here and then
-- copied into PAGEVIEWS with PARSE_JSON. Transient: it needs no fail-safe history. Loads run one
-- at a time (the Dagster pool `warehouse`), so one stage table suffices.
CREATE TRANSIENT TABLE IF NOT EXISTS ANALYTICS.RAW.PAGEVIEWS_STAGE (
    VALUE VARCHAR,
    SOURCE_FILE VARCHAR,
    LINE_NUMBER NUMBER(38, 0),
    KAFKA_PARTITION NUMBER(10, 0),
    KAFKA_OFFSET NUMBER(38, 0),
    REASON VARCHAR
);

-- Typed columns over the VARIANT, for analysts and reconciliation. TRY_ casts give NULL for a
-- field of the wrong type (the check variant_fields_have_expected_types counts those) instead of
-- failing every query of the view.
CREATE OR REPLACE VIEW ANALYTICS.RAW.PAGEVIEWS_TYPED AS
SELECT
    RAW:project::STRING AS PROJECT,
    RAW:page_title::STRING AS PAGE_TITLE,
    TRY_TO_NUMBER(RAW:views::STRING) AS VIEWS,
    TRY_TO_NUMBER(RAW:bytes::STRING) AS BYTES,
    -- The hour only when it has the shape the publisher writes (fakesnow has no TRY_TO_TIMESTAMP).
    CASE
        WHEN RLIKE(RAW:hour::STRING, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00:00Z')
            THEN TO_TIMESTAMP_NTZ(RAW:hour::STRING)
    END AS HOUR,
    SOURCE_FILE,
    LINE_NUMBER,
    KAFKA_TOPIC,
    KAFKA_PARTITION,
    KAFKA_OFFSET,
    INGESTED_AT
FROM ANALYTICS.RAW.PAGEVIEWS;
