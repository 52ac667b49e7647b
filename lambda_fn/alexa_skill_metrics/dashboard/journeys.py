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

from collections.abc import Mapping, Sequence
from typing import Any

from alexa_skill_metrics.dashboard.charts import END_TYPES, FONT
from alexa_skill_metrics.dashboard.layout import Block, Card, Chart, Note, Tab, Table, count, percent, tab_for

View = Mapping[str, Any]

MIN_LINK_SHARE = 0.005  # Sankey links below this share of all sessions are left out of the drawing
TOP_TRANSITIONS = 25
IN_PROGRESS = " *"  # marks a cell whose period is not over yet
CELL_FONT = 12  # px: heatmap cell text, which Plotly would otherwise shrink to fit (to about 9 px)
COLUMNS = 1  # a heatmap and a Sankey diagram need the page's whole width
_EXIT_COLORS = {
    "exit:skill_ended": END_TYPES[0][2],
    "exit:user_ended": END_TYPES[1][2],
    "exit:no_response": END_TYPES[2][2],
    "exit:failed": END_TYPES[3][2],
    "exit:unknown": END_TYPES[4][2],
    "exit:incomplete": END_TYPES[5][2],
    "exit:active": END_TYPES[6][2],
}


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
        caption="Exact counts" + ("; * marks periods not over yet (they can still grow: no drop)." if marked else "."),
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


def sankey_figure(tree: Mapping[str, Any]) -> dict[str, Any]:
    """The path tree as a Sankey: one node per prefix, one shared node per exit type."""
    minimum = max(1, tree["sessions"] * MIN_LINK_SHARE)
    labels: list[str] = ["start"]
    colors: list[str] = ["#495057"]
    sources: list[int] = []
    targets: list[int] = []
    values: list[int] = []
    link_labels: list[str] = []
    exits: dict[str, int] = {}

    def walk(node: Mapping[str, Any], index: int, path: str) -> None:
        for child in node["children"]:
            if child["sessions"] < minimum:
                continue
            if child["exit"]:
                if child["step"] not in exits:
                    exits[child["step"]] = len(labels)
                    labels.append(child["step"])
                    colors.append(_EXIT_COLORS.get(child["step"], "#8C8C8C"))
                target = exits[child["step"]]
            else:
                target = len(labels)
                labels.append(child["step"])
                colors.append("#3B5BDB")
            sources.append(index)
            targets.append(target)
            values.append(child["sessions"])
            link_labels.append(f"{path} > {child['step']}")
            if child["node"] is not None:
                walk(child["node"], target, f"{path} > {child['step']}")

    walk(tree, 0, "start")
    return {
        "data": [
            {
                "type": "sankey",
                "name": "Paths",
                "arrangement": "freeform",
                "valueformat": ",d",
                "node": {"label": labels, "color": colors, "pad": 12, "thickness": 14},
                "link": {"source": sources, "target": targets, "value": values, "label": link_labels},
            }
        ],
        "layout": {
            "height": 560,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "font": {"family": FONT, "size": 11},
            "paper_bgcolor": "white",
        },
    }


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
    links = figure["data"][0]["link"]
    link_table = Table(
        id="paths-links",
        title="Path tree links",
        columns=("Path", "Sessions"),
        rows=tuple(
            (label, count(value)) for label, value in zip(links["label"], links["value"], strict=True)
        ),
        numeric=(False, True),
    )
    blocks: list[Block] = [
        Chart(
            id="paths-sankey",
            title="Path tree: where sessions go from the start",
            figure=figure,
            caption=f"Each band is a step of the sessions' paths, width = sessions; bands under "
            f"{percent(MIN_LINK_SHARE)} of all sessions are not drawn (the tables list every step).",
            wide=True,
            values=link_table,
        ),
        table,
    ]
    return tab_for(view, "Paths", cards, blocks, columns=COLUMNS)
