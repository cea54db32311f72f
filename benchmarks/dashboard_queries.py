"""Dashboard interactions: the reading functions behind each view against pandas on the raw month.

    .venv/bin/python -m benchmarks.dashboard_queries                    # full-size English months
    .venv/bin/python -m benchmarks.dashboard_queries --data-dir DIR     # an existing data dir
    .venv/bin/python -m benchmarks.dashboard_queries --rows 300000 --repeat 3 --no-readme

The dashboard answers every interaction from what the clickstream assets materialized, with
the pure functions of `clickstream_assets.reading`. This benchmark calls those functions
directly, as the dashboard does on a first visit (no Streamlit cache), for each interaction a
user makes, and compares each with the reference way of answering it: `pd.read_parquet` of the
whole clickstream parquet of the month (both months where a view needs two), then the same
computation in pandas. Where a view is about one page or a few links, the reference filters
their rows first, as a pandas user would, rather than computing every page's figures.

The data is two generated English months (2024-09 and 2024-10, 33M rows each by default)
materialized by the real assets: Dagster's `materialize()` runs `clickstream_dump` (downloading
from the project's local mirror, which generates the dump), `clickstream_parquet` and every
analytics asset into `data/benchmarks/dashboard-rows<N>-seed<S>/`, once; later runs reuse it.
`--data-dir` points at any data dir that already holds both months.

Each product run is a child process of its own that imports the reading functions and then
times its first call, so no DuckDB or Python state survives from an earlier call; the files
are in the page cache, as they are on a dashboard server. Each reference run is a child too
(peak RSS is its own). Every interaction's product result must equal its reference result;
the run fails otherwise. The table goes to stdout and, unless `--no-readme`, into README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Measurement,
    machine_note,
    markdown_table,
    report,
    run_child,
    timed,
    write_readme_section,
)

log = logging.getLogger("benchmarks.dashboard_queries")

NAME = "dashboard_queries"
WIKI = "enwiki"
# Month B is the one the views open on (the newest); month A is the one it is compared with.
MONTH_A, MONTH_B = "2024-09-01", "2024-10-01"
FULL_ROWS = 33_000_000
GOAL_SPEEDUP = 20.0
GOAL_MEDIAN_MS = 200.0
# What the views offer by default or a user would plausibly pick.
MIN_VIEWS = 1_000  # the drop-off slider's default
DROP_LIMIT = 50
RANKED = 100  # rows the ranking views show
PICKER_MATCHES = 50  # dashboard.parts.PICKER_MATCHES
FUNNEL_STEPS = 3
NEXT_OPTIONS = 20
FLOW_TOP = 8
SAMPLE_SEED = 7
SAMPLE_ROWS = 100
CHANGES = 25  # dashboard.views.compare.CHANGES


@dataclass(frozen=True)
class Interaction:
    name: str
    label: str
    # The reading functions the dashboard calls for it.
    calls: str


INTERACTIONS = (
    Interaction(
        "month",
        "choose month: months on disk, headline numbers",
        "`clickstream_datasets`, `read_profile`",
    ),
    Interaction(
        "entry_pages",
        "entry pages of a source (`search`)",
        "`entry_sources`, `entry_pages`",
    ),
    Interaction(
        "navigation",
        "navigation paths: links and two-step paths",
        "`navigation_paths`, `two_step_paths`",
    ),
    Interaction(
        "drop_offs",
        f"drop-offs at min views {MIN_VIEWS:,}",
        "`count_pages`, `drop_offs`",
    ),
    Interaction("search", "page search (title starts with)", "`search_pages`"),
    Interaction(
        "next_pages",
        "funnel step: where readers go next",
        "`next_pages`",
    ),
    Interaction("funnel", f"funnel evaluation, {FUNNEL_STEPS} steps", "`funnel`"),
    Interaction(
        "page_flow",
        "Sankey flow of a page",
        "`page_inflows`, `page_outflows`, `page_flow`",
    ),
    Interaction(
        "source_mix",
        "source mix of a page across two months",
        "`page_inflows` x 2, `source_mix`",
    ),
    Interaction("raw_sample", "raw rows sample", "`sample_rows`"),
    Interaction("compare_entry", "compare months: entry pages", "`changed_entry_pages`"),
    Interaction("compare_exits", "compare months: exits", "`changed_exits`"),
    Interaction("compare_transitions", "compare months: transitions", "`changed_transitions`"),
)
BY_NAME = {interaction.name: interaction for interaction in INTERACTIONS}


# The choices a user makes, picked once from the product's own answers as the views offer
# them (the first option of each picker), so both sides answer the same question.


def _plan() -> dict:
    from clickstream_assets.reading import clickstream
    from clickstream_assets.reading.catalog import ClickstreamDataset

    month = ClickstreamDataset(WIKI, MONTH_B)
    exits = month.analytics("page_exits")
    transitions = month.analytics("page_transitions")
    # The flow's picker opens on the most viewed page and the funnel's on the most viewed page
    # with clicks onward; each funnel step takes the likeliest next page that readers leave
    # for another article in turn (the last step, the likeliest of all).
    flow_page = clickstream.top_pages(exits, 1).iloc[0].to_dict()
    funnel_pages = [clickstream.top_pages(exits, 1, with_clicks_onward=True).page.iloc[0]]
    while len(funnel_pages) < FUNNEL_STEPS:
        options = clickstream.next_pages(transitions, funnel_pages[-1], NEXT_OPTIONS).curr
        if options.empty:
            break
        last = len(funnel_pages) == FUNNEL_STEPS - 1
        onward = [p for p in options if last or not clickstream.next_pages(transitions, p, 1).empty]
        funnel_pages.append((onward or list(options))[0])
    # A search for the first word of a title further down the most viewed, as typed.
    title = clickstream.top_pages(exits, 100).page.iloc[-1]
    search = title.split("_")[0][:8].lower() or title[:8]
    sources = clickstream.entry_sources(month.analytics("top_entry_pages"))
    return {
        "flow_page": {key: _plain(value) for key, value in flow_page.items()},
        "funnel_pages": funnel_pages,
        "search": search,
        "source": "search" if "search" in sources else sources[0],
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# The product: what the dashboard calls, by interaction. Each returns named parts that the
# reference must match.


def _months() -> tuple[Any, Any]:
    from clickstream_assets.reading.catalog import ClickstreamDataset

    return ClickstreamDataset(WIKI, MONTH_A), ClickstreamDataset(WIKI, MONTH_B)


def _product(name: str, plan: dict) -> Callable[[], dict]:
    from clickstream_assets.reading import catalog, clickstream, compare

    a, b = _months()
    exits, transitions = b.analytics("page_exits"), b.analytics("page_transitions")
    index = b.analytics("page_index")
    page = plan["flow_page"]["page"]

    def inflows_of(month: Any, page: str) -> Any:
        return clickstream.page_inflows(month.analytics("page_referrers"), page)

    def month() -> dict:
        datasets = catalog.clickstream_datasets()
        chosen = catalog.months_of(datasets, WIKI)[0]
        profile = clickstream.read_profile(chosen.profile)
        return {"months": [d.month for d in datasets], "headline": _headline_of(profile)}

    def entry_pages() -> dict:
        path = b.analytics("top_entry_pages")
        sources = clickstream.entry_sources(path)
        return {"sources": sources, "pages": clickstream.entry_pages(path, plan["source"], RANKED)}

    def navigation() -> dict:
        links = clickstream.navigation_paths(b.analytics("top_navigation_paths"), RANKED)
        paths = clickstream.two_step_paths(b.analytics("top_two_step_paths"), RANKED)
        return {"links": links, "two_step": paths}

    def drop_offs() -> dict:
        return {
            "count": clickstream.count_pages(exits, MIN_VIEWS),
            "pages": clickstream.drop_offs(exits, MIN_VIEWS, DROP_LIMIT),
        }

    def flow() -> dict:
        inflows = inflows_of(b, page)
        outflows = clickstream.page_outflows(transitions, page, FLOW_TOP)
        return {"flow": clickstream.page_flow(inflows, outflows, plan["flow_page"], FLOW_TOP)}

    def source_mix() -> dict:
        mixes = [
            clickstream.source_mix(inflows_of(month, page)).assign(month=month.month[:7])
            for month in (a, b)
        ]
        return {"mix": _concat(mixes)}

    def changed_entry() -> dict:
        paths = (a.analytics("top_entry_pages"), b.analytics("top_entry_pages"))
        changes = compare.changed_entry_pages(*paths, "all", CHANGES)
        return {"changes": changes.frame, "unseen_at_most": changes.unseen_at_most}

    def changed_transitions() -> dict:
        changes = compare.changed_transitions(
            a.analytics("top_navigation_paths"),
            b.analytics("top_navigation_paths"),
            a.analytics("page_transitions"),
            transitions,
            CHANGES,
        )
        return {"changes": changes.frame, "unseen_at_most": changes.unseen_at_most}

    work = {
        "month": month,
        "entry_pages": entry_pages,
        "navigation": navigation,
        "drop_offs": drop_offs,
        "search": lambda: {
            "pages": clickstream.search_pages(exits, index, plan["search"], PICKER_MATCHES)
        },
        "next_pages": lambda: {
            "pages": clickstream.next_pages(transitions, plan["funnel_pages"][0], NEXT_OPTIONS)
        },
        "funnel": lambda: {"funnel": clickstream.funnel(transitions, plan["funnel_pages"])},
        "page_flow": flow,
        "source_mix": source_mix,
        "raw_sample": lambda: {
            "rows": clickstream.sample_rows(b.parquet, SAMPLE_SEED, SAMPLE_ROWS)
        },
        "compare_entry": changed_entry,
        "compare_exits": lambda: {
            "changes": compare.changed_exits(
                a.analytics("page_exits"), exits, a.analytics("page_index"), index, limit=CHANGES
            ).frame
        },
        "compare_transitions": changed_transitions,
    }
    return work[name]


def _headline_of(profile: dict) -> dict:
    return {
        "rows": profile["rows"],
        "clicks": profile["clicks"],
        "pages": profile["distinct"]["pages"],
    }


def _concat(frames: list) -> Any:
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


# The reference: the whole raw month in pandas on each interaction, then the same view.


class Reference:
    """Each view computed from `pd.read_parquet` of the month's whole clickstream parquet.

    The definitions are the assets' (see `clickstream_assets.clickstream.analytics`): views
    are clicks into a page, clicks onward are clicks from it to articles, exits are the
    difference floored at 0, and a transition's probability is n / views(prev), capped at 1.
    """

    def __init__(self, plan: dict) -> None:
        import pandas as pd

        from clickstream_assets.clickstream.parsing import ENTRY_SOURCES, REFERRERS

        self.pd = pd
        self.plan = plan
        self.referrers = set(REFERRERS)
        self.entry_sources = ENTRY_SOURCES

    def read(self, month: str) -> Any:
        from clickstream_assets import settings

        return self.pd.read_parquet(settings.clickstream_parquet_path(WIKI, month))

    def articles(self, frame: Any) -> Any:
        return frame[~frame["prev"].isin(self.referrers)]

    def views(self, frame: Any) -> Any:
        return frame.groupby("curr", sort=False)["n"].sum().rename("views")

    def exits(self, frame: Any) -> Any:
        views = self.views(frame).rename_axis("page").reset_index()
        onward = self.articles(frame).groupby("prev", sort=False)["n"].sum()
        exits = views.merge(
            onward.rename("clicks_onward").rename_axis("page").reset_index(), how="left"
        )
        exits["clicks_onward"] = exits["clicks_onward"].fillna(0).astype("int64")
        exits["exits"] = (exits["views"] - exits["clicks_onward"]).clip(lower=0)
        exits["exit_rate"] = exits["exits"] / exits["views"]
        return exits

    def links(self, frame: Any, prevs: Any = None) -> Any:
        """Article-to-article links with the views of prev (`page_transitions`); only those
        out of `prevs` when given, which a pandas user would filter first."""
        articles = self.articles(frame)
        if prevs is not None:
            articles = articles[articles["prev"].isin(prevs)]
            frame = frame[frame["curr"].isin(prevs)]
        views = self.views(frame).rename_axis("prev").reset_index(name="prev_views")
        links = articles[["prev", "curr", "n"]].merge(views, on="prev")
        links["probability"] = (links["n"] / links["prev_views"]).clip(upper=1.0)
        return links

    def entry_rankings(self, frame: Any) -> Any:
        """`top_entry_pages`: the top pages of each source and of all sources together.

        A dump holds each (prev, curr) pair once (the `has_no_duplicate_pairs` check), so an
        entry row is already a page's clicks from its source.
        """
        entries = frame.loc[frame["prev"].isin(self.entry_sources), ["prev", "curr", "n"]]
        entries = entries.assign(source=entries["prev"].map(self.entry_sources))
        every = entries.groupby("curr", as_index=False, sort=False)["n"].sum()
        ranked = []
        for source, group in [*entries.groupby("source"), ("all", every)]:
            top = self.top(group, ["n", "curr"]).assign(source=source)
            top["share"] = top["n"] / group["n"].sum()
            ranked.append(top)
        return self.pd.concat(ranked, ignore_index=True)

    def top(self, frame: Any, order: list[str]) -> Any:
        """The first RANKED rows by `order` (the first column descending, the rest ascending,
        ties kept until the sort), with their rank."""
        top = frame.nlargest(RANKED, order[0], keep="all")
        ascending = [False] + [True] * (len(order) - 1)
        top = top.sort_values(order, ascending=ascending).head(RANKED).reset_index(drop=True)
        top.insert(0, "rank", range(1, len(top) + 1))
        return top

    def link_ranking(self, frame: Any) -> Any:
        """`top_navigation_paths`: the most travelled article-to-article links."""
        return self.top(self.articles(frame)[["prev", "curr", "type", "n"]], ["n", "prev", "curr"])

    # One method per interaction.

    def month(self) -> dict:
        frame = self.read(MONTH_B)
        pages = self.pd.concat([frame["curr"], self.articles(frame)["prev"]]).nunique()
        return {"headline": {"rows": len(frame), "clicks": int(frame["n"].sum()), "pages": pages}}

    def entry_pages(self) -> dict:
        ranked = self.entry_rankings(self.read(MONTH_B))
        # The source picker ranks sources by the clicks of their ranked pages, `all` first.
        totals = ranked.groupby("source", as_index=False)["n"].sum()
        order = totals.sort_values(["n", "source"], ascending=[False, True])["source"].tolist()
        sources = sorted(order, key=lambda source: source != "all")
        pages = ranked[ranked["source"] == self.plan["source"]]
        return {"sources": sources, "pages": pages[["rank", "curr", "n", "share"]]}

    def navigation(self) -> dict:
        frame = self.read(MONTH_B)
        links = self.links(frame)
        # The top paths A -> B -> C by n(A -> B) * P(B -> C). A path never exceeds its first
        # hop, so the first hops are widened until the smallest is below the last estimate.
        candidates = max(1_000, RANKED * 10)
        while True:
            floor = links["n"].nlargest(candidates).min()
            first = links.loc[links["n"] >= floor, ["prev", "curr", "n"]]
            second = links[["prev", "curr", "n", "probability"]].rename(
                columns={"prev": "curr", "curr": "next", "n": "second_n"}
            )
            paths = first.rename(columns={"n": "first_n"}).merge(second, on="curr")
            paths = paths[paths["next"] != paths["prev"]]
            paths = paths.assign(estimated_n=paths["first_n"] * paths["probability"])
            paths = paths.sort_values(
                ["estimated_n", "prev", "curr", "next"], ascending=[False, True, True, True]
            ).head(RANKED)
            done = len(first) >= len(links) or len(paths) < RANKED
            if done or floor < paths["estimated_n"].iloc[-1]:
                break
            candidates *= 10
        paths = paths.reset_index(drop=True)
        paths.insert(0, "rank", range(1, len(paths) + 1))
        columns = ["rank", "prev", "curr", "next", "first_n", "second_n", "probability"]
        return {"links": self.link_ranking(frame), "two_step": paths[[*columns, "estimated_n"]]}

    def drop_offs(self) -> dict:
        exits = self.exits(self.read(MONTH_B))
        kept = exits[exits["views"] >= MIN_VIEWS]
        ranked = kept.sort_values(["exits", "page"], ascending=[False, True]).head(DROP_LIMIT)
        return {"count": len(kept), "pages": ranked}

    def search(self) -> dict:
        exits = self.exits(self.read(MONTH_B))
        words = self.plan["search"].strip().replace(" ", "_").lower()
        lower = exits["page"].str.lower()
        found = exits[lower.str.startswith(words)]
        found = found.sort_values(["views", "page"], ascending=[False, True]).head(PICKER_MATCHES)
        return {"pages": found}

    def next_pages(self) -> dict:
        first = self.plan["funnel_pages"][0]
        links = self.links(self.read(MONTH_B), [first])
        out = links.sort_values(["n", "curr"], ascending=[False, True]).head(NEXT_OPTIONS)
        return {"pages": out[["curr", "n", "probability"]]}

    def funnel(self) -> dict:
        from clickstream_assets.clickstream.analytics import evaluate_funnel

        pages = self.plan["funnel_pages"]
        links = self.links(self.read(MONTH_B), pages[:-1])
        return {"funnel": evaluate_funnel(links[links["curr"].isin(pages[1:])], pages)}

    def page_flow(self) -> dict:
        from clickstream_assets.reading.clickstream import page_flow

        page = self.plan["flow_page"]["page"]
        frame = self.read(MONTH_B)
        inflows = self.inflows(frame, page)
        outflows = self.links(frame, [page])[["curr", "n", "probability"]].assign(pages=1)
        outflows = outflows.sort_values(["n", "curr"], ascending=[False, True])
        views = int(inflows["n"].sum())
        onward = int(outflows["n"].sum())
        exits = max(views - onward, 0)
        row = {"page": page, "views": views, "clicks_onward": onward, "exits": exits}
        row["exit_rate"] = exits / views
        return {"flow": page_flow(inflows, outflows, row, FLOW_TOP)}

    def inflows(self, frame: Any, page: str) -> Any:
        into = frame[frame["curr"] == page].groupby("prev", as_index=False)["n"].sum()
        return into.sort_values(["n", "prev"], ascending=[False, True]).reset_index(drop=True)

    def source_mix(self) -> dict:
        from clickstream_assets.reading.clickstream import source_mix

        page = self.plan["flow_page"]["page"]
        mixes = []
        for month in (MONTH_A, MONTH_B):
            inflows = self.inflows(self.read(month), page)
            mixes.append(source_mix(inflows).assign(month=month[:7]))
        return {"mix": self.pd.concat(mixes, ignore_index=True)}

    def raw_sample(self) -> dict:
        import pyarrow.parquet as pq

        from clickstream_assets import settings
        from clickstream_assets.reading.clickstream import sample_starts

        frame = self.read(MONTH_B)
        # The stretches `sample_rows` draws: 5 consecutive rows at seeded random places of a
        # seeded random row group (the file's layout, from its footer).
        footer = pq.ParquetFile(settings.clickstream_parquet_path(WIKI, MONTH_B)).metadata
        sizes = [footer.row_group(i).num_rows for i in range(footer.num_row_groups)]
        stretch, total = 5, len(frame)
        starts = sample_starts(sizes, SAMPLE_SEED, SAMPLE_ROWS, stretch)
        positions = sorted({p for s in starts for p in range(s, min(s + stretch, total))})
        rows = frame.iloc[positions[:SAMPLE_ROWS]].reset_index(drop=True)
        rows.insert(0, "row", [p + 1 for p in positions[:SAMPLE_ROWS]])
        return {"rows": rows}

    def compare_entry(self) -> dict:
        lists, cuts = [], []
        for month in (MONTH_A, MONTH_B):
            ranked = self.entry_rankings(self.read(month))
            chosen = ranked[ranked["source"] == "all"][["curr", "rank", "n"]]
            longest = ranked.groupby("source").size().max()
            lists.append(chosen)
            cuts.append(int(chosen["n"].min()) if len(chosen) >= longest else 0)
        (cut_a, cut_b), (a, b) = cuts, lists
        merged = a.merge(b, on="curr", how="outer", suffixes=("_a", "_b"))
        # A page outside a cut-off list had between 0 and the cut-off there: its change is
        # known only as a bound, as the product shows it.
        if cut_a == 0:
            merged["n_a"] = merged["n_a"].fillna(0)
        if cut_b == 0:
            merged["n_b"] = merged["n_b"].fillna(0)
        entered, left = merged["n_a"].isna(), merged["n_b"].isna()
        merged["change"] = merged["n_b"] - merged["n_a"]
        merged["change_at_least"] = merged["change"]
        merged.loc[entered, "change_at_least"] = (merged["n_b"] - cut_a).clip(lower=0)
        merged.loc[left, "change_at_least"] = -(merged["n_a"] - cut_b).clip(lower=0)
        merged["note"] = ""
        merged.loc[entered, "note"] = f"entered the list; month A had at most {cut_a:,}"
        merged.loc[left, "note"] = f"left the list; month B had at most {cut_b:,}"
        merged["size"] = merged["change_at_least"].abs()
        merged = merged.sort_values(["size", "curr"], ascending=[False, True]).head(CHANGES)
        columns = ["curr", "rank_a", "rank_b", "n_a", "n_b", "change", "change_at_least", "note"]
        return {"changes": merged[columns], "unseen_at_most": max(cut_a, cut_b) or None}

    def compare_exits(self) -> dict:
        a, b = (
            self.exits(self.read(month))[["page", "views", "exits", "exit_rate"]]
            for month in (MONTH_A, MONTH_B)
        )
        merged = a.merge(b, on="page", how="outer", suffixes=("_a", "_b"))
        for column in ("views_a", "views_b", "exits_a", "exits_b"):
            merged[column] = merged[column].fillna(0)
        merged["change"] = merged["exits_b"] - merged["exits_a"]
        merged["size"] = merged["change"].abs()
        merged = merged.sort_values(["size", "page"], ascending=[False, True]).head(CHANGES)
        columns = ["page", "views_a", "views_b", "exits_a", "exits_b"]
        return {"changes": merged[[*columns, "exit_rate_a", "exit_rate_b", "change"]]}

    def compare_transitions(self) -> dict:
        frames = [self.read(MONTH_A)]
        rankings = [self.link_ranking(frames[0])[["prev", "curr", "n"]]]
        frames.append(self.read(MONTH_B))
        rankings.append(self.link_ranking(frames[1])[["prev", "curr", "n"]])
        keys = self.pd.concat(rankings)[["prev", "curr"]].drop_duplicates()
        counts, cuts = {}, []
        for side, frame, ranked in zip("ab", frames, rankings, strict=True):
            # A link's n from the month's ranking, else from its links, else 0.
            links = self.links(frame, keys["prev"].unique())[["prev", "curr", "n"]]
            known = keys.merge(ranked, how="left").merge(
                links, on=["prev", "curr"], how="left", suffixes=("", "_all")
            )
            counts[side] = known["n"].fillna(known["n_all"]).fillna(0).to_numpy()
            # The ranking holds every link only when the month has no more links than it.
            every = len(ranked) >= len(self.articles(frame))
            cuts.append(0 if every else int(ranked["n"].min()))
        changes = keys.reset_index(drop=True).assign(n_a=counts["a"], n_b=counts["b"])
        changes["change"] = changes["n_b"] - changes["n_a"]
        changes["size"] = changes["change"].abs()
        order = ["size", "prev", "curr"]
        changes = changes.sort_values(order, ascending=[False, True, True]).head(CHANGES)
        return {
            "changes": changes[["prev", "curr", "n_a", "n_b", "change"]],
            "unseen_at_most": int(max(cuts)) or None,
        }


# Children: one interaction, timed around its first call.


def _child(side: str, name: str, out: Path) -> dict:
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    work = _product(name, plan) if side == "product" else getattr(Reference(plan), name)
    result, seconds = timed(work)
    with (out / f"{name}.{side}.pickle").open("wb") as stream:
        pickle.dump(result, stream)
    return {"seconds": seconds}


def _materialize(data_dir: Path, mirror_dir: Path, rows: int, seed: int) -> dict:
    """Both months through the real assets, the dump downloaded from the local mirror."""
    from dagster import DagsterInstance, materialize

    from clickstream_assets.clickstream.assets import clickstream_assets
    from clickstream_assets.local.mirror import DumpMirror
    from clickstream_assets.resources.dump_source import DumpSourceResource

    os.environ["CLICKSTREAM_DATA_DIR"] = str(data_dir)

    def run_both() -> None:
        with DumpMirror(mirror_dir, clickstream_rows=rows, seed=seed) as mirror:
            for month in (MONTH_A, MONTH_B):
                lacking = missing_assets(month)
                if not lacking:
                    continue
                log.info(f"materializing {', '.join(lacking)} of {month}|{WIKI}")
                result = materialize(
                    clickstream_assets,
                    selection=lacking,
                    partition_key=f"{month}|{WIKI}",
                    resources={"dump_source": DumpSourceResource(base_url=mirror.url)},
                    instance=DagsterInstance.ephemeral(),
                )
                if not result.success:
                    raise RuntimeError(f"materializing {month}|{WIKI} failed")

    _, seconds = timed(run_both)
    return {"seconds": seconds}


# The parent: prepare the data, run every interaction, verify, tabulate.


def missing_files() -> list[Path]:
    """The files the views read (month B's profile, both months' parquet and analytics) that
    the data dir lacks."""
    from clickstream_assets import settings
    from clickstream_assets.reading.catalog import ANALYTICS_FILES

    wanted = [settings.clickstream_report_dir(WIKI, MONTH_B) / "profile.json"]
    for month in (MONTH_A, MONTH_B):
        wanted.append(settings.clickstream_parquet_path(WIKI, month))
        for names in ANALYTICS_FILES.values():
            wanted += [settings.clickstream_analytics_path(n, WIKI, month) for n in names]
    return [path for path in wanted if not path.exists()]


def missing_assets(month: str) -> list[str]:
    """The clickstream assets of a month whose files are missing (all of them without the
    month's parquet), so that a data dir from an older version gains only the new assets."""
    from clickstream_assets import settings
    from clickstream_assets.clickstream.assets import clickstream_assets
    from clickstream_assets.reading.catalog import ANALYTICS_FILES

    if not settings.clickstream_parquet_path(WIKI, month).exists():
        return [spec.key.to_user_string() for a in clickstream_assets for spec in a.specs]
    lacking = [
        asset
        for asset, names in ANALYTICS_FILES.items()
        if not all(settings.clickstream_analytics_path(n, WIKI, month).exists() for n in names)
    ]
    if not (settings.clickstream_report_dir(WIKI, month) / "profile.json").exists():
        lacking.append("clickstream_profile")
    return lacking


def ensure_data(data_dir: Path, rows: int, seed: int) -> None:
    """Materialize both months into the benchmark's own data dir unless it holds them already
    (then reuse them)."""
    if not missing_files():
        log.info(f"reusing the materialized months in {data_dir}")
        return
    mirror_dir = data_dir.parent / f"{data_dir.name}-mirror"
    log.info(f"materializing {WIKI} {MONTH_A[:7]} and {MONTH_B[:7]} into {data_dir} (once)")
    command = [*_module_command("materialize"), "--out", str(data_dir)]
    command += ["--mirror", str(mirror_dir), "--rows", str(rows), "--seed", str(seed)]
    done = run_child(command)
    log.info(f"materialized both months in {done.seconds:.0f} s")
    if lacking := missing_files():
        raise SystemExit(f"materializing left out {', '.join(map(str, lacking))}")


def _module_command(child: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.dashboard_queries", "--child", child]


def measure(side: str, name: str, out: Path) -> Measurement:
    return run_child([*_module_command(side), "--interaction", name, "--out", str(out)])


def run_all(
    names: list[str], out: Path, repeat: int, reference_repeat: int
) -> dict[str, dict[str, list[Measurement]]]:
    """The product `repeat` times and the reference `reference_repeat` times per interaction,
    round-robin over interactions so that a noisy spell hits them alike."""
    runs = {side: {name: [] for name in names} for side in ("product", "reference")}
    for side, rounds in (("product", repeat), ("reference", reference_repeat)):
        for round_number in range(1, rounds + 1):
            for name in names:
                run = measure(side, name, out)
                runs[side][name].append(run)
                log.info(
                    f"{side} round {round_number}/{rounds} {name}: {run.seconds * 1000:,.0f} ms, "
                    f"peak RSS {run.peak_rss_mb:,.0f} MB, "
                    f"other processes {run.others_cores:.1f} cores"
                )
    return runs


def verify(names: list[str], out: Path) -> None:
    """Every interaction's product result must equal its reference result."""
    problems = []
    for name in names:
        results = []
        for side in ("product", "reference"):
            with (out / f"{name}.{side}.pickle").open("rb") as stream:
                results.append(pickle.load(stream))
        product, reference = results
        shared = sorted(set(product) & set(reference))
        if not shared:
            problems.append(f"{name}: nothing to compare")
        for part in shared:
            if getattr(product[part], "empty", False) is True:
                problems.append(f"{name}, {part}: empty, which proves nothing")
            if difference := _difference(product[part], reference[part]):
                problems.append(f"{name}, {part}: {difference}")
        if name == "month" and sorted(product["months"]) != sorted({MONTH_A, MONTH_B}):
            problems.append(f"month: listed {product['months']}, not both months")
    if problems:
        raise SystemExit("verification failed:\n  " + "\n  ".join(problems))
    log.info(f"verified: the product and the reference agree on all {len(names)} interactions")


def _difference(product: Any, reference: Any) -> str | None:
    """None when both are the same result, else what differs. Frames are compared by
    columns and values (counts as numbers, whatever their dtype), in order."""
    import pandas as pd

    if not isinstance(product, pd.DataFrame):
        return None if product == reference else f"{product!r} != {reference!r}"
    left, right = (frame.reset_index(drop=True) for frame in (product, reference))
    if list(left.columns) != list(right.columns) or len(left) != len(right):
        return f"shape {list(left.columns)} x {len(left)} vs {list(right.columns)} x {len(right)}"
    for column in left.columns:
        a, b = left[column], right[column]
        numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
        if numeric:
            a, b = a.astype("float64"), b.astype("float64")
            same = ((a - b).abs() <= 1e-9 * b.abs().clip(lower=1)) | (a.isna() & b.isna())
        else:
            same = (a.astype(object) == b.astype(object)) | (a.isna() & b.isna())
        if not same.all():
            row = int((~same).to_numpy().argmax())
            return f"column {column} row {row}: {a.iloc[row]!r} vs {b.iloc[row]!r}"
    return None


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def render(
    names: list[str],
    runs: dict[str, dict[str, list[Measurement]]],
    rows: int,
    data_dir: Path,
    repeat: int,
    reference_repeat: int,
) -> str:
    """The README section: machine and data, goals and whether they are met, the table."""
    table_rows, missed, medians, speedups = [], [], [], []
    for name in names:
        product = [run.seconds * 1000 for run in runs["product"][name]]
        reference = [run.seconds for run in runs["reference"][name]]
        median_ms, p90_ms = statistics.median(product), percentile(product, 0.9)
        reference_s = statistics.median(reference)
        speedup = reference_s * 1000 / median_ms
        met = speedup >= GOAL_SPEEDUP and median_ms < GOAL_MEDIAN_MS
        medians.append(median_ms)
        speedups.append(speedup)
        if not met:
            missed.append(BY_NAME[name].label)
        load = [run.others_cores for side in runs.values() for run in side[name]]
        table_rows.append(
            [
                BY_NAME[name].label,
                BY_NAME[name].calls,
                _ms(median_ms),
                _ms(p90_ms),
                f"{max(r.peak_rss_mb for r in runs['product'][name]):,.0f}",
                f"{reference_s:,.1f}",
                f"{max(r.peak_rss_mb for r in runs['reference'][name]):,.0f}",
                f"{speedup:,.0f}x",
                "met" if met else "**missed**",
                f"{statistics.median(load):.1f}",
            ]
        )
    headers = [
        "interaction",
        "reading functions",
        "median ms",
        "p90 ms",
        "peak RSS MB",
        "reference s",
        "reference peak RSS MB",
        "speed-up",
        "goals",
        "other load (cores)",
    ]

    slowest = max(medians)
    smallest = min(speedups)
    overall = "met" if not missed else "missed"
    verdict = (
        f"Goals per interaction: at least {GOAL_SPEEDUP:.0f}x faster than the reference and a "
        f"median under {GOAL_MEDIAN_MS:.0f} ms. Overall: **{overall}** "
        f"({len(names) - len(missed)} of {len(names)} interactions meet both; the slowest "
        f"median is {slowest:,.0f} ms, the smallest speed-up {smallest:,.0f}x, the median "
        f"interaction {statistics.median(medians):,.0f} ms)."
    )
    if missed:
        verdict += " Missed: " + "; ".join(missed) + "."
    command = ".venv/bin/python -m benchmarks.dashboard_queries"
    if rows != FULL_ROWS:
        command += f" --rows {rows}"
    return "\n".join(
        [
            f"{machine_note()} Data: two generated `{WIKI}` months ({MONTH_A[:7]} and "
            f"{MONTH_B[:7]}), {rows:,} rows each, materialized by the clickstream assets "
            f"(`{command}`; this run read `{_shown(data_dir)}`).",
            "",
            verdict,
            "",
            markdown_table(headers, table_rows),
            "",
            f"The product: {repeat} runs of each interaction, each the first call of the "
            "reading functions in a fresh child process (no Streamlit cache, no DuckDB state; "
            "the files in the page cache, as on a dashboard server); median and p90 "
            f"(interpolated) of those runs. The reference: {reference_repeat} run(s) each, "
            "`pd.read_parquet` of the whole month's clickstream parquet (both months for the "
            "source mix and the comparisons) and the same view computed in pandas; *reference "
            "s* is the median, and the speed-up is it over the product's median. Peak RSS is "
            "the highest of the runs (`VmHWM` of the child). *Other load* is the median number "
            "of cores other processes kept busy during the runs: the machine is shared, and a "
            "row measured under load reads slower than it would alone. The product's and the "
            "reference's results were equal for every interaction.",
        ]
    )


def _ms(value: float) -> str:
    """Milliseconds, with a decimal below 10 ms (reading a report takes well under one)."""
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def _shown(path: Path) -> str:
    from benchmarks.common import REPO_ROOT

    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def month_rows() -> int:
    """Rows of month B's parquet, from its footer (the size the table shows)."""
    import pyarrow.parquet as pq

    from clickstream_assets import settings

    return pq.ParquetFile(settings.clickstream_parquet_path(WIKI, MONTH_B)).metadata.num_rows


def main(argv: list[str] | None = None) -> None:
    from clickstream_assets import settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard_queries")
    parser.add_argument("--rows", type=int, default=FULL_ROWS, help="rows per generated month")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated months")
    parser.add_argument("--data-dir", type=Path, help="a data dir that holds both months")
    parser.add_argument("--repeat", type=int, default=7, help="product runs per interaction")
    parser.add_argument(
        "--reference-repeat", type=int, default=1, help="reference runs per interaction"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(BY_NAME), help="measure these interactions only"
    )
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    parser.add_argument(
        "--child", choices=["product", "reference", "plan", "materialize"], help=argparse.SUPPRESS
    )
    parser.add_argument("--interaction", choices=list(BY_NAME), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mirror", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "materialize":
        report(_materialize(args.out, args.mirror, args.rows, args.seed))
        return
    if args.child == "plan":
        plan, seconds = timed(_plan)
        (args.out / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        report({"seconds": seconds})
        return
    if args.child:
        report(_child(args.child, args.interaction, args.out))
        return

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    benchmarks_dir = settings.data_dir() / "benchmarks"
    data_dir = args.data_dir or benchmarks_dir / f"dashboard-rows{args.rows}-seed{args.seed}"
    data_dir = data_dir.resolve()
    # Children inherit the environment: the assets write and the reading functions look in
    # this data dir.
    os.environ["CLICKSTREAM_DATA_DIR"] = str(data_dir)
    if args.data_dir is None:
        ensure_data(data_dir, args.rows, args.seed)
    elif lacking := missing_files():
        # A data dir given by name belongs to someone else: it is read, never written.
        raise SystemExit(f"{data_dir} lacks {', '.join(map(str, lacking))}")
    rows = month_rows()
    out = benchmarks_dir / f"dashboard-out-rows{rows}"
    out.mkdir(parents=True, exist_ok=True)
    run_child([*_module_command("plan"), "--out", str(out)])
    log.info(f"choices: {(out / 'plan.json').read_text(encoding='utf-8')}")
    names = args.only or list(BY_NAME)

    runs = run_all(names, out, args.repeat, args.reference_repeat)
    verify(names, out)
    section = render(names, runs, rows, data_dir, args.repeat, args.reference_repeat)

    print(section)
    if not args.no_readme:
        write_readme_section(NAME, section)
        log.info("wrote the table into README.md's performance section")


if __name__ == "__main__":
    main()
