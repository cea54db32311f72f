-- Give every staged message that cannot become a RAW row its reason. Types of the fields are
-- left to the check `variant_fields_have_expected_types`: a row with a text where a number
-- belongs is still what arrived, and RAW keeps it.
UPDATE ANALYTICS.RAW.PAGEVIEWS_STAGE
SET REASON = CASE
    WHEN TRY_PARSE_JSON(VALUE) IS NULL THEN 'value is not valid JSON'
    WHEN LEFT(TO_JSON(TRY_PARSE_JSON(VALUE)), 1) <> '{' THEN 'value is not a JSON object'
    WHEN TRY_PARSE_JSON(VALUE):project IS NULL
        OR IS_NULL_VALUE(TRY_PARSE_JSON(VALUE):project) THEN 'field project is missing'
    WHEN TRY_PARSE_JSON(VALUE):page_title IS NULL
        OR IS_NULL_VALUE(TRY_PARSE_JSON(VALUE):page_title) THEN 'field page_title is missing'
    WHEN TRY_PARSE_JSON(VALUE):views IS NULL
        OR IS_NULL_VALUE(TRY_PARSE_JSON(VALUE):views) THEN 'field views is missing'
    WHEN TRY_PARSE_JSON(VALUE):bytes IS NULL
        OR IS_NULL_VALUE(TRY_PARSE_JSON(VALUE):bytes) THEN 'field bytes is missing'
    WHEN TRY_PARSE_JSON(VALUE):hour IS NULL
        OR IS_NULL_VALUE(TRY_PARSE_JSON(VALUE):hour) THEN 'field hour is missing'
END
WHERE REASON IS NULL;
