-- Copy the staged partition into its table as VARIANT rows {prev, curr, type, n}.
INSERT INTO {table} (RAW, WIKI, MONTH, SOURCE_FILE, LINE_NUMBER)
SELECT
    OBJECT_CONSTRUCT('prev', S.PREV, 'curr', S.CURR, 'type', S.TYPE, 'n', S.N),
    %(wiki)s,
    %(month)s,
    %(source_file)s,
    S.LINE_NUMBER
FROM ANALYTICS.RAW.CLICKSTREAM_STAGE AS S;
