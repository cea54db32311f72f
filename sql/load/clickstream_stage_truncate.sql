-- Empty the clickstream stage before a partition is bulk loaded into it.
DELETE FROM ANALYTICS.RAW.CLICKSTREAM_STAGE;
