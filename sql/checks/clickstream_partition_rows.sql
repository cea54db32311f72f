-- Rows and clicks of one clickstream partition in RAW.
SELECT COUNT(*) AS ROWS_LOADED, COALESCE(SUM(RAW:n::NUMBER(38, 0)), 0) AS SUM_N
FROM ANALYTICS.RAW.CLICKSTREAM
WHERE WIKI = %(wiki)s AND MONTH = %(month)s;
