"""Plotly figures (plain dicts) for the dashboard: series over time and bars by category.

Values go into the figures exactly as the reporting API returned them: zeros stay zeros (empty
periods are drawn), nulls stay gaps (no latency without utterances). Colours are fixed per
meaning, so an end type has the same colour in every chart. The dicts are validated by Plotly
when the page is rendered (``render.py``); building them needs no Plotly import.

Example
-------
>>> fig = time_figure(["2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"],
...                   [Trace("Utterances", [3, 0], COLORS["utterances"])], period="P1D", y_title="Utterances")
>>> fig["data"][0]["y"], fig["layout"]["xaxis"]["title"]["text"]
([3, 0], 'Day (UTC)')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from alexa_skill_metrics.dashboard.layout import FORMATS, ValueKind
from alexa_skill_metrics.formatting import d3_format

# Session end states in the API's (camelCase) names, with their labels and colours (Okabe-Ito,
# readable with colour-vision deficiencies): successful ends in blues, failures in warm colours.
END_TYPES: tuple[tuple[str, str, str], ...] = (
    ("skillEnded", "Skill ended", "#0072B2"),
    ("userEnded", "User ended", "#56B4E9"),
    ("noResponse", "User did not respond", "#E69F00"),
    ("failed", "Failed (error)", "#D55E00"),
    ("unknown", "Unknown reason", "#8C8C8C"),
    ("incomplete", "Incomplete", "#CC79A7"),
    ("active", "Active", "#009E73"),
)
SUCCESSFUL_END_TYPES = ("skillEnded", "userEnded")

COLORS = {
    "customers": "#3B5BDB",
    "newCustomers": "#91A7FF",
    "enablements": "#F08C00",
    "sessions": "#7048E8",
    "perCustomer": "#7048E8",
    "perSession": "#0C8599",
    "utterances": "#2B8A3E",
    "successful": "#69DB7C",
    "failed": "#D55E00",
    "responded": "#1C7ED6",
    "notResponded": "#E69F00",
    "prompts": "#495057",
    "total": "#212529",
    "share": "#3B5BDB",
    "failedShare": "#D55E00",
    "p50": "#2B8A3E",
    "p90": "#E69F00",
    "p99": "#C92A2A",
    "unhandled": "#D55E00",
    "terminations": "#CC79A7",
    "friction": "#C92A2A",
    "coldStarts": "#0C8599",
}

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
GRID = "#E9ECEF"
AXIS = "#ADB5BD"
MARKERS_UP_TO = 62  # points; beyond this, markers on lines only clutter
LOG_SPREAD = 10  # a percentiles panel whose largest value is this many times its smallest: log scale
NO_TRAFFIC = "No traffic"  # the marker trace of points without traffic (time_figure's idle)

# Per period: x-axis title, tick format, hover format (d3-time-format) and the words for "per point".
PERIODS: dict[str, tuple[str, str, str, str]] = {
    "P1D": ("Day (UTC)", "%a %b %-d", "%a %Y-%m-%d", "per day"),
    "PT1H": ("Hour (UTC)", "", "%a %Y-%m-%d %H:%M", "per hour"),
    "PT15M": ("15 minutes starting (UTC)", "", "%a %Y-%m-%d %H:%M", "per 15 minutes"),
    "SINGLE": ("Range starting (UTC)", "%Y-%m-%d %H:%M", "%a %Y-%m-%d %H:%M", "over the range"),
    "P1W": ("ISO week starting Monday (UTC)", "%b %-d", "week of %a %Y-%m-%d", "per week"),
}
# d3-format per kind of value: for ticks, and for hover labels and bar texts, which show values
# rounded exactly as the cards, tables and the CLI do (alexa_skill_metrics.formatting).
TICK_FORMATS: dict[str, str] = {"count": ",d", "ratio": ",.2~f", "percent": ".0%", "ms": ""}
VALUE_FORMATS: dict[str, str] = {kind: d3_format(kind) for kind in ("count", "ratio", "percent", "ms")}
UNITS: dict[str, str] = {"ms": " ms"}
# Plotly's toolbar, stood on end in the right margin: there it covers neither legends (which wrap
# within the plot area's width) nor data. The margin is at least its width.
MODEBAR = {"orientation": "v", "bgcolor": "rgba(255,255,255,0.85)"}
MODEBAR_MARGIN = 40
# Rotated date labels lean left of their tick, so the last one never runs past the chart's edge
# (Plotly hides a label that would); at most this many daily labels, always with the last day's.
TICK_ANGLES = [0, -30, -90]
MAX_DAY_LABELS = 8


@dataclass(frozen=True)
class Trace:
    """One named series of values, drawn as bars or a line in a fixed colour.

    An ``overlay`` is a dotted line over bars (a stack's total as the API gives it, or a related
    count); over many points it zigzags across the bars, so there it starts hidden (a click on its
    legend entry shows it).
    """

    name: str
    values: Sequence[Any]
    color: str
    kind: Literal["bar", "line", "overlay"] = "bar"
    dash: str = "solid"  # for lines: solid, dot, dash


def per_point(period: str) -> str:
    """``per day``, ``per hour``, ``per 15 minutes`` or ``over the range``."""
    return PERIODS.get(period, PERIODS["P1D"])[3]


def base_layout(height: int) -> dict[str, Any]:
    return {
        "template": {},  # no Plotly theme: it would repeat ~7 kB of defaults in every figure
        "height": height,
        "autosize": True,
        "margin": {"l": 64, "r": MODEBAR_MARGIN, "t": 36, "b": 56},
        "font": {"family": FONT, "size": 12, "color": "#212529"},
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "legend": {"orientation": "h", "traceorder": "normal", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "hoverlabel": {"font": {"family": FONT}},
        "separators": ".,",
        "modebar": dict(MODEBAR),
    }


def day_ticks(starts: Sequence[str]) -> list[str]:
    """The points of a daily series that get a label: evenly spaced, the last day always among them.

    >>> day_ticks([f"2026-01-{d:02d}T00:00:00Z" for d in range(1, 10)])[-2:]
    ['2026-01-07T00:00:00Z', '2026-01-09T00:00:00Z']
    >>> len(day_ticks([f"2026-01-{d:02d}T00:00:00Z" for d in range(1, 32)]))
    8
    """
    step = max(1, -(-len(starts) // MAX_DAY_LABELS))
    return list(starts)[::-1][::step][::-1]


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "gridcolor": GRID,
        "linecolor": AXIS,
        "showline": True,
        "zeroline": False,
        "automargin": True,
        **extra,
    }


def time_figure(
    starts: Sequence[str],
    traces: Sequence[Trace],
    *,
    period: str,
    y_title: str,
    kind: ValueKind = "count",
    stacked: bool = False,
    height: int = 320,
    idle: Sequence[bool] = (),
) -> dict[str, Any]:
    """Traces over the series' points (bucket starts, UTC), with a date axis and one hover for all.

    ``idle`` marks the points without traffic: there a line's ratio (0 by the contract, with a
    denominator of 0) would dip to 0 as if it had fallen, so lines break there and a grey marker
    on the axis says why. The API's values stay in each line's ``customdata`` (for its table).
    """
    x_title, tick, hover, _ = PERIODS.get(period, PERIODS["P1D"])
    value_format = VALUE_FORMATS[kind]
    dense = len(starts) > MARKERS_UP_TO
    data = []
    for trace in traces:
        values = list(trace.values)
        common: dict[str, Any] = {
            "name": trace.name,
            "x": list(starts),
            "y": values,
            "yhoverformat": value_format,
        }
        if trace.kind != "bar" and any(idle):
            common["y"] = [None if quiet else value for value, quiet in zip(values, idle, strict=True)]
            common["customdata"] = values
        if trace.kind == "bar":
            data.append({"type": "bar", **common, "marker": {"color": trace.color}})
        else:
            overlay = trace.kind == "overlay"
            data.append(
                {
                    "type": "scatter",
                    **common,
                    "mode": "lines" if dense else "lines+markers",
                    "line": {
                        "color": trace.color,
                        "width": 1.5 if overlay else 2,
                        "dash": "dot" if overlay else trace.dash,
                    },
                    "marker": {"color": trace.color, "size": 5 if overlay else 6},
                    "connectgaps": False,
                    **({"visible": "legendonly"} if overlay and dense else {}),
                }
            )
    quiet = [start for start, no_traffic in zip(starts, idle, strict=False) if no_traffic]
    if quiet:
        data.append(
            {
                "type": "scatter",
                "name": NO_TRAFFIC,
                "x": quiet,
                "y": [0] * len(quiet),
                "mode": "markers",
                "marker": {"color": AXIS, "symbol": "x-thin-open", "size": 9, "line": {"width": 2}},
                "cliponaxis": False,
                "hovertemplate": f"{NO_TRAFFIC}<extra></extra>",
            }
        )
    layout = base_layout(height)
    y_axis = _axis(y_title, rangemode="tozero", tickformat=TICK_FORMATS[kind], fixedrange=True)
    if kind == "count":
        # Plotly picks 0.2 or 0.5 steps for small counts, which ",d" would label "0, 0, 1, 1"; stacks
        # here always carry their total as a trace, so the largest value is the top of the axis.
        top = max((value for trace in traces for value in trace.values if value is not None), default=0)
        if top < 6:
            y_axis.update(dtick=1, **({"range": [0, 1]} if top == 0 else {}))
    if len(data) == 1:
        layout["margin"]["t"] = 12  # no legend above a single series
    layout.update(
        {
            "barmode": "stack" if stacked else "group",
            "bargap": 0.2,
            "hovermode": "x unified",
            "xaxis": _axis(
                x_title,
                type="date",
                tickformat=tick,
                hoverformat=hover,
                autotickangles=TICK_ANGLES,
                **(
                    {"tickmode": "array", "tickvals": day_ticks(starts)} if period == "P1D" and starts else {}
                ),
            ),
            "yaxis": y_axis,
        }
    )
    return {"data": data, "layout": layout}


def category_figure(
    categories: Sequence[str],
    traces: Sequence[Trace],
    *,
    x_title: str,
    kind: ValueKind = "count",
    colors: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Horizontal bars, one row per category (first at the top), each bar labelled with its value.

    ``colors`` colours the bars of a single trace per category (for example per end type);
    ``labels`` replaces a single trace's bar labels (for example "56 (56.57%)").
    """
    value_format = VALUE_FORMATS[kind]
    data = []
    for trace in traces:
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": trace.name,
                "y": list(categories),
                "x": list(trace.values),
                "marker": {"color": list(colors) if colors else trace.color},
                **(
                    {"text": list(labels), "texttemplate": "%{text}"}
                    if labels
                    else {"texttemplate": f"%{{x:{value_format}}}{UNITS.get(kind, '')}"}
                ),
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": f"%{{y}}<br>{trace.name}: %{{x:{value_format}}}{UNITS.get(kind, '')}"
                "<extra></extra>",
            }
        )
    rows = max(len(categories), 1)
    height = max(220, 80 + rows * (14 + 14 * len(traces)))
    # Bar labels sit right of the bars, in the margin: leave room for the longest one.
    shown = labels if labels else [FORMATS[kind](value) for trace in traces for value in trace.values]
    longest = max((len(str(text)) for text in shown), default=0)
    layout = base_layout(height)
    layout.update(
        {
            "barmode": "group",
            "bargap": 0.25,
            "hovermode": "closest",
            "showlegend": len(traces) > 1,
            "margin": {
                "l": 24,
                "r": max(MODEBAR_MARGIN, 16 + 7 * longest),
                "t": 36 if len(traces) > 1 else 12,
                "b": 56,
            },
            "xaxis": _axis(x_title, rangemode="tozero", tickformat=TICK_FORMATS[kind], fixedrange=True),
            "yaxis": _axis("", type="category", autorange="reversed", fixedrange=True, showgrid=False),
        }
    )
    return {"data": data, "layout": layout}


def percentiles_figure(
    categories: Sequence[str], traces: Sequence[Trace], *, x_title: str, kind: ValueKind = "ms"
) -> dict[str, Any]:
    """One small panel of horizontal bars per trace (p50, p90, p99), each on its own scale.

    On one shared axis a cold start's p99 (hundreds of ms) leaves p50 and p90 (tenths of a ms)
    as slivers; side by side, each percentile spans its panel and its labels carry the values.
    """
    figure = category_figure(categories, traces, x_title=x_title, kind=kind)
    layout = figure["layout"]
    gap = 0.04
    width = (1 - gap * (len(traces) - 1)) / max(len(traces), 1)
    for index, trace in enumerate(figure["data"]):
        suffix = "" if index == 0 else str(index + 1)
        trace.update({"xaxis": f"x{suffix}", "marker": {"color": traces[index].color}})
        shown = [v for v in traces[index].values if v is not None and v > 0]
        low, top = min(shown, default=1), max(shown, default=1)
        # A cold start's 800 ms beside 0.03 ms handler times in one panel: a log scale, labelled.
        spread = top > LOG_SPREAD * low
        layout[f"xaxis{suffix}"] = _axis(
            f"{trace['name']} ({UNITS.get(kind, '').strip() or x_title}{', log scale' if spread else ''})",
            domain=[index * (width + gap), index * (width + gap) + width],
            # room right of the longest bar for its label, inside the panel
            **(
                {"type": "log", "range": [math.log10(low / 2), math.log10(top * 40)]}
                if spread
                else {"range": [0, top * 1.6], "tickformat": TICK_FORMATS[kind]}
            ),
            fixedrange=True,
            nticks=4,
        )
    layout["showlegend"] = False
    layout["margin"].update({"t": 12, "r": MODEBAR_MARGIN})
    layout["height"] = max(220, 80 + max(len(categories), 1) * 24)
    return figure
