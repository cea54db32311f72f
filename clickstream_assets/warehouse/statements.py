"""Reading the statements in sql/: splitting files, markers, and identifiers made safe to format.

Values always travel as bound parameters (`%(name)s`). The few statements that name a table
chosen at run time (a load by hand into `--table NAME`) carry a `{name}` placeholder, and
`render` fills it only with an identifier that matches IDENTIFIER, so a name such as
`PAGEVIEWS; DROP TABLE X` is refused before any SQL reaches the warehouse.

A statement preceded by a `-- snowflake-only: reason` comment is one fakesnow cannot express
(virtual warehouses, roles, grants); the runner skips it on the embedded warehouse and logs the
reason. The decision is the marker's, never an error caught and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from clickstream_assets import settings

# One to three dot-separated parts (table, schema.table or database.schema.table), each an
# unquoted Snowflake identifier: a letter or underscore, then letters, digits, _ or $.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")
MAX_IDENTIFIER_LENGTH = 255
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
SNOWFLAKE_ONLY = re.compile(r"^\s*--\s*snowflake-only\b:?\s*(.*)$", re.IGNORECASE)
DEFAULT_DATABASE = settings.DEFAULT_SNOWFLAKE_DATABASE
DEFAULT_SCHEMA = "RAW"


class InvalidIdentifier(ValueError):
    """A table or schema name that is not a plain Snowflake identifier."""


@dataclass(frozen=True)
class Statement:
    """One statement of a file in sql/, without its comment lines."""

    source: str
    number: int
    text: str
    snowflake_only: str | None = None

    @property
    def label(self) -> str:
        """`bootstrap/20_raw_pageviews.sql#3`, for log lines and errors."""
        return f"{self.source}#{self.number}"

    @property
    def summary(self) -> str:
        """The statement's first line, for log lines."""
        return self.text.splitlines()[0].strip()


def qualified_name(name: str) -> str:
    """`name` as an uppercase ANALYTICS.<schema>.<table> name, or InvalidIdentifier.

    A bare table name lands in ANALYTICS.RAW and `schema.table` in ANALYTICS.
    """
    if len(name) > MAX_IDENTIFIER_LENGTH or not IDENTIFIER.match(name):
        raise InvalidIdentifier(
            f"table name {name!r} is not a Snowflake identifier: expected TABLE, SCHEMA.TABLE or "
            "DATABASE.SCHEMA.TABLE, each part a letter or _ followed by letters, digits, _ or $"
        )
    parts = name.upper().split(".")
    if len(parts) == 1:
        parts = [DEFAULT_DATABASE, DEFAULT_SCHEMA, *parts]
    elif len(parts) == 2:
        parts = [DEFAULT_DATABASE, *parts]
    return ".".join(parts)


def render(text: str, **identifiers: str) -> str:
    """Fill the statement's `{name}` placeholders with validated, fully qualified names."""
    names = {key: qualified_name(value) for key, value in identifiers.items()}

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key not in names:
            raise KeyError(f"statement needs an identifier for {{{key}}}")
        return names[key]

    return PLACEHOLDER.sub(fill, text)


def split_statements(sql: str, source: str) -> list[Statement]:
    """The statements of a file, split at semicolons outside quotes and comments."""
    statements: list[Statement] = []
    current: list[str] = []
    quote = False
    index = 0
    while index < len(sql):
        char = sql[index]
        if quote:
            # A doubled quote inside a string is an escaped quote, not its end.
            if char == "'" and sql[index + 1 : index + 2] == "'":
                current.append("''")
                index += 2
                continue
            quote = char != "'"
        elif char == "'":
            quote = True
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = len(sql) if end < 0 else end
            current.append(sql[index:end])
            index = end
            continue
        elif char == ";":
            _append(statements, "".join(current), source)
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    if quote:
        raise ValueError(f"{source}: a string literal is not closed")
    _append(statements, "".join(current), source)
    return statements


def _append(statements: list[Statement], chunk: str, source: str) -> None:
    marker = None
    lines = []
    for line in chunk.splitlines():
        found = SNOWFLAKE_ONLY.match(line)
        if found:
            marker = found.group(1).strip() or "not expressible in fakesnow"
        elif not line.strip().startswith("--") and line.strip():
            lines.append(line.rstrip())
    if lines:
        number = len(statements) + 1
        statements.append(Statement(source, number, "\n".join(lines), marker))


@cache
def _read(path: Path) -> tuple[Statement, ...]:
    source = path.relative_to(settings.SQL_DIR).as_posix()
    return tuple(split_statements(path.read_text(encoding="utf-8"), source))


def statements_of(relative: str) -> tuple[Statement, ...]:
    """Every statement of `sql/<relative>` (for example `bootstrap/10_database.sql`)."""
    return _read(settings.SQL_DIR / relative)


def statement(name: str) -> str:
    """The one statement of `sql/<name>.sql` (for example `load/pageviews_insert_rows`)."""
    found = statements_of(f"{name}.sql")
    if len(found) != 1:
        raise ValueError(f"sql/{name}.sql holds {len(found)} statements; expected exactly one")
    return found[0].text


def bootstrap_files() -> list[Path]:
    """The files of sql/bootstrap/, in name order, which is the order they are applied in."""
    return sorted((settings.SQL_DIR / "bootstrap").glob("*.sql"))
