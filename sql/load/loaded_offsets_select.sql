-- The next offset to load in each partition of a topic.
SELECT PARTITION, NEXT_OFFSET
FROM ANALYTICS.RAW.LOADED_OFFSETS
WHERE TOPIC = %(topic)s
ORDER BY PARTITION;
