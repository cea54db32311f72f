-- The compute that loads RAW and runs the models: the smallest size, suspended after a minute
-- idle, so a pipeline that runs hourly pays for minutes, not hours.

-- snowflake-only: fakesnow has no virtual warehouses; DuckDB computes in the loading process.
CREATE WAREHOUSE IF NOT EXISTS LOAD_WH
    WITH WAREHOUSE_SIZE = 'XSMALL'
    AUTO_SUSPEND = 60
    AUTO_RESUME = TRUE
    INITIALLY_SUSPENDED = TRUE;
