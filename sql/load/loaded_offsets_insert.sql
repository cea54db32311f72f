-- The first load of a partition records where it started and where it stands.
INSERT INTO ANALYTICS.RAW.LOADED_OFFSETS (TOPIC, PARTITION, FIRST_OFFSET, NEXT_OFFSET)
SELECT %(topic)s, %(partition)s, %(first_offset)s, %(next_offset)s
WHERE NOT EXISTS (
    SELECT 1
    FROM ANALYTICS.RAW.LOADED_OFFSETS
    WHERE TOPIC = %(topic)s AND PARTITION = %(partition)s
);
