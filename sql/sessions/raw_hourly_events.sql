-- RAW pageviews aggregated per project and hour, the input of a backfill: every event of an
-- hour shares its event time, so sessions over these weighted rows equal sessions over the
-- events themselves. RAW holds each dump line once, so a republished hour is not counted twice.
SELECT
    PROJECT,
    HOUR,
    COUNT(*) AS EVENTS,
    SUM(VIEWS) AS VIEWS,
    SUM(BYTES) AS BYTES
FROM ANALYTICS.RAW.PAGEVIEWS_TYPED
WHERE PROJECT IS NOT NULL AND HOUR IS NOT NULL AND VIEWS IS NOT NULL AND BYTES IS NOT NULL
GROUP BY PROJECT, HOUR
ORDER BY PROJECT, HOUR;
