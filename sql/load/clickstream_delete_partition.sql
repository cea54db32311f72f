-- Remove the partition a load replaces.
DELETE FROM {table}
WHERE WIKI = %(wiki)s AND MONTH = %(month)s;
