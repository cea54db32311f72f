-- Give every staged message that the loader could not prove well formed its reason, or none.
-- The loader marks with %(unchecked)s only the values that do not have the exact shape the
-- publisher writes (normally none), so a clean batch costs one scan of the stage; each marked
-- value is parsed once. Types of the fields are left to the check
-- `variant_fields_have_expected_types`: a row with a text where a number belongs is still
-- what arrived, and RAW keeps it.
UPDATE ANALYTICS.RAW.PAGEVIEWS_STAGE AS S
SET REASON = C.REASON
FROM (
    SELECT
        KAFKA_PARTITION,
        KAFKA_OFFSET,
        CASE
            WHEN J IS NULL THEN 'value is not valid JSON'
            WHEN LEFT(TO_JSON(J), 1) <> '{' THEN 'value is not a JSON object'
            WHEN J:project IS NULL OR IS_NULL_VALUE(J:project) THEN 'field project is missing'
            WHEN J:page_title IS NULL OR IS_NULL_VALUE(J:page_title)
                THEN 'field page_title is missing'
            WHEN J:views IS NULL OR IS_NULL_VALUE(J:views) THEN 'field views is missing'
            WHEN J:bytes IS NULL OR IS_NULL_VALUE(J:bytes) THEN 'field bytes is missing'
            WHEN J:hour IS NULL OR IS_NULL_VALUE(J:hour) THEN 'field hour is missing'
        END AS REASON
    FROM (
        SELECT KAFKA_PARTITION, KAFKA_OFFSET, TRY_PARSE_JSON(VALUE) AS J
        FROM ANALYTICS.RAW.PAGEVIEWS_STAGE
        WHERE REASON = %(unchecked)s
    )
) AS C
WHERE S.KAFKA_PARTITION = C.KAFKA_PARTITION AND S.KAFKA_OFFSET = C.KAFKA_OFFSET;
