-- Move a partition's position forward (the partition already has a row; see
-- loaded_offsets_insert.sql for its first load). An UPDATE and an INSERT rather than one MERGE:
-- fakesnow cannot run MERGE inside a transaction, and both forms mean the same in Snowflake.
UPDATE ANALYTICS.RAW.LOADED_OFFSETS
SET NEXT_OFFSET = %(next_offset)s, UPDATED_AT = CURRENT_TIMESTAMP()
WHERE TOPIC = %(topic)s AND PARTITION = %(partition)s;
