-- Empty the stage before a batch is bulk loaded into it.
DELETE FROM ANALYTICS.RAW.PAGEVIEWS_STAGE;
