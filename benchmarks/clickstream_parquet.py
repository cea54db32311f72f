"""Clickstream dump to parquet: the product's conversion against pandas, DuckDB and the floors.

    .venv/bin/python -m benchmarks.clickstream_parquet              # a full English month
    .venv/bin/python -m benchmarks.clickstream_parquet --rows 2000000 --no-readme

On one generated dump (33M rows by default, about the size of an English month; generated
once under the data dir's `benchmarks/` folder and reused), each variant runs in a child
process of its own, `--repeat` times, round-robin so that a noisy spell on a shared machine
hits every variant alike:

- `convert_clickstream`, the product path (`clickstream_parquet` asset);
- pandas `read_csv` of the whole file, then `to_parquet`, the way a first implementation
  would do it (and the way the project's reference implementation did);
- DuckDB `read_csv` -> `COPY ... TO` zstd parquet, the strongest off-the-shelf tool;
- the floors: `gzip -dc`, ISA-L's inflate alone, Arrow's streaming CSV reader alone, and the
  product's parallel parse alone (no validation, no writing);
- the analytics assets' computations and the profile on the product's parquet.

Every conversion must produce the dump's row count and the same sum of `n`; the run fails
otherwise. The table goes to stdout and, unless `--no-readme`, into README.md.
"""

from __future__ import annotations

import argparse
import csv
import logging
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import (
    Measurement,
    best,
    machine_note,
    markdown_table,
    report,
    run_child,
    timed,
    write_readme_section,
)

log = logging.getLogger("benchmarks.clickstream_parquet")

NAME = "clickstream_parquet"
WIKI = "enwiki"
MONTH = "2024-10"
FULL_ROWS = 33_000_000
COLUMNS = ["prev", "curr", "type", "n"]
# The goals the product path is held to (see the README section this writes).
GOAL_SPEEDUP_VS_PANDAS = 5.0
GOAL_PEAK_RSS_MB = 1536


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    # conversion: writes parquet; floor: reads only; analytics: reads the product's parquet.
    kind: str


VARIANTS = (
    Variant("product", "**`convert_clickstream`** (product)", "conversion"),
    Variant("pandas", "pandas `read_csv` + `to_parquet`", "conversion"),
    Variant("duckdb", "DuckDB `read_csv` -> `COPY` zstd parquet", "conversion"),
    Variant("gzip", "floor: `gzip -dc > /dev/null`", "floor"),
    Variant("isal", "floor: ISA-L igzip inflate, one thread", "floor"),
    Variant("arrow_stream", "floor: Arrow streaming CSV parse, no write", "floor"),
    Variant("product_parse", "floor: product's parallel parse, no validation or write", "floor"),
    Variant("entry_pages", "analytics: `top_entry_pages`", "analytics"),
    Variant("navigation", "analytics: `top_navigation_paths`, links", "analytics"),
    Variant("two_step", "analytics: `top_navigation_paths`, two-step paths", "analytics"),
    Variant("exits", "analytics: `page_exits` (exits_sql -> parquet)", "analytics"),
    Variant(
        "transitions", "analytics: `page_transitions` (transitions_sql -> parquet)", "analytics"
    ),
    Variant("profile", "analytics: `clickstream_profile`", "analytics"),
)
# The variants whose `rows` is the number of dump rows they read or wrote.
INPUT_ROW_COUNTERS = ("product", "pandas", "duckdb", "arrow_stream", "product_parse", "profile")


# Work done in the child processes. Each returns a payload with its own `seconds`, which
# leaves interpreter start-up and imports out of the comparison.


def _child_product(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.parsing import convert_clickstream

    result, seconds = timed(lambda: convert_clickstream(source, out / "product.parquet"))
    return {"seconds": seconds, "rows": result.rows, "sum_n": result.sum_n}


def _child_pandas(source: Path, out: Path) -> dict:
    import pandas as pd

    def convert() -> int:
        # QUOTE_NONE: titles hold bare quotes. na_filter=False: titles such as `NaN` and
        # `null` are articles, not missing values (it also spares pandas some work).
        frame = pd.read_csv(
            source,
            sep="\t",
            header=None,
            names=COLUMNS,
            quoting=csv.QUOTE_NONE,
            dtype={"prev": str, "curr": str, "type": str, "n": "int64"},
            na_filter=False,
        )
        frame.to_parquet(out / "pandas.parquet", index=False)
        return len(frame)

    rows, seconds = timed(convert)
    return {"seconds": seconds, "rows": rows}


def _child_duckdb(source: Path, out: Path) -> dict:
    import duckdb

    dest = out / "duckdb.parquet"
    # Quote and escape off, as the dumps have neither; types given, so nothing is sniffed.
    sql = f"""
        COPY (
            SELECT * FROM read_csv({_sql_string(source)}, delim = '\t', header = false,
                quote = '', escape = '', auto_detect = false,
                columns = {{'prev': 'VARCHAR', 'curr': 'VARCHAR', 'type': 'VARCHAR',
                            'n': 'BIGINT'}})
        ) TO {_sql_string(dest)} (FORMAT parquet, COMPRESSION zstd)
    """
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        rows, seconds = timed(lambda: con.execute(sql).fetchone()[0])
    return {"seconds": seconds, "rows": rows}


def _child_isal(source: Path, out: Path) -> dict:
    from isal import igzip

    def inflate() -> int:
        total = 0
        buffer = memoryview(bytearray(4 << 20))
        with igzip.open(source, "rb") as stream:
            while read := stream.readinto(buffer):
                total += read
        return total

    inflated, seconds = timed(inflate)
    return {"seconds": seconds, "bytes": inflated}


def _child_arrow_stream(source: Path, out: Path) -> dict:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from isal import igzip_threaded

    read = pacsv.ReadOptions(column_names=COLUMNS, block_size=16 << 20, use_threads=True)
    parse = pacsv.ParseOptions(
        delimiter="\t",
        quote_char=False,
        escape_char=False,
        double_quote=False,
        newlines_in_values=False,
        ignore_empty_lines=False,
    )
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(COLUMNS, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )

    def parse_all() -> int:
        # Inflated by ISA-L on its own thread, as in the product, so this row is the parser.
        with igzip_threaded.open(source, "rb", threads=1) as stream:
            reader = pacsv.open_csv(
                stream, read_options=read, parse_options=parse, convert_options=convert
            )
            return sum(batch.num_rows for batch in reader)

    rows, seconds = timed(parse_all)
    return {"seconds": seconds, "rows": rows}


def _child_product_parse(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.parsing import iter_clickstream_batches

    def parse_all() -> int:
        return sum(batch.num_rows for batch in iter_clickstream_batches(source, _refuse_row))

    rows, seconds = timed(parse_all)
    return {"seconds": seconds, "rows": rows}


def _refuse_row(text: str) -> None:
    raise ValueError(f"malformed row in a generated dump: {text!r}")


def _child_entry_pages(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.analytics import rank_entry_pages

    table, seconds = timed(lambda: rank_entry_pages(out / "product.parquet"))
    return {"seconds": seconds, "rows": table.num_rows}


def _child_navigation(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.analytics import rank_navigation_paths

    table, seconds = timed(lambda: rank_navigation_paths(out / "product.parquet"))
    return {"seconds": seconds, "rows": table.num_rows}


def _child_two_step(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.analytics import rank_two_step_paths

    table, seconds = timed(lambda: rank_two_step_paths(out / "product.parquet"))
    return {"seconds": seconds, "rows": table.num_rows}


def _child_exits(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.analytics import exits_sql, write_query

    parquet = out / "product.parquet"
    rows, seconds = timed(lambda: write_query(exits_sql(parquet), out / "exits.parquet"))
    return {"seconds": seconds, "rows": rows}


def _child_transitions(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.analytics import transitions_sql, write_query

    parquet = out / "product.parquet"
    sql = transitions_sql(parquet)
    rows, seconds = timed(lambda: write_query(sql, out / "transitions.parquet"))
    return {"seconds": seconds, "rows": rows}


def _child_profile(source: Path, out: Path) -> dict:
    from clickstream_assets.clickstream.profile import profile_clickstream

    profile, seconds = timed(lambda: profile_clickstream(out / "product.parquet"))
    return {"seconds": seconds, "rows": profile["rows"]}


CHILDREN: dict[str, Callable[[Path, Path], dict]] = {
    "product": _child_product,
    "pandas": _child_pandas,
    "duckdb": _child_duckdb,
    "isal": _child_isal,
    "arrow_stream": _child_arrow_stream,
    "product_parse": _child_product_parse,
    "entry_pages": _child_entry_pages,
    "navigation": _child_navigation,
    "two_step": _child_two_step,
    "exits": _child_exits,
    "transitions": _child_transitions,
    "profile": _child_profile,
}


def _sql_string(path: Path) -> str:
    return "'" + path.as_posix().replace("'", "''") + "'"


# The parent: prepare the dump, run every variant, verify, tabulate.


def ensure_dump(rows: int, seed: int, directory: Path) -> Path:
    """The generated dump for `rows` and `seed`, written once and reused afterwards.

    The generator is deterministic and writes atomically, so a file with this name is
    complete and holds exactly these rows. It runs in a child so that this process stays
    lean (see `benchmarks.common` on why the parent's size matters).
    """
    path = directory / f"clickstream-{WIKI}-{MONTH}-rows{rows}-seed{seed}.tsv.gz"
    if path.exists():
        log.info(f"reusing {path} ({path.stat().st_size / 2**20:,.0f} MB)")
        return path
    directory.mkdir(parents=True, exist_ok=True)
    log.info(f"generating {rows:,} rows into {path} (once; later runs reuse it)")
    command = [*_module_command("generate"), "--source", str(path)]
    generated = run_child([*command, "--rows", str(rows), "--seed", str(seed)])
    log.info(f"generated {rows:,} rows in {generated.seconds:.0f} s")
    return path


def _generate(path: Path, rows: int, seed: int) -> dict:
    from clickstream_assets.local.generator import write_clickstream_dump

    dump, seconds = timed(
        lambda: write_clickstream_dump(path, wiki=WIKI, month=MONTH, rows=rows, seed=seed)
    )
    return {"seconds": seconds, "rows": dump.rows}


def _module_command(child: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.clickstream_parquet", "--child", child]


def measure(variant: Variant, source: Path, out: Path) -> Measurement:
    if variant.name == "gzip":
        # exec: the shell becomes gzip, so wait4 reports gzip's own usage.
        command = ["sh", "-c", f"exec gzip -dc {shlex.quote(str(source))} > /dev/null"]
    else:
        command = [*_module_command(variant.name), "--source", str(source), "--out", str(out)]
    # An analytics query that fails is shown as failed in the table rather than losing the
    # conversions measured before it; a conversion that fails leaves nothing to compare.
    return run_child(command, check=variant.kind != "analytics")


def run_all(source: Path, out: Path, repeat: int) -> dict[str, list[Measurement]]:
    """Every variant `repeat` times, round-robin; the analytics after the conversions."""
    runs: dict[str, list[Measurement]] = {variant.name: [] for variant in VARIANTS}
    for kinds in (("conversion", "floor"), ("analytics",)):
        chosen = [variant for variant in VARIANTS if variant.kind in kinds]
        for round_number in range(1, repeat + 1):
            for variant in chosen:
                run = measure(variant, source, out)
                runs[variant.name].append(run)
                if run.error is not None:
                    log.warning(f"round {round_number}/{repeat} {variant.name} failed: {run.error}")
                    continue
                log.info(
                    f"round {round_number}/{repeat} {variant.name}: {run.seconds:.2f} s, "
                    f"peak RSS {run.peak_rss_mb:,.0f} MB, CPU {run.cpu_seconds:.1f} s, "
                    f"other processes {run.others_cores:.1f} cores"
                )
    return runs


def verify(runs: dict[str, list[Measurement]], rows: int, out: Path) -> dict[str, int]:
    """Check every variant's row count and the sums of `n`; return the parquet sizes."""
    import duckdb
    import pyarrow.parquet as pq

    problems = []
    for name in INPUT_ROW_COUNTERS:
        for run in runs[name]:
            if run.payload["rows"] != rows:
                problems.append(f"{name} counted {run.payload['rows']:,} rows, not {rows:,}")

    sizes, sums = {}, {}
    with duckdb.connect() as con:
        for name in ("product", "pandas", "duckdb"):
            path = out / f"{name}.parquet"
            written = pq.ParquetFile(path).metadata.num_rows
            if written != rows:
                problems.append(f"{path} holds {written:,} rows, not {rows:,}")
            sums[name] = con.execute(f"SELECT SUM(n) FROM read_parquet('{path}')").fetchone()[0]
            sizes[name] = path.stat().st_size
    reported = {run.payload["sum_n"] for run in runs["product"]}
    if len(set(sums.values()) | reported) != 1:
        problems.append(
            f"sums of n differ: parquet {sums}, convert_clickstream reported {reported}"
        )

    if problems:
        raise SystemExit("verification failed:\n  " + "\n  ".join(problems))
    log.info(f"verified: every variant has {rows:,} rows and sum(n) = {sums['product']:,}")
    return sizes


def render(
    runs: dict[str, list[Measurement]], rows: int, repeat: int, sizes: dict[str, int]
) -> str:
    """The README section: machine, goals and whether they are met, the table, how to read it."""
    results = {name: best(measured) for name, measured in runs.items()}
    pandas_s = results["pandas"].seconds
    table_rows = []
    failures = []
    for variant in VARIANTS:
        result = results[variant.name]
        if result.error is not None:
            failures.append(f"{variant.label} failed: `{result.error}`")
            table_rows.append(
                [f"{variant.label} [^{len(failures)}]", *["failed"] * 3, "—", "—", "—"]
            )
            continue
        speedup = "—" if variant.kind == "analytics" else f"{pandas_s / result.seconds:.1f}x"
        table_rows.append(
            [
                variant.label,
                f"{result.seconds:.2f}",
                f"{rows / result.seconds:,.0f}",
                f"{result.peak_rss_mb:,.0f}",
                speedup,
                f"{result.cpu_seconds:.1f}",
                f"{result.others_cores:.1f}",
            ]
        )
    headers = [
        "variant",
        "seconds",
        "rows/s",
        "peak RSS MB",
        "speed-up vs pandas",
        "CPU s",
        "other load (cores)",
    ]

    product, duck = results["product"], results["duckdb"]
    speedup = pandas_s / product.seconds
    goals = [
        (
            f"at least {GOAL_SPEEDUP_VS_PANDAS:.0f}x faster than pandas",
            speedup >= 5,
            f"{speedup:.1f}x",
        ),
        (
            "faster than DuckDB COPY",
            product.seconds < duck.seconds,
            f"{product.seconds:.2f} s vs {duck.seconds:.2f} s",
        ),
        (
            f"peak memory under {GOAL_PEAK_RSS_MB / 1024:.1f} GB",
            product.peak_rss_mb < GOAL_PEAK_RSS_MB,
            f"{product.peak_rss_mb:,.0f} MB",
        ),
    ]
    goal_text = "; ".join(
        f"{what}: **{'met' if ok else 'missed'}** ({value})" for what, ok, value in goals
    )
    mb = {name: size / 2**20 for name, size in sizes.items()}
    return "\n".join(
        [
            f"{machine_note()} Dump: {rows:,} generated `{WIKI}` rows "
            f"(`.venv/bin/python -m benchmarks.clickstream_parquet --rows {rows}`).",
            "",
            f"Goals for the product path: {goal_text}.",
            "",
            markdown_table(headers, table_rows),
            "",
            f"Best of {repeat} runs each, round-robin; peak RSS is the highest of the runs, each "
            "variant in a child process of its own (`VmHWM`, or `wait4` for gzip). Seconds "
            "exclude interpreter start-up and imports. "
            "*CPU s* is the child's user + system time (above *seconds* means it used more than "
            "one core); *other load* is how many cores other processes kept busy during the "
            "run, as this machine is shared. Rows/s for the analytics are input rows per second. "
            f"Parquet sizes: product {mb['product']:,.0f} MB (zstd 1), DuckDB "
            f"{mb['duckdb']:,.0f} MB (zstd), pandas {mb['pandas']:,.0f} MB (snappy, its default). "
            "Every conversion wrote the dump's row count and the same sum of `n`.",
            *(f"\n[^{number}]: {failure}" for number, failure in enumerate(failures, start=1)),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    from clickstream_assets import settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.clickstream_parquet")
    parser.add_argument("--rows", type=int, default=FULL_ROWS, help="rows of the generated dump")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated dump")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each variant (best kept)")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    parser.add_argument("--child", choices=[*CHILDREN, "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "generate":
        report(_generate(args.source, args.rows, args.seed))
        return
    if args.child:
        report(CHILDREN[args.child](args.source, args.out))
        return

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    directory = settings.data_dir() / "benchmarks"
    source = ensure_dump(args.rows, args.seed, directory)
    out = directory / f"out-rows{args.rows}"
    out.mkdir(parents=True, exist_ok=True)

    runs = run_all(source, out, args.repeat)
    sizes = verify(runs, args.rows, out)
    section = render(runs, args.rows, args.repeat, sizes)

    print(section)
    if not args.no_readme:
        write_readme_section(NAME, section)
        log.info("wrote the table into README.md's performance section")


if __name__ == "__main__":
    main()
