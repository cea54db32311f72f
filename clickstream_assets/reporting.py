"""Small helpers every asset uses to report: markdown previews and atomically written reports."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa


def markdown_table(table: pa.Table, limit: int = 10) -> str:
    """A markdown preview of the first `limit` rows (floats rounded, pipes escaped)."""
    rows = table.slice(0, limit).to_pylist()
    if not rows:
        return "_no rows_"
    names = table.column_names

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(row[name]) for name in names) + " |" for row in rows]
    return "\n".join(lines)


def write_texts(directory: Path, name: str, texts: dict[str, str]) -> dict[str, Path]:
    """Write `<name>.<suffix>` for each suffix and text, each atomically; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for suffix, text in texts.items():
        path = directory / f"{name}.{suffix}"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        paths[suffix] = path
    return paths
