-- The role the pipeline runs as: it may use LOAD_WH, read and write rows in RAW and MODELLED
-- and create tables in RAW (for `clickstream warehouse load --table`), and nothing else: it
-- cannot drop schemas, change grants or read other databases. An administrator runs this
-- bootstrap once (SYSADMIN for the objects, SECURITYADMIN for the role) and grants the role to
-- the pipeline's service user.
--
-- Future grants cover the tables and views created by the files after this one.

-- snowflake-only: fakesnow has no roles.
CREATE ROLE IF NOT EXISTS CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no roles or virtual warehouses.
GRANT USAGE, OPERATE ON WAREHOUSE LOAD_WH TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT USAGE ON DATABASE ANALYTICS TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT USAGE, CREATE TABLE ON SCHEMA ANALYTICS.RAW TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT USAGE ON SCHEMA ANALYTICS.MODELLED TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON FUTURE TABLES IN SCHEMA ANALYTICS.RAW
    TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ANALYTICS.RAW
    TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON FUTURE TABLES IN SCHEMA ANALYTICS.MODELLED
    TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ANALYTICS.MODELLED
    TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT SELECT ON FUTURE VIEWS IN SCHEMA ANALYTICS.RAW TO ROLE CLICKSTREAM_PIPELINE;

-- snowflake-only: fakesnow has no grants.
GRANT SELECT ON FUTURE VIEWS IN SCHEMA ANALYTICS.MODELLED TO ROLE CLICKSTREAM_PIPELINE;
