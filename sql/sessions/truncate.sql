-- Empty the target, for a rebuild that the asset's run config confirmed explicitly.
TRUNCATE TABLE ANALYTICS.MODELLED.SESSION_METRICS;
