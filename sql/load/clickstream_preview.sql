-- The partition's most travelled links, typed, for the asset's preview.
SELECT PREV, CURR, TYPE, N
FROM ANALYTICS.RAW.CLICKSTREAM_TYPED
WHERE WIKI = %(wiki)s AND MONTH = %(month)s
ORDER BY N DESC, PREV, CURR
LIMIT 10;
