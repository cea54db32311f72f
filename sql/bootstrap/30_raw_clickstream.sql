-- Clickstream months as VARIANT rows {prev, curr, type, n}, one per line of a dump, with the
-- partition they belong to. A load replaces its (WIKI, MONTH) in one transaction.
CREATE TABLE IF NOT EXISTS ANALYTICS.RAW.CLICKSTREAM (
    RAW VARIANT NOT NULL,
    WIKI VARCHAR NOT NULL,
    MONTH DATE NOT NULL,
    SOURCE_FILE VARCHAR NOT NULL,
    LINE_NUMBER NUMBER(38, 0) NOT NULL,
    INGESTED_AT TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()
);

-- Scratch space of the clickstream loader, filled batch by batch before the replacing
-- transaction copies it.
CREATE TRANSIENT TABLE IF NOT EXISTS ANALYTICS.RAW.CLICKSTREAM_STAGE (
    PREV VARCHAR,
    CURR VARCHAR,
    TYPE VARCHAR,
    N NUMBER(38, 0),
    LINE_NUMBER NUMBER(38, 0)
);

-- Typed columns for funnel queries in Snowflake: n(prev -> curr) per wiki and month.
CREATE OR REPLACE VIEW ANALYTICS.RAW.CLICKSTREAM_TYPED AS
SELECT
    WIKI,
    MONTH,
    RAW:prev::STRING AS PREV,
    RAW:curr::STRING AS CURR,
    RAW:type::STRING AS TYPE,
    RAW:n::NUMBER(38, 0) AS N,
    SOURCE_FILE,
    LINE_NUMBER,
    INGESTED_AT
FROM ANALYTICS.RAW.CLICKSTREAM;
