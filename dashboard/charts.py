"""Altair charts of the dashboard: the flow through a page (a Sankey diagram), funnels and
source mixes.

Altair ships with Streamlit, so the Sankey diagram is drawn with it rather than with another
plotting library: nodes are rectangles, and each link is a band whose edges follow a smooth
step from its source's slot to its target's slot.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

KIND_COLORS = {
    "search": "#4c78a8",
    "external": "#f58518",
    "empty": "#9d755d",
    "internal": "#72b7b2",
    "other": "#bab0ac",
    "article links": "#54a24b",
    "next page": "#54a24b",
    "exit": "#e45756",
    "page": "#333333",
}
# Layout of the diagram in chart units: sources at x=0, the page at 0.5, destinations at 1;
# heights are shares of the larger side's clicks. Nodes get a minimum height so that a small
# source keeps a readable label (its tooltip still gives the exact numbers).
NODE_WIDTH = 0.03
GAP = 0.012
MIN_HEIGHT = 0.03
CURVE_POINTS = 24
X_DOMAIN = [-0.6, 1.6]


def sankey(flow: pd.DataFrame, page: str, height: int = 460) -> alt.LayerChart:
    """The traffic into and out of `page` from `clickstream.page_flow`: sources on the left,
    destinations (and the estimated exits) on the right, band widths proportional to n."""
    nodes, bands = sankey_layout(flow, page)
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(KIND_COLORS), range=list(KIND_COLORS.values())),
        legend=None,
    )
    tooltip = [
        alt.Tooltip("node:N", title="page or source"),
        alt.Tooltip("n:Q", title="clicks", format=",.0f"),
        alt.Tooltip("share:Q", title="share of the page's views", format=".1%"),
    ]
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=X_DOMAIN))
    y = alt.Y("y:Q", axis=None, stack=None, scale=alt.Scale(reverse=True))
    links = (
        alt.Chart(bands)
        .mark_area(opacity=0.45)
        .encode(x=x, y=y, y2="y2:Q", color=color, detail="band:N", tooltip=tooltip)
    )
    boxes = alt.Chart(nodes).mark_rect().encode(x=x, x2="x2:Q", y=y, y2="y2:Q", color=color)
    labels = [
        alt.Chart(nodes[nodes["align"] == align])
        .mark_text(fontSize=11, align=align, baseline="middle")
        .encode(
            x=alt.X("label_x:Q", axis=None, scale=alt.Scale(domain=X_DOMAIN)),
            y=alt.Y("label_y:Q", axis=None, scale=alt.Scale(reverse=True)),
            text="label:N",
            tooltip=tooltip,
        )
        for align in ("left", "right", "center")
    ]
    return alt.layer(links, boxes.encode(tooltip=tooltip), *labels).properties(height=height)


def sankey_layout(flow: pd.DataFrame, page: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rectangles (and label positions) of the nodes, and outlines of the bands."""
    sides = {side: flow[flow["side"] == side].reset_index(drop=True) for side in ("in", "out")}
    total = max(sides["in"]["n"].sum(), sides["out"]["n"].sum(), 1)
    heights = {
        side: [max(n / total, MIN_HEIGHT) for n in frame["n"]] for side, frame in sides.items()
    }
    page_height = max(sum(heights["in"]), sum(heights["out"]))
    outer = {side: _stack(heights[side], GAP) for side in sides}
    span = max([page_height] + [spans[-1][1] for spans in outer.values() if spans])
    page_top = (span - page_height) / 2

    nodes = [
        _node(
            page,
            "page",
            total,
            1.0,
            (0.5 - NODE_WIDTH, 0.5 + NODE_WIDTH),
            page_top,
            page_top + page_height,
            "center",
        )
    ]
    bands = []
    for side, node_x, band_x in (
        ("in", (0.0, NODE_WIDTH), (NODE_WIDTH, 0.5 - NODE_WIDTH)),
        ("out", (1.0 - NODE_WIDTH, 1.0), (0.5 + NODE_WIDTH, 1.0 - NODE_WIDTH)),
    ):
        inner = _stack(heights[side], 0.0)
        align = "right" if side == "in" else "left"
        for row, (top, bottom), (slot, _) in zip(
            sides[side].itertuples(index=False), outer[side], inner, strict=True
        ):
            nodes.append(_node(row.node, row.kind, row.n, row.share, node_x, top, bottom, align))
            ends = (top, page_top + slot) if side == "in" else (page_top + slot, top)
            bands.append(_band(row, band_x, ends, bottom - top))
    return pd.DataFrame(nodes), pd.concat(bands, ignore_index=True) if bands else pd.DataFrame()


def _stack(heights: list[float], gap: float) -> list[tuple[float, float]]:
    spans, top = [], 0.0
    for height in heights:
        spans.append((top, top + height))
        top += height + gap
    return spans


def _node(label, kind, n, share, x: tuple, top: float, bottom: float, align: str) -> dict:
    """A node's rectangle, and its label: beside it, or above it for the page itself."""
    label_x = {"right": x[0] - 0.01, "left": x[1] + 0.01, "center": (x[0] + x[1]) / 2}[align]
    label_y = top - 0.03 if align == "center" else (top + bottom) / 2
    return {
        "node": label,
        "kind": kind,
        "n": n,
        "share": share,
        "x": x[0],
        "x2": x[1],
        "y": top,
        "y2": bottom,
        "label": _short(label),
        "label_x": label_x,
        "label_y": label_y,
        "align": align,
    }


def _band(row, x: tuple, ends: tuple, width: float) -> pd.DataFrame:
    """A band's top and bottom edges along a smooth step from one slot to the other."""
    steps = np.linspace(0.0, 1.0, CURVE_POINTS)
    eased = steps * steps * (3 - 2 * steps)
    top = ends[0] + (ends[1] - ends[0]) * eased
    return pd.DataFrame(
        {
            "band": f"{row.side}:{row.node}",
            "node": row.node,
            "kind": row.kind,
            "n": row.n,
            "share": row.share,
            "x": x[0] + (x[1] - x[0]) * steps,
            "y": top,
            "y2": top + width,
        }
    )


def _short(label: str, width: int = 40) -> str:
    label = label.replace("_", " ")
    return label if len(label) <= width else label[: width - 1] + "…"


def funnel(steps: pd.DataFrame) -> alt.LayerChart:
    """Bars of the overall conversion at each step, labelled with the step's own conversion."""
    frame = steps.assign(
        label=steps["step"].astype(str) + ". " + steps["page"].map(_short),
        text=[
            f"{overall:.2%} overall · {step:.1%} from previous"
            for overall, step in zip(
                steps["overall_conversion"], steps["step_conversion"], strict=True
            )
        ],
    )
    y = alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    bars = (
        alt.Chart(frame)
        .mark_bar(color=KIND_COLORS["search"])
        .encode(
            x=alt.X(
                "overall_conversion:Q",
                title="readers of the first page still on the path",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=y,
            tooltip=[
                alt.Tooltip("page:N"),
                alt.Tooltip("step_conversion:Q", format=".2%", title="from previous step"),
                alt.Tooltip("overall_conversion:Q", format=".2%", title="overall"),
                alt.Tooltip("estimated_readers:Q", format=",.0f", title="estimated readers"),
            ],
        )
    )
    text = (
        alt.Chart(frame)
        .mark_text(align="left", dx=4)
        .encode(x="overall_conversion:Q", y=y, text="text:N")
    )
    return (bars + text).properties(height=alt.Step(40))


def source_mix(mix: pd.DataFrame) -> alt.Chart:
    """One stacked bar per month: the page's views by source group."""
    kinds = [kind for kind in KIND_COLORS if kind in set(mix["source"])]
    mix = mix.assign(order=mix["source"].map({kind: i for i, kind in enumerate(kinds)}))
    return (
        alt.Chart(mix)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share of views"
            ),
            y=alt.Y("month:N", title=None, sort="descending"),
            color=alt.Color(
                "source:N",
                scale=alt.Scale(domain=kinds, range=[KIND_COLORS[k] for k in kinds]),
                title="source",
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                "month:N",
                "source:N",
                alt.Tooltip("n:Q", format=",.0f", title="clicks"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(height=alt.Step(36))
    )


def bars(frame: pd.DataFrame, value: str, label: str, title: str, fmt: str = ",.0f") -> alt.Chart:
    """Horizontal bars of `value` by `label`, largest on top."""
    return (
        alt.Chart(frame)
        .mark_bar(color=KIND_COLORS["search"])
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
            tooltip=[f"{label}:N", alt.Tooltip(f"{value}:Q", format=fmt)],
        )
        .properties(height=alt.Step(24))
    )
