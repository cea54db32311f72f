-- Rows whose VARIANT fields do not have the types the typed view casts to: project,
-- page_title and hour are JSON strings (hour an ISO 8601 UTC hour), views and bytes JSON
-- integers. TO_JSON shows a field's JSON form, which reads the same in Snowflake and fakesnow.
SELECT
    COUNT(*) AS ROWS_CHECKED,
    COUNT_IF(LEFT(TO_JSON(RAW:project), 1) <> '"') AS PROJECT_NOT_STRING,
    COUNT_IF(LEFT(TO_JSON(RAW:page_title), 1) <> '"') AS PAGE_TITLE_NOT_STRING,
    COUNT_IF(NOT REGEXP_LIKE(TO_JSON(RAW:views), '^-?[0-9]+$')) AS VIEWS_NOT_INTEGER,
    COUNT_IF(NOT REGEXP_LIKE(TO_JSON(RAW:bytes), '^-?[0-9]+$')) AS BYTES_NOT_INTEGER,
    COUNT_IF(NOT REGEXP_LIKE(
        TO_JSON(RAW:hour), '^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00:00Z"$'
    )) AS HOUR_NOT_TIMESTAMP
FROM ANALYTICS.RAW.PAGEVIEWS;
