-- Account for one committed batch.
INSERT INTO ANALYTICS.RAW.PAGEVIEWS_LOADS (
    LOAD_ID, TOPIC, MESSAGES, ROWS_LOADED, DUPLICATES, REJECTS, OFFSETS
)
VALUES (
    %(load_id)s, %(topic)s, %(messages)s, %(rows_loaded)s, %(duplicates)s, %(rejects)s,
    %(offsets)s
);
