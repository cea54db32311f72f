-- Move a partition's position forward; offsets_insert.sql adds a partition's first row.
UPDATE ANALYTICS.MODELLED.SESSIONIZED_OFFSETS
SET NEXT_OFFSET = %(next_offset)s, UPDATED_AT = CURRENT_TIMESTAMP()
WHERE TOPIC = %(topic)s AND PARTITION = %(partition)s;
