-- Sessions per project, written by the Spark sessionizer once the watermark has closed them.
-- A session is identified by (PROJECT, SESSION_START): the sessionizer MERGEs on that pair, so
-- a repeated or killed run never leaves two rows for one session.
CREATE TABLE IF NOT EXISTS ANALYTICS.MODELLED.SESSION_METRICS (
    PROJECT VARCHAR NOT NULL,
    SESSION_START TIMESTAMP_NTZ NOT NULL,
    SESSION_END TIMESTAMP_NTZ NOT NULL,
    EVENTS NUMBER(38, 0) NOT NULL,
    TOTAL_VIEWS NUMBER(38, 0) NOT NULL,
    TOTAL_BYTES NUMBER(38, 0) NOT NULL,
    LOADED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()
);

-- Where the sessionizer stands in each partition of the topic, copied from its Spark checkpoint
-- after every micro-batch, so the sensor can compare it with the topic's end offsets without
-- reading Spark's files.
CREATE TABLE IF NOT EXISTS ANALYTICS.MODELLED.SESSIONIZED_OFFSETS (
    TOPIC VARCHAR NOT NULL,
    PARTITION NUMBER(10, 0) NOT NULL,
    NEXT_OFFSET NUMBER(38, 0) NOT NULL,
    UPDATED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
    PRIMARY KEY (TOPIC, PARTITION)
);

-- Scratch space of the sessionizer: one micro-batch of closed sessions, bulk loaded here and
-- merged into SESSION_METRICS. Timestamps arrive as UTC text and are cast in the MERGE.
CREATE TRANSIENT TABLE IF NOT EXISTS ANALYTICS.MODELLED.SESSION_METRICS_STAGE (
    PROJECT VARCHAR,
    SESSION_START VARCHAR,
    SESSION_END VARCHAR,
    EVENTS NUMBER(38, 0),
    TOTAL_VIEWS NUMBER(38, 0),
    TOTAL_BYTES NUMBER(38, 0)
);
