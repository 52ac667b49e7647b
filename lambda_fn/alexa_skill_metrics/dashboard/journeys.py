"""The Retention and Paths tabs: a cohort heatmap, and the path tree as a Sankey diagram with transitions.

Like the other tabs, every number is a field of the view (only formatted): heatmap cells are the
cohorts' ``onShare`` / ``onOrAfterShare`` with their counts as text, Sankey links are the tree's
children's ``sessions``. Links of fewer than ``MIN_LINK_SHARE`` of the sessions are left out of
the diagram (not summed into anything) so it stays readable; the tables hold every value.

Example
-------
>>> view = {"view": "retention", "cohort": "week", "startTime": "2026-01-05T00:00:00Z",
...         "endTime": "2026-01-19T00:00:00Z", "asOf": "2026-01-15T00:00:00Z", "customers": 3,
...         "cohorts": [{"start": "2026-01-05T00:00:00Z", "customers": 3, "inProgress": False,
...                      "retention": [
...                          {"offset": 0, "start": "2026-01-05T00:00:00Z", "on": 3, "onShare": 1.0,
...                           "onOrAfter": 3, "onOrAfterShare": 1.0, "inProgress": False},
...                          {"offset": 1, "start": "2026-01-12T00:00:00Z", "on": 1, "onShare": 0.3333,
...                           "onOrAfter": 1, "onOrAfterShare": 0.3333, "inProgress": True}]},
...                     {"start": "2026-01-12T00:00:00Z", "customers": 0, "inProgress": True,
...                      "retention": [
...                          {"offset": 0, "start": "2026-01-12T00:00:00Z", "on": 0, "onShare": 0.0,
...                           "onOrAfter": 0, "onOrAfterShare": 0.0, "inProgress": True}]}]}
>>> tab = retention_tab(view)
>>> heat = tab.blocks[0].figure["data"][0]
>>> heat["z"], heat["text"][0]
([[1.0, 0.3333], [0.0, None]], ['3<br>100.00%', '1<br>33.33% *'])
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alexa_skill_metrics.dashboard.charts import END_TYPES, FONT
from alexa_skill_metrics.dashboard.layout import Block, Card, Chart, Note, Tab, Table, count, percent, tab_for

View = Mapping[str, Any]

MIN_LINK_SHARE = 0.005  # Sankey links below this share of all sessions are left out of the drawing
TOP_TRANSITIONS = 25
IN_PROGRESS = " *"  # marks a cell whose period is not over yet
CELL_FONT = 12  # px: heatmap cell text, which Plotly would otherwise shrink to fit (to about 9 px)
COLUMNS = 1  # a heatmap and a Sankey diagram need the page's whole width
# The Sankey: the start's box is SANKEY_PX tall; a box is at least its label's lines tall (LINE_PX
# each, at LABEL_FONT) and BOX_SHARE of the width (about 115 px at 1280: 14 characters a line).
SANKEY_PX = 360
PAD_PX = 6
LINE_PX = 14
LABEL_FONT = 11
LABEL_CHARS = 14
BOX_SHARE = 0.1
_EXIT_COLORS = {
    "exit:skill_ended": END_TYPES[0][2],
    "exit:user_ended": END_TYPES[1][2],
    "exit:no_response": END_TYPES[2][2],
    "exit:failed": END_TYPES[3][2],
    "exit:unknown": END_TYPES[4][2],
    "exit:incomplete": END_TYPES[5][2],
    "exit:active": END_TYPES[6][2],
}


_EXIT_LABELS = {step: label for step, (_, label, _) in zip(_EXIT_COLORS, END_TYPES, strict=True)}


def _day(iso: str) -> str:
    return iso[:10]


def _cell_text(cell: Mapping[str, Any], key: str, separator: str) -> str:
    share = cell["onShare" if key == "on" else "onOrAfterShare"]
    return f"{count(cell[key])}{separator}{percent(share)}" + (IN_PROGRESS if cell["inProgress"] else "")


def shown_cohorts(view: View) -> list[Mapping[str, Any]]:
    """The cohorts from the first with customers on: earlier ones are only rows of zeros.

    The view's default range is the 12 cohorts before its end, which for a young skill starts
    weeks before its first customer; the tab's range text names the first cohort shown instead.
    """
    cohorts = list(view["cohorts"])
    first = next((i for i, c in enumerate(cohorts) if c["customers"]), len(cohorts))
    return cohorts[first:]


def _in_progress(cohorts: Sequence[Mapping[str, Any]]) -> bool:
    return any(c["inProgress"] or any(cell["inProgress"] for cell in c["retention"]) for c in cohorts)


def retention_heatmap(view: View, key: str, cohorts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Cohorts (rows, oldest first) by offset: ``key`` ("on" or "onOrAfter") shares, counts as text."""
    width = max((len(c["retention"]) for c in cohorts), default=0)
    unit = "Week" if view["cohort"] == "week" else "Day"
    share = "onShare" if key == "on" else "onOrAfterShare"
    z = [[cell[share] for cell in c["retention"]] + [None] * (width - len(c["retention"])) for c in cohorts]
    # Count over share: two short lines fit a cell of twelve columns at a readable size.
    text = [
        [_cell_text(cell, key, "<br>") for cell in c["retention"]] + [""] * (width - len(c["retention"]))
        for c in cohorts
    ]
    return {
        "data": [
            {
                "type": "heatmap",
                "name": "Returning" if key == "on" else "Returning on or after",
                "x": [f"{unit} {k}" for k in range(width)],
                "y": [f"{_day(c['start'])} ({count(c['customers'])})" for c in cohorts],
                "z": z,
                "text": text,
                "texttemplate": "%{text}",
                "textfont": {"size": CELL_FONT},
                "hovertemplate": "Cohort %{y}, %{x}: %{text}<extra></extra>",
                "zmin": 0,
                "zmax": 1,
                "colorscale": "Blues",
                "xgap": 2,
                "ygap": 2,
                "colorbar": {"tickformat": ".0%", "title": {"text": "Share"}},
            }
        ],
        "layout": {
            "height": 120 + 44 * max(len(cohorts), 1),
            "margin": {"l": 150, "r": 20, "t": 10, "b": 50},
            "font": {"family": FONT, "size": 12},
            "xaxis": {"title": {"text": f"{unit}s after the cohort's {unit.lower()}"}, "side": "bottom"},
            "yaxis": {"title": {"text": "Cohort (customers)"}, "autorange": "reversed", "type": "category"},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
        },
    }


def _retention_table(view: View, key: str, cohorts: Sequence[Mapping[str, Any]], marked: bool) -> Table:
    """Every cohort's ``key`` counts and shares: one table per heatmap, so twelve weeks fit a card."""
    unit = "week" if view["cohort"] == "week" else "day"
    width = max(len(c["retention"]) for c in cohorts)
    columns = ("Cohort", "Customers", *(f"{unit.capitalize()} {k}" for k in range(width)))
    return Table(
        id=f"retention-table-{key}",
        title="Cohort retention, returning " + ("on" if key == "on" else "on or after"),
        columns=columns,
        rows=tuple(
            (
                _day(c["start"]) + (IN_PROGRESS if c["inProgress"] else ""),
                count(c["customers"]),
                *(_cell_text(cell, key, "\n") for cell in c["retention"]),
                *([""] * (width - len(c["retention"]))),
            )
            for c in cohorts
        ),
        numeric=(False, *([True] * (len(columns) - 1))),
        caption="Exact counts"
        + ("; * marks periods not over yet (they can still grow: no drop)." if marked else "."),
    )


def retention_tab(view: View) -> Tab:
    """Cohorts as heatmaps ("on" and "on or after"), each with a table of its counts and shares."""
    unit = "week" if view["cohort"] == "week" else "day"
    cohorts = shown_cohorts(view)
    left_out = len(view["cohorts"]) - len(cohorts)
    marked = _in_progress(cohorts)
    notes = [f"{count(left_out)} earlier without customers not shown"] if left_out else []
    cards = [
        Card("Customers in cohorts", count(view["customers"]), ("First utterance ever in the range",)),
        Card(
            f"{unit.capitalize()}ly cohorts",
            count(len(cohorts)),
            (*notes, *(["* marks a period still in progress"] if marked else [])),
        ),
    ]
    if not cohorts:
        return tab_for(
            view, "Retention", cards, [Note("Retention", "No new customers in this range.")], columns=COLUMNS
        )
    blocks: list[Block] = [
        Chart(
            id="retention-heatmap",
            title=f"Customers returning in each {unit} after their first",
            figure=retention_heatmap(view, "on", cohorts),
            caption=f"Share of each cohort with an utterance in that {unit} (count in the cell).",
            kind="percent",
            wide=True,
            values=_retention_table(view, "on", cohorts, marked),
        ),
        Chart(
            id="retention-heatmap-after",
            title=f"Customers returning in that {unit} or any later one",
            figure=retention_heatmap(view, "onOrAfter", cohorts),
            caption="Unbounded retention: an utterance in that period or any later one up to the end.",
            kind="percent",
            wide=True,
            values=_retention_table(view, "onOrAfter", cohorts, marked),
        ),
    ]
    # The range text starts at the first cohort shown, as the heatmaps' rows do.
    return tab_for({**view, "startTime": cohorts[0]["start"]}, "Retention", cards, blocks, columns=COLUMNS)


@dataclass
class _Node:
    label: str
    column: int
    sessions: int
    color: str
    top: float = 0.0
    height: float = 0.0
    lines: tuple[str, ...] = ()
    out_at: float = 0.0  # where the next outgoing band leaves the box's right side
    in_at: float = 0.0  # where the next incoming band meets its left side
    carry: bool = False  # not a box: the exits of earlier columns passing below this column's boxes


@dataclass
class _Link:
    source: _Node
    target: _Node
    sessions: int
    label: str


def wrap_label(text: str, width: int = LABEL_CHARS) -> tuple[str, ...]:
    """A step's name in lines of about ``width`` characters, broken after '.', ':', '_' or a space
    and between camel-case words, so a name fits its box (``AMAZON.`` / ``FallbackIntent``).

    >>> wrap_label("AMAZON.FallbackIntent"), wrap_label("CheckScoreIntent"), wrap_label("start")
    (('AMAZON.', 'FallbackIntent'), ('CheckScore', 'Intent'), ('start',))
    """
    parts = [part for part in re.split(r"(?<=[.:_ ])|(?<=[a-z])(?=[A-Z])", text) if part]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return tuple(line.strip() for line in lines)


def _path_graph(tree: Mapping[str, Any]) -> tuple[list[_Node], list[_Link]]:
    """The drawn nodes (depth order, then tree order) and links; exits shared, in their own column."""
    minimum = max(1, tree["sessions"] * MIN_LINK_SHARE)
    start = _Node("start", 0, tree["sessions"], "#495057")
    nodes, links, exits = [start], [], {}

    def walk(node: Mapping[str, Any], parent: _Node, path: str) -> None:
        for child in node["children"]:
            if child["sessions"] < minimum:
                continue
            step = child["step"]
            if child["exit"]:
                if step not in exits:
                    exits[step] = _Node(
                        _EXIT_LABELS.get(step, step), -1, 0, _EXIT_COLORS.get(step, "#8C8C8C")
                    )
                target = exits[step]
                target.sessions += child["sessions"]
            else:
                target = _Node(step, parent.column + 1, child["sessions"], "#3B5BDB")
                nodes.append(target)
            links.append(_Link(parent, target, child["sessions"], f"{path} > {step}"))
            if child["node"] is not None:
                walk(child["node"], target, f"{path} > {step}")

    walk(tree, start, "start")
    last = max(node.column for node in nodes) + 1
    for node in exits.values():
        node.column = last
    nodes.sort(key=lambda node: node.column)  # stable: tree order within a column
    order = {step: i for i, step in enumerate(_EXIT_COLORS)}
    return nodes + sorted(exits.values(), key=lambda n: order.get(n.label, len(order))), links


def _place(nodes: list[_Node], links: list[_Link], scale: float) -> tuple[float, list[_Node], list[_Link]]:
    """Stack each column's boxes, then one carry per exit type that earlier columns' sessions
    took; return the plot's height, the carries, and the bands to draw (links to far exits go
    through the carries of the columns between)."""
    last = max(node.column for node in nodes)
    bottoms = [0.0] * (last + 1)
    for node in nodes:
        node.lines = wrap_label(node.label)
        node.height = max(node.sessions * scale, LINE_PX * len(node.lines) + 6)
        node.top = bottoms[node.column] + (PAD_PX if bottoms[node.column] else 0)
        bottoms[node.column] = node.top + node.height
    exits = [node for node in nodes if node.column == last]
    carries: dict[tuple[int, int], _Node] = {}
    for column in range(1, last):
        for index, exit_node in enumerate(exits):
            carried = sum(
                link.sessions for link in links if link.target is exit_node and link.source.column < column
            )
            if carried:
                carry = _Node("", column, carried, exit_node.color, carry=True)
                carry.top = bottoms[column] + PAD_PX
                carry.height = carried * scale
                bottoms[column] = carry.top + carry.height
                carries[column, index] = carry
    bands: list[_Link] = []
    for link in links:
        if link.target.column != last or link.source.column == last - 1:
            bands.append(link)
            continue
        index = exits.index(link.target)
        bands.append(_Link(link.source, carries[link.source.column + 1, index], link.sessions, link.label))
    for (column, index), carry in carries.items():
        onward = carries.get((column + 1, index), exits[index])
        bands.append(_Link(carry, onward, carry.sessions, ""))
    return max(bottoms), list(carries.values()), bands


def _band(runs: list[tuple[float, float, float]], thickness: float) -> str:
    """An SVG path: a band of ``thickness`` through runs (x from, x to, top), curving between them."""

    def edge(points: list[tuple[float, float, float]], dy: float) -> str:
        out = []
        for (_, x1, y1), (x2, x3, y2) in itertools.pairwise(points):
            mid = (x1 + x2) / 2
            out.append(f"C {mid:.4f},{y1 + dy:.2f} {mid:.4f},{y2 + dy:.2f} {x2:.4f},{y2 + dy:.2f}")
            out.append(f"L {x3:.4f},{y2 + dy:.2f}")
        return " ".join(out)

    backward = [(b, a, y) for a, b, y in reversed(runs)]
    (x0, x1, y0), (b0, _, y_end) = runs[0], backward[0]
    return (
        f"M {x0:.4f},{y0:.2f} L {x1:.4f},{y0:.2f} {edge(runs, 0)} L {b0:.4f},{y_end + thickness:.2f} "
        f"{edge(backward, thickness)} Z"
    )


def sankey_figure(tree: Mapping[str, Any]) -> dict[str, Any]:
    """The path tree as a Sankey: a column per depth and one for the exits, labels inside the boxes.

    Plotly's own Sankey places nodes itself (a step without children in the exits' column) and
    writes labels over the bands; here every box sits in its depth's column, tall enough for its
    label, and the sessions going to an exit several columns on run in one band per exit type
    below each column's boxes, so no band crosses a box or a label. Bands are to scale (sessions).
    """
    nodes, links = _path_graph(tree)
    scale = SANKEY_PX / max(tree["sessions"], 1)
    height, carries, bands = _place(nodes, links, scale)
    columns = max(node.column for node in nodes) + 1
    box = min(BOX_SHARE, 0.7 / columns)
    step = (1 - box) / max(columns - 1, 1)

    def left(column: int) -> float:
        return column * step

    for node in [*nodes, *carries]:  # bands leave and arrive centred on their box's side
        node.out_at = node.top + (node.height - node.sessions * scale) / 2
        incoming = sum(band.sessions for band in bands if band.target is node)
        node.in_at = node.top + (node.height - incoming * scale) / 2
    # Ports in stacking order: a box's bands to the next column first, then its exits; a box's
    # incoming bands in their sources' order, top to bottom, so fewer bands cross.
    paths: list[dict[str, Any]] = []
    starts: dict[str, tuple[float, float]] = {}
    for band in sorted(bands, key=lambda b: (b.target.column, b.source.column, b.source.top)):
        thickness = band.sessions * scale
        source, target = band.source, band.target
        x_out = left(source.column) if source.carry else left(source.column) + box
        runs = [
            (x_out, left(source.column) + box, source.out_at),
            (left(target.column), left(target.column), target.in_at),
        ]
        source.out_at += thickness
        target.in_at += thickness
        paths.append(
            {"type": "path", "name": "band", "path": _band(runs, thickness), "xref": "x", "yref": "y",
             "fillcolor": _tint(target.color, 0.35), "line": {"width": 0}, "layer": "below"}
        )  # fmt: skip
        if band.label:
            starts[band.label] = ((runs[0][1] + runs[1][0]) / 2, (runs[0][2] + runs[1][2] + thickness) / 2)
    boxes = [
        {"type": "rect", "name": "node", "xref": "x", "yref": "y", "x0": left(node.column),
         "x1": left(node.column) + box, "y0": node.top, "y1": node.top + node.height,
         "fillcolor": _solid(node.color, 0.16), "line": {"color": node.color, "width": 1.5}}
        for node in nodes
    ]  # fmt: skip
    annotations = [
        {"text": "<br>".join(node.lines), "x": left(node.column) + box / 2, "y": node.top + node.height / 2,
         "xref": "x", "yref": "y", "showarrow": False, "font": {"size": LABEL_FONT, "color": "#212529"},
         "name": f"column {node.column}"}
        for node in nodes
    ]  # fmt: skip
    return {
        "data": [
            {
                "type": "scatter",
                "name": "Paths",
                "mode": "markers",
                "x": [starts[link.label][0] for link in links],
                "y": [starts[link.label][1] for link in links],
                "customdata": [link.sessions for link in links],
                "text": [link.label for link in links],
                "marker": {"size": 10, "opacity": 0},
                "hovertemplate": "%{text}: %{customdata:,d} sessions<extra></extra>",
            }
        ],
        "layout": {
            "height": int(height) + 20,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "font": {"family": FONT, "size": LABEL_FONT},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "showlegend": False,
            "hovermode": "closest",
            "xaxis": {"range": [0, 1], "visible": False, "fixedrange": True},
            "yaxis": {"range": [height, 0], "visible": False, "fixedrange": True},
            "shapes": [*paths, *boxes],
            "annotations": annotations,
        },
    }


def _tint(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _solid(color: str, alpha: float) -> str:
    """``color`` at ``alpha`` over white, opaque: a box hides what is behind it."""
    red, green, blue = (round(int(color[i : i + 2], 16) * alpha + 255 * (1 - alpha)) for i in (1, 3, 5))
    return f"rgb({red},{green},{blue})"


def paths_tab(view: View) -> Tab:
    """The path tree as a Sankey diagram, and the top transitions as a table."""
    tree, transitions = view["tree"], view["transitions"]
    first = tree["children"][0] if tree["children"] else None
    cards = [
        Card("Sessions", count(view["sessions"]), ("Tracked sessions started in the range",)),
        Card(
            "Most common first step",
            first["step"] if first else "\N{EN DASH}",
            (percent(first["share"]) if first else "",),
        ),
        Card("Tree depth", count(view["maxDepth"]), ("Later steps fold into their depth-limit node",)),
    ]
    if not tree["children"]:
        return tab_for(
            view,
            "Paths",
            cards,
            [Note("Paths", "No tracked session started in this range.")],
            columns=COLUMNS,
        )
    top = transitions[:TOP_TRANSITIONS]
    table = Table(
        id="paths-transitions",
        title=f"Top transitions ({len(top)} of {len(transitions)})",
        columns=("From", "To", "Sessions", "Share of From"),
        rows=tuple((t["source"], t["target"], count(t["sessions"]), percent(t["share"])) for t in top),
        numeric=(False, False, True, True),
        caption="How often step To directly followed step From; exits are the session's end type.",
    )
    figure = sankey_figure(tree)
    links = figure["data"][0]
    link_table = Table(
        id="paths-links",
        title="Path tree links",
        columns=("Path", "Sessions"),
        rows=tuple(
            (label, count(value)) for label, value in zip(links["text"], links["customdata"], strict=True)
        ),
        numeric=(False, True),
    )
    blocks: list[Block] = [
        Chart(
            id="paths-sankey",
            title="Path tree: where sessions go from the start",
            figure=figure,
            caption=f"A column per step of the sessions' paths, the exits (how sessions ended) last; "
            f"band width = sessions. Bands under {percent(MIN_LINK_SHARE)} of all sessions are not "
            "drawn (the tables list every step).",
            wide=True,
            values=link_table,
        ),
        table,
    ]
    return tab_for(view, "Paths", cards, blocks, columns=COLUMNS)
