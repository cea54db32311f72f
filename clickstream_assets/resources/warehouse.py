"""The warehouse as a Dagster resource: Snowflake in production, fakesnow on a local file
by default.

Both forms are `dagster_snowflake.SnowflakeResource`; the embedded one is used inside
`fakesnow.patch(db_path=<data dir>/warehouse)`, which answers Snowflake SQL with DuckDB and
keeps one file per database there (ANALYTICS.db). The patch acts in the process that enters
it, so every connection enters it itself.

A DuckDB file admits one writing process at a time, and fakesnow holds it for as long as the
patch is entered. Connections are therefore short (one per load step, the patch left as soon
as the connection closes), warehouse-writing assets share the Dagster pool `warehouse` with
limit 1, and a connection that finds the file locked by another process retries for a while.

Secrets (password, private key) stay `EnvVar`s inside the SnowflakeResource: `describe()`,
log lines, metadata and errors of this module name the account, user, role and warehouse only.
"""

# No `from __future__ import annotations` here: Dagster reads resource annotations at runtime.

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar
from dagster_snowflake import SnowflakeResource
from pydantic import Field

from clickstream_assets import settings

logger = logging.getLogger(__name__)

# fakesnow's cursor warns about a copy it makes itself on every fetch; the caller can change
# nothing about it, and the line would repeat in every run log.
warnings.filterwarnings(
    "ignore", message="Arrow output on a DB-API result", category=UserWarning, module="fakesnow"
)

POOL = "warehouse"
# Placeholders the embedded warehouse's SnowflakeResource needs to validate; fakesnow ignores
# them, and they are not credentials of anything.
EMBEDDED_ACCOUNT = "fakesnow"
EMBEDDED_USER = "clickstream"
EMBEDDED_PASSWORD = "fakesnow"
LOCK_RETRY_S = (0.05, 0.1, 0.2, 0.5, 1.0)

# fakesnow patches snowflake.connector for the whole process and refuses to be entered twice,
# so threads of one process take turns, and a connection opened while another is open in the
# same thread reuses the entered patch.
_patch_lock = threading.RLock()
_patch_depth = 0


class WarehouseLocked(RuntimeError):
    """Another process kept the embedded warehouse's file locked for too long."""


class WarehouseResource(ConfigurableResource):
    """The Snowflake warehouse (ANALYTICS database), or its embedded fakesnow stand-in."""

    snowflake: SnowflakeResource
    embedded_path: str | None = Field(
        default=None,
        description="Directory of the embedded fakesnow warehouse; unset means real Snowflake.",
    )
    lock_timeout_s: float = Field(
        default=60.0,
        description="How long a connection waits for another process to release the embedded "
        "warehouse's file.",
    )

    @property
    def embedded(self) -> bool:
        return self.embedded_path is not None

    def with_lock_timeout(self, seconds: float) -> "WarehouseResource":
        """The same warehouse with another patience for a locked file (sensors use a short one)."""
        return self.model_copy(update={"lock_timeout_s": seconds})

    def describe(self) -> str:
        """Where this resource points, safe to log (no credentials)."""
        if self.embedded:
            return f"fakesnow at {self.embedded_path}"
        config = self.snowflake
        role = f", role {config.role}" if config.role else ""
        return f"Snowflake account {config.account} as {config.user}{role}"

    @contextlib.contextmanager
    def connection(self) -> Iterator:
        """A short-lived connection; closed (and the embedded file released) on exit.

        It autocommits: a multi-statement change opens `BEGIN` ... `COMMIT` itself (see
        `clickstream_assets.warehouse.transaction`).
        """
        if not self.embedded:
            with _closing(self.snowflake) as conn:
                yield conn
            return
        with _embedded(Path(self.embedded_path)):
            conn = self._connect_embedded()
            try:
                yield conn
            finally:
                conn.close()

    def write_pandas(self, conn, frame, table: str) -> int:
        """Bulk load a data frame into an existing table `DATABASE.SCHEMA.TABLE`; rows written.

        The function is looked up at call time: a name imported before `fakesnow.patch` would
        still point at the real connector's function.
        """
        from snowflake.connector.pandas_tools import write_pandas

        database, schema, name = table.split(".")
        _, _, rows, _ = write_pandas(
            conn, frame, name, database=database, schema=schema, quote_identifiers=False
        )
        return rows

    def _connect_embedded(self):
        deadline = time.monotonic() + self.lock_timeout_s
        attempt = 0
        while True:
            try:
                return self.snowflake.get_connection().__enter__()
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"the embedded warehouse at {self.embedded_path} stayed locked by another "
                        f"process for {self.lock_timeout_s:.0f} s; DuckDB admits one writing "
                        "process at a time (is a run of the `warehouse` pool still going?)"
                    ) from None
                pause = LOCK_RETRY_S[min(attempt, len(LOCK_RETRY_S) - 1)]
                logger.info(f"embedded warehouse is locked by another process; retry in {pause} s")
                time.sleep(pause)
                attempt += 1


@contextlib.contextmanager
def _closing(snowflake: SnowflakeResource) -> Iterator:
    # SnowflakeResource.get_connection does not close the connection when the body raises, so
    # the connection is opened through it and closed here either way.
    manager = snowflake.get_connection()
    conn = manager.__enter__()
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def _embedded(path: Path) -> Iterator[None]:
    global _patch_depth
    import fakesnow

    with _patch_lock:
        if _patch_depth:
            _patch_depth += 1
            try:
                yield
            finally:
                _patch_depth -= 1
            return
        path.mkdir(parents=True, exist_ok=True)
        with fakesnow.patch(db_path=path):
            _patch_depth = 1
            try:
                yield
            finally:
                _patch_depth = 0


def embedded_snowflake() -> SnowflakeResource:
    """The SnowflakeResource the embedded warehouse uses inside `fakesnow.patch`."""
    return SnowflakeResource(
        account=EMBEDDED_ACCOUNT,
        user=EMBEDDED_USER,
        password=EMBEDDED_PASSWORD,
        database=settings.DEFAULT_SNOWFLAKE_DATABASE,
        # Every statement names its objects fully; fakesnow's MERGE still needs a current
        # schema for the scratch table it creates.
        schema="RAW",
        warehouse=settings.DEFAULT_SNOWFLAKE_WAREHOUSE,
    )


def warehouse_from_env() -> WarehouseResource:
    """Snowflake from SNOWFLAKE_* when SNOWFLAKE_ACCOUNT is set, else fakesnow under the data dir.

    Password and private key path stay EnvVars, resolved only when a run opens a connection.
    """
    if not settings.snowflake_account():
        return WarehouseResource(
            snowflake=embedded_snowflake(), embedded_path=str(settings.warehouse_dir())
        )
    key_path = settings.snowflake_private_key_path()
    return WarehouseResource(
        snowflake=SnowflakeResource(
            account=EnvVar("SNOWFLAKE_ACCOUNT"),
            user=EnvVar("SNOWFLAKE_USER"),
            password=EnvVar("SNOWFLAKE_PASSWORD") if settings.snowflake_password_set() else None,
            private_key_path=EnvVar("SNOWFLAKE_PRIVATE_KEY_PATH") if key_path else None,
            role=settings.snowflake_role(),
            warehouse=settings.snowflake_warehouse(),
            database=settings.snowflake_database(),
        )
    )
