-- RAW holds what arrived, as it arrived (VARIANT plus where it came from); MODELLED holds what
-- the pipeline derives from it.

CREATE DATABASE IF NOT EXISTS ANALYTICS;

CREATE SCHEMA IF NOT EXISTS ANALYTICS.RAW;

CREATE SCHEMA IF NOT EXISTS ANALYTICS.MODELLED;
