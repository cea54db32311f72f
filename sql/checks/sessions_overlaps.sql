-- Sessions of a project that begin before the project's previous session has ended: with
-- session windows, two such sessions should have been one.
SELECT COUNT(*) AS OVERLAPPING_SESSIONS
FROM (
    SELECT
        SESSION_START,
        LAG(SESSION_END) OVER (PARTITION BY PROJECT ORDER BY SESSION_START) AS PREVIOUS_END
    FROM ANALYTICS.MODELLED.SESSION_METRICS
)
WHERE PREVIOUS_END > SESSION_START;
