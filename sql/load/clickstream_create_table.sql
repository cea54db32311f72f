-- A table of the RAW clickstream's shape, for loads by hand into a table of one's choosing.
CREATE TABLE IF NOT EXISTS {table} LIKE ANALYTICS.RAW.CLICKSTREAM;
