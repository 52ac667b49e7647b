"""The dashboard as one self-contained HTML file: the five views as tabs, charts drawn by Plotly.

Everything the page needs is inside it: Plotly's JavaScript (from the ``plotly`` package, inlined
once), the page's CSS and script, and each chart's figure as JSON. It opens from disk without a
network. Every chart also has a table of its values, for screen readers and for exact figures.

Example
-------
>>> from alexa_skill_metrics.dashboard.collect import VIEWS
>>> from alexa_skill_metrics.reporting import EventList, RecomputedRollups, ReportRequest, Reporter
>>> reporter = Reporter(RecomputedRollups(EventList([])), clock=lambda: 1_768_176_000_000)
>>> request = ReportRequest.from_params("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
...     {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z"})
>>> page = render_dashboard({name: reporter.view(name, request) for name in VIEWS})
>>> page.startswith("<!DOCTYPE html>"), "No data for this skill in this range" in page
(True, True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from alexa_skill_metrics.dashboard.assets import CSS, JS
from alexa_skill_metrics.dashboard.charts import NO_TRAFFIC
from alexa_skill_metrics.dashboard.collect import check_views
from alexa_skill_metrics.dashboard.layout import FORMATS, Card, Chart, Note, Tab, Table, range_text, when
from alexa_skill_metrics.dashboard.tabs import build_tabs, has_data

PERIOD_NAMES = {
    "P1D": "Daily (P1D)",
    "PT1H": "Hourly (PT1H)",
    "PT15M": "15 minutes (PT15M)",
    "SINGLE": "Whole range (SINGLE)",
    "P1W": "Weekly, ISO weeks from Monday (P1W)",
}


def write_dashboard(views: Mapping[str, Mapping[str, Any]], *, out: Path | str) -> Path:
    """Write the dashboard of ``views`` (see ``collect_views``) to ``out``; return its path.

    Parent folders are created. The file is UTF-8 and needs nothing else to open.
    """
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_dashboard(views), encoding="utf-8")
    return path


def render_dashboard(views: Mapping[str, Mapping[str, Any]]) -> str:
    """The dashboard page of ``views``, the reporting API's five view bodies keyed by view name."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]  # plotly ships no type hints

    check_views(views)
    tabs = build_tabs(views)
    charts = [block for tab in tabs for block in tab.blocks if isinstance(block, Chart)]
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>Skill metrics · {escape(views['overview']['skillId'])}</title>\n",
            f"<style>{CSS}</style>\n</head>\n<body>\n",
            _header(views),
            "" if has_data(views) else _empty_state(views),
            _tablist(tabs),
            '<main class="wrap">\n',
            *(_panel(tab, index == 0) for index, tab in enumerate(tabs)),
            "</main>\n",
            '<footer class="wrap">Every figure comes from the reporting API\'s views for this range; '
            "times are UTC. Built with Plotly.</footer>\n",
            '<noscript><p class="wrap">Charts need JavaScript; each chart\'s values are in the tables '
            "under it.</p></noscript>\n",
            f'<script type="application/json" id="dashboard-figures">{_figures_json(charts)}</script>\n',
            f"<script>{get_plotlyjs()}</script>\n",
            f"<script>{JS}</script>\n</body>\n</html>\n",
        ]
    )


def _header(views: Mapping[str, Mapping[str, Any]]) -> str:
    head = views["customers"]  # a series view: its range is the period's, as the tabs' charts show it
    facts = [
        ("Range", f"{range_text(head)}"),
        ("Period", PERIOD_NAMES.get(head["period"], head["period"])),
        ("Stage", head["stage"]),
        ("Locale", head["locale"] or "All locales"),
        ("As of", when(head.get("asOf"))),
    ]
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(str(v))}</dd></div>" for k, v in facts)
    return (
        '<header class="page-header"><div class="wrap">\n'
        "<div><h1>Skill metrics</h1>"
        f'<p class="skill-id">Skill <code>{escape(head["skillId"])}</code></p></div>\n'
        f'<dl class="facts">{items}</dl>\n</div></header>\n'
    )


def _empty_state(views: Mapping[str, Mapping[str, Any]]) -> str:
    head = views["customers"]
    locale = f", locale {head['locale']}" if head["locale"] else ""
    return (
        '<div class="wrap"><section class="empty" role="status" aria-labelledby="empty-title">\n'
        '<h2 id="empty-title">No data for this skill in this range</h2>\n'
        f"<p>No utterances or sessions were recorded for <code>{escape(head['skillId'])}</code> "
        f"(stage {escape(head['stage'])}{escape(locale)}) from {escape(range_text(head))}. "
        "Check the skill id, stage, locale and range, that the skill records metrics, and that the "
        "aggregator has processed its stream. The charts below show the range's zeros.</p>\n"
        "</section></div>\n"
    )


def _tablist(tabs: Sequence[Tab]) -> str:
    buttons = "".join(
        f'<button type="button" role="tab" id="tab-{tab.id}" aria-controls="panel-{tab.id}" '
        f'aria-selected="{"true" if i == 0 else "false"}" tabindex="{0 if i == 0 else -1}" '
        f'data-view="{tab.id}">{escape(tab.title)}</button>'
        for i, tab in enumerate(tabs)
    )
    return (
        '<nav class="tabs"><div class="wrap"><div role="tablist" aria-label="Metric views">'
        f"{buttons}</div></div></nav>\n"
    )


def _panel(tab: Tab, selected: bool) -> str:
    cards = "".join(_card(card) for card in tab.cards)
    blocks = "".join(_block(block) for block in tab.blocks)
    hidden = "" if selected else " hidden"
    return (
        f'<section role="tabpanel" id="panel-{tab.id}" aria-labelledby="tab-{tab.id}" tabindex="0"{hidden}>\n'
        f'<p class="range">{escape(tab.range_text)}</p>\n'
        f'<div class="cards">{cards}</div>\n'
        f'<div class="grid" style="--columns: {tab.columns}">{blocks}</div>\n</section>\n'
    )


def _card(card: Card) -> str:
    details = "".join(f"<p>{escape(line)}</p>" for line in card.details)
    return (
        f'<div class="card"><h2>{escape(card.label)}</h2>'
        f'<div class="value">{escape(card.value)}</div>{details}</div>'
    )


def _block(block: Chart | Table | Note) -> str:
    if isinstance(block, Chart):
        return _chart(block)
    if isinstance(block, Table):
        caption = f'<p class="caption">{escape(block.caption)}</p>' if block.caption else ""
        table = _table(block.title, block.columns, block.rows, block.numeric)
        return (
            f'<section class="block wide" id="{block.id}"><h2>{escape(block.title)}</h2>'
            f"{caption}{table}</section>"
        )
    return f'<section class="block note"><h2>{escape(block.title)}</h2><p>{escape(block.text)}</p></section>'


def _chart(chart: Chart) -> str:
    wide = " wide" if chart.wide else ""
    caption = f'<p class="caption">{escape(chart.caption)}</p>' if chart.caption else ""
    label = f"Values: {chart.title}"
    if chart.values is not None:
        values = _table(label, chart.values.columns, chart.values.rows, chart.values.numeric)
    else:
        columns, rows = chart_values(chart)
        values = _table(label, columns, rows, (False, *([True] * (len(columns) - 1))))
    return (
        f'<figure class="block{wide}" id="block-{chart.id}"><figcaption><h2>{escape(chart.title)}</h2>'
        f"{caption}</figcaption>"
        f'<div class="chart" id="chart-{chart.id}" data-figure="{chart.id}" role="img" '
        f'aria-label="{escape(chart.title)}; the values are in the table below"></div>'
        f'<details><summary>Values</summary><div class="scroll">{values}</div></details></figure>'
    )


def chart_values(chart: Chart) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """A chart's data as a table: one row per point (or category), one column per trace."""
    # The no-traffic markers are not values; a line broken there keeps the API's values in customdata.
    traces = [trace for trace in chart.figure["data"] if trace["name"] != NO_TRAFFIC]
    horizontal = bool(traces) and traces[0].get("orientation") == "h"
    index_key, value_key = ("y", "x") if horizontal else ("x", "y")
    index = traces[0][index_key] if traces else []
    show = FORMATS[chart.kind]
    columns_of = [trace.get("customdata", trace[value_key]) for trace in traces]
    columns = (chart.index_label, *(str(trace["name"]) for trace in traces))
    rows = tuple(
        (str(label) if horizontal else when(label), *(show(values[i]) for values in columns_of))
        for i, label in enumerate(index)
    )
    return columns, rows


def _table(label: str, columns: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> str:
    def cls(i: int) -> str:
        return ' class="num"' if i < len(numeric) and numeric[i] else ""

    head = "".join(f'<th scope="col"{cls(i)}>{escape(c)}</th>' for i, c in enumerate(columns))
    body = "".join(
        "<tr>" + "".join(
            f'<th scope="row">{escape(v)}</th>' if i == 0 else f"<td{cls(i)}>{escape(v)}</td>"
            for i, v in enumerate(row)
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f'<table aria-label="{escape(label)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figures_json(charts: Sequence[Chart]) -> str:
    """Every chart's figure, validated by Plotly, as one JSON object safe inside a <script> element."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]
    import plotly.io as pio  # type: ignore[import-untyped]

    parts = [f"{json.dumps(c.id)}:{pio.to_json(go.Figure(c.figure), validate=True)}" for c in charts]
    # "<" only occurs inside JSON strings, where \u003c means the same; so no "</script>" can close early.
    return ("{" + ",".join(parts) + "}").replace("<", "\\u003c")
