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
# Heap of the local Kafka broker: a one-node demo broker is comfortable in well under 1 GB, and
# the machines this runs on also host Spark and Dagster.
DEFAULT_KAFKA_BROKER_HEAP = "768m"

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

# The demo materializes one month of two wikis; a fixed month keeps demos reproducible and is
# published on the real site.
DEMO_MONTH = "2024-10-01"
DEMO_WIKIS = ("enwiki", "dewiki")
# Rows the demo streams from the head of each real dump, so a month takes a minute, not an hour.
DEMO_ROW_CAP = 200_000
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
