"""Every environment variable the project reads, its default, and every path under the data dir.

Values are read when a function is called, not at import, so a test or a CLI command can set
the environment first. Nothing here depends on the working directory: the default data dir is
resolved from the package location.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
JVM_DIR = REPO_ROOT / "jvm"

DEFAULT_DUMPS_URL = "https://dumps.wikimedia.org"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_KAFKA_TOPIC = "pageviews"
DEFAULT_SPARK_MASTER = "local[*]"
# Where Spark finds its Kafka connector: `local` puts the jars that Maven resolved from
# jvm/pom.xml on spark.jars, `packages` lets Spark resolve the same coordinates itself (needs
# the internet), `off` adds nothing, for a cluster whose image already ships the connector.
SPARK_KAFKA_JARS_CHOICES = ("local", "packages", "off")
DEFAULT_SPARK_KAFKA_JARS = "local"
# Shuffle partitions of a local master: Spark's 200 make every micro-batch of a stateful query
# schedule 200 tiny tasks on two cores. A streaming checkpoint fixes the number at its first
# batch, so changing it later needs a fresh checkpoint.
DEFAULT_SPARK_LOCAL_SHUFFLE_PARTITIONS = 4
# The local driver runs the executors' work too; Spark's 1g default is tight for a 5M-event hour.
DEFAULT_SPARK_LOCAL_DRIVER_MEMORY = "2g"
# Heap of the local Kafka broker: a one-node demo broker is comfortable in well under 1 GB, and
# the machines this runs on also host Spark and Dagster.
DEFAULT_KAFKA_BROKER_HEAP = "768m"
# The warehouse objects every statement in sql/ names; SNOWFLAKE_* variables point elsewhere
# only for the connection's defaults.
DEFAULT_SNOWFLAKE_DATABASE = "ANALYTICS"
DEFAULT_SNOWFLAKE_WAREHOUSE = "LOAD_WH"

# Wikis that Wikimedia publishes clickstream dumps for.
CLICKSTREAM_WIKIS = (
    "enwiki",
    "dewiki",
    "eswiki",
    "fawiki",
    "frwiki",
    "itwiki",
    "jawiki",
    "plwiki",
    "ptwiki",
    "ruwiki",
    "zhwiki",
)
# The first month published on dumps.wikimedia.org.
CLICKSTREAM_START_MONTH = "2017-11-01"

# The demo materializes two months of two wikis, so the dashboard can compare months; fixed
# months keep demos reproducible and are published on the real site. The newest comes last.
DEMO_MONTHS = ("2024-09-01", "2024-10-01")
DEMO_MONTH = DEMO_MONTHS[-1]
DEMO_WIKIS = ("enwiki", "dewiki")
# Rows the demo streams from the head of each real dump, so a month takes a minute, not an hour.
DEMO_ROW_CAP = 200_000
# Complete pageview hours the demo downloads, profiles and publishes.
DEMO_PAGEVIEW_HOURS = 3
# Rows the local mirror generates for a clickstream dump it is asked for the first time.
DEFAULT_MIRROR_CLICKSTREAM_ROWS = 50_000
# Lines the local mirror generates for an hourly pageview dump it is asked for the first time
# (a real hour has 5-8 million; this keeps an hourly demo run to seconds).
DEFAULT_MIRROR_PAGEVIEW_LINES = 20_000

WEBSERVER_HOST = "127.0.0.1"
DEFAULT_WEBSERVER_PORT = 3000
DEFAULT_DASHBOARD_PORT = 8501
DEFAULT_MIRROR_PORT = 8765


def env(name: str, default: str | None = None) -> str | None:
    """Return the environment variable, treating an empty value as unset."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def data_dir() -> Path:
    """The one directory that holds dumps, parquet, reports, warehouse and service state."""
    configured = env("CLICKSTREAM_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else REPO_ROOT / "data"


def dumps_url() -> str:
    """Base URL of the dumps site (or of the local mirror, which serves the same paths)."""
    return (env("WIKIMEDIA_DUMPS_URL") or DEFAULT_DUMPS_URL).rstrip("/")


def dagster_home() -> Path:
    configured = env("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else data_dir() / "dagster_home"


def kafka_bootstrap() -> str:
    return env("KAFKA_BOOTSTRAP") or DEFAULT_KAFKA_BOOTSTRAP


def kafka_topic() -> str:
    return env("KAFKA_TOPIC") or DEFAULT_KAFKA_TOPIC


def spark_master() -> str:
    return env("SPARK_MASTER") or DEFAULT_SPARK_MASTER


def spark_master_is_local() -> bool:
    """Whether the master runs on this machine (`local[*]`, `local-cluster[...]`)."""
    return spark_master().startswith("local")


def spark_kafka_jars() -> str:
    """`local`, `packages` or `off`: how Spark gets its Kafka connector (SPARK_KAFKA_JARS)."""
    value = (env("SPARK_KAFKA_JARS") or DEFAULT_SPARK_KAFKA_JARS).lower()
    if value not in SPARK_KAFKA_JARS_CHOICES:
        raise ValueError(
            f"SPARK_KAFKA_JARS is {value!r}; expected one of {', '.join(SPARK_KAFKA_JARS_CHOICES)}"
        )
    return value


def spark_shuffle_partitions() -> int | None:
    """spark.sql.shuffle.partitions; unset means a small number locally, Spark's default else."""
    value = env("SPARK_SHUFFLE_PARTITIONS")
    if value:
        return int(value)
    return DEFAULT_SPARK_LOCAL_SHUFFLE_PARTITIONS if spark_master_is_local() else None


def spark_driver_memory() -> str | None:
    """spark.driver.memory; unset means 2g locally and the cluster's own default elsewhere."""
    return env("SPARK_DRIVER_MEMORY") or (
        DEFAULT_SPARK_LOCAL_DRIVER_MEMORY if spark_master_is_local() else None
    )


def spark_ui_enabled() -> bool:
    """Whether the Spark UI starts (SPARK_UI_ENABLED, default on); tests turn it off."""
    return (env("SPARK_UI_ENABLED") or "true").lower() not in ("0", "false", "no", "off")


def snowflake_account() -> str | None:
    """The Snowflake account; unset means the embedded fakesnow warehouse under the data dir."""
    return env("SNOWFLAKE_ACCOUNT")


def snowflake_user() -> str | None:
    return env("SNOWFLAKE_USER")


def snowflake_password_set() -> bool:
    """Whether SNOWFLAKE_PASSWORD is set; the value itself is only ever read through EnvVar."""
    return env("SNOWFLAKE_PASSWORD") is not None


def snowflake_private_key_path() -> str | None:
    """A PEM private key for key-pair authentication, instead of a password."""
    return env("SNOWFLAKE_PRIVATE_KEY_PATH")


def snowflake_role() -> str | None:
    return env("SNOWFLAKE_ROLE")


def snowflake_warehouse() -> str:
    return env("SNOWFLAKE_WAREHOUSE") or DEFAULT_SNOWFLAKE_WAREHOUSE


def snowflake_database() -> str:
    return env("SNOWFLAKE_DATABASE") or DEFAULT_SNOWFLAKE_DATABASE


def java_home() -> Path | None:
    """The JDK that runs the local broker; unset means the `java` found on PATH."""
    configured = env("JAVA_HOME")
    return Path(configured).expanduser() if configured else None


def kafka_broker_heap() -> str:
    """Maximum heap (`-Xmx`) of the local Kafka broker, in JVM notation such as 768m or 1g."""
    return env("KAFKA_BROKER_HEAP") or DEFAULT_KAFKA_BROKER_HEAP


def webserver_port() -> int:
    return int(env("DAGSTER_WEBSERVER_PORT") or DEFAULT_WEBSERVER_PORT)


def dashboard_port() -> int:
    return int(env("DASHBOARD_PORT") or DEFAULT_DASHBOARD_PORT)


def mirror_port() -> int:
    return int(env("CLICKSTREAM_MIRROR_PORT") or DEFAULT_MIRROR_PORT)


# Paths under the data dir. Each kind of file has its own folder.


def dumps_dir() -> Path:
    return data_dir() / "dumps"


def mirror_dir() -> Path:
    """Root of the files the local mirror serves, laid out like dumps.wikimedia.org."""
    return data_dir() / "mirror"


def parquet_dir() -> Path:
    return data_dir() / "parquet"


def reports_dir() -> Path:
    return data_dir() / "reports"


def analytics_dir() -> Path:
    return data_dir() / "analytics"


def quarantine_dir() -> Path:
    return data_dir() / "quarantine"


def jvm_dir() -> Path:
    """Jars that Maven resolved from jvm/pom.xml, one folder per part (kafka-broker, ...)."""
    return data_dir() / "jvm"


def warehouse_dir() -> Path:
    """The embedded warehouse: fakesnow keeps one DuckDB file per database here (ANALYTICS.db)."""
    return data_dir() / "warehouse"


def spark_checkpoint_dir() -> Path | str:
    """Root of Spark's streaming checkpoints (SPARK_CHECKPOINT_DIR, default under the data dir).

    On a cluster this must be storage every executor and the driver reach (a URI such as
    s3a://bucket/checkpoints), which is then returned as it is.
    """
    configured = env("SPARK_CHECKPOINT_DIR")
    if configured and "://" in configured:
        return configured.rstrip("/")
    if configured:
        return Path(configured).expanduser().resolve()
    return data_dir() / "checkpoints"


def kafka_broker_dir() -> Path:
    """Storage, generated config, pid file and logs of the local Kafka broker."""
    return data_dir() / "kafka"


def clickstream_dump_path(wiki: str, month: str) -> Path:
    """Local copy of one clickstream dump; `month` is a partition key such as 2024-10-01."""
    ym = month[:7]
    return dumps_dir() / "clickstream" / ym / f"clickstream-{wiki}-{ym}.tsv.gz"


def clickstream_dump_url_path(wiki: str, month: str) -> str:
    """The path of a clickstream dump on the dumps site."""
    ym = month[:7]
    return f"/other/clickstream/{ym}/clickstream-{wiki}-{ym}.tsv.gz"


def clickstream_partition_dir(root: Path, wiki: str, month: str) -> Path:
    return root / "clickstream" / f"wiki={wiki}" / f"month={month[:7]}"


def clickstream_parquet_path(wiki: str, month: str) -> Path:
    return clickstream_partition_dir(parquet_dir(), wiki, month) / "clickstream.parquet"


def clickstream_quarantine_path(wiki: str, month: str) -> Path:
    return clickstream_partition_dir(quarantine_dir(), wiki, month) / "bad_lines.tsv"


def clickstream_report_dir(wiki: str, month: str) -> Path:
    return clickstream_partition_dir(reports_dir(), wiki, month)


def clickstream_analytics_path(name: str, wiki: str, month: str) -> Path:
    """Parquet file of one analytics asset (top_entry_pages, page_exits, ...) for a partition."""
    return clickstream_partition_dir(analytics_dir(), wiki, month) / f"{name}.parquet"


def clickstream_row_cap() -> int | None:
    """Rows streamed from the head of each clickstream dump; unset means the whole dump."""
    value = env("CLICKSTREAM_ROW_CAP")
    return int(value) if value else None


# The hourly schedule runs at this minute, for the hour before the current one: the dumps
# site publishes an hour's file some minutes after the hour ends.
PAGEVIEW_SCHEDULE_MINUTE = 45

# Hourly pageview dumps are published since May 2015.
PAGEVIEW_START_HOUR = "2015-05-01-00:00"


def pageview_dump_url_path(hour: datetime) -> str:
    """The path of an hourly pageview dump on the dumps site."""
    return f"/other/pageviews/{hour:%Y}/{hour:%Y-%m}/pageviews-{hour:%Y%m%d-%H}0000.gz"


def pageview_dump_path(hour: datetime) -> Path:
    return dumps_dir() / pageview_dump_url_path(hour).removeprefix("/other/")


def pageview_report_dir(hour: datetime) -> Path:
    return reports_dir() / "pageviews" / f"{hour:%Y-%m-%d}"


def pageview_report_name(hour: datetime) -> str:
    return f"profile-{hour:%H}00"
