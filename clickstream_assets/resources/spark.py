"""Spark as a Dagster resource: `dagster_pyspark.PySparkResource` configured from settings.

The same resource runs the sessionizer on `local[*]` (the default), on `local-cluster[...]`
with separate executor JVMs, on a cluster master, or through Spark Connect (`sc://host`):
only the configuration built here differs.

Spark's `kafka` source is not part of pip's pyspark. By default its jars come from the folder
Maven fills from jvm/pom.xml (SPARK_KAFKA_JARS=local); `packages` hands Spark the same Maven
coordinates to resolve itself, and `off` adds nothing, for a cluster that ships the connector.
"""

# No `from __future__ import annotations` here: it is the module of a Dagster resource factory.

import os

import pyspark
from dagster_pyspark import PySparkResource

from clickstream_assets import settings
from clickstream_assets.local.jvm import spark_kafka_jars

LOOPBACK = "127.0.0.1"
# The connector must match the installed PySpark exactly (Scala 2.13 builds since Spark 4).
KAFKA_CONNECTOR = f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


def spark_config(
    master: str | None = None,
    *,
    app_name: str = "clickstream",
    ui: bool | None = None,
    kafka_jars: str | None = None,
    shuffle_partitions: int | None = None,
) -> dict[str, str]:
    """The Spark configuration for `master` (default SPARK_MASTER); arguments override settings.

    Every run of the project computes in UTC: session boundaries are stored as UTC timestamps,
    and a driver in another time zone must not shift them.
    """
    master = master or settings.spark_master()
    local = master.startswith("local")
    kafka_jars = kafka_jars or settings.spark_kafka_jars()
    ui = settings.spark_ui_enabled() if ui is None else ui
    shuffle_partitions = shuffle_partitions or settings.spark_shuffle_partitions()

    config = {
        "spark.app.name": app_name,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": str(ui).lower(),
        # A streaming query keeps this many progress reports; the asset's metadata sums them.
        "spark.sql.streaming.numRecentProgressUpdates": "1000",
        # Merge events into sessions inside each partition before the shuffle: with hourly
        # aggregates most events of a project share one event time, so this shrinks the
        # shuffle to about one row per project and partition.
        "spark.sql.streaming.sessionWindow.merge.sessions.in.local.partition": "true",
    }
    if master.startswith("sc://"):
        config["spark.remote"] = master
    else:
        config["spark.master"] = master
    if local:
        # The driver listens on loopback only: a local run needs no reachable address, and a
        # laptop's changing network must not break it.
        config["spark.driver.bindAddress"] = LOOPBACK
        config["spark.driver.host"] = LOOPBACK
    if shuffle_partitions:
        config["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    driver_memory = settings.spark_driver_memory()
    if driver_memory and local:
        config["spark.driver.memory"] = driver_memory
    if kafka_jars == "local":
        config["spark.jars"] = ",".join(str(jar) for jar in spark_kafka_jars())
    elif kafka_jars == "packages":
        config["spark.jars.packages"] = KAFKA_CONNECTOR
    return config


def spark_from_env(**overrides) -> PySparkResource:
    """The PySparkResource as SPARK_* settings describe it (see `spark_config` for overrides)."""
    config = spark_config(**overrides)
    if config.get("spark.master", "").startswith("local"):
        # Spark picks the address its block manager and executors use from this variable
        # before it reads any configuration.
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    return PySparkResource(spark_config=config)
