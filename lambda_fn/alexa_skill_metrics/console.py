"""Readable terminal tables for report bodies: views and SMAPI metric series, any shape they have.

The reporting code returns plain JSON; this module only lays it out, it computes nothing.

Example
-------
>>> import io
>>> from rich.console import Console
>>> console = Console(width=100, file=io.StringIO())
>>> body = {"metric": "totalUtterances", "timestamps": ["2026-01-05T00:00:00Z"], "values": [4]}
>>> print_report(console, body)
>>> "totalUtterances" in console.file.getvalue()
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

_HEADER_KEYS = ("view", "skillId", "stage", "locale", "intent", "period", "startTime", "endTime", "asOf")
_WIDE_IN_SERIES = ("shareByEndType",)  # shown once in the totals; per bucket it would not fit a terminal


def print_report(console: Console, body: Mapping[str, Any]) -> None:
    """Print a view body or an SMAPI metric body as tables."""
    if "metric" in body and "values" in body:
        _print_metric(console, body)
        return
    if body.get("view") in ("retention", "paths"):
        _print_journeys(console, body)
        return
    header = [f"{k}={body[k]}" for k in _HEADER_KEYS if body.get(k) is not None]
    console.rule(f"[bold]{str(body.get('view', 'report')).capitalize()}[/]")
    console.print(" ".join(header), style="dim")
    summary: dict[str, Any] = {}
    for key, value in body.items():
        if key in _HEADER_KEYS:
            continue
        if isinstance(value, list):
            if value and all(isinstance(row, Mapping) for row in value):
                skip = _WIDE_IN_SERIES if key == "series" else ()
                console.print(_rows_table(key, value, skip))
        elif isinstance(value, Mapping):
            summary.update(_flatten(value, key if key != "totals" else ""))
        else:
            summary[key] = value
    if summary:
        table = Table(title="summary", show_header=False, title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in summary.items():
            table.add_row(key, _cell(value))
        console.print(table)


def _print_metric(console: Console, body: Mapping[str, Any]) -> None:
    table = Table(title=str(body["metric"]), title_justify="left")
    table.add_column("timestamp")
    table.add_column("value", justify="right")
    for timestamp, value in zip(body["timestamps"], body["values"], strict=True):
        table.add_row(str(timestamp), _cell(value))
    console.print(table)
    if body.get("nextToken"):
        console.print(f"nextToken: {body['nextToken']}", style="dim")


def _rows_table(title: str, rows: list[Mapping[str, Any]], skip: tuple[str, ...]) -> Table:
    flat = [_flatten({k: v for k, v in row.items() if k not in skip}) for row in rows]
    columns = list(dict.fromkeys(k for row in flat for k in row))
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        first = i == 0
        table.add_column(_label(column), justify="left" if first else "right", no_wrap=first, overflow="fold")
    for row in flat:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    return table


def _label(column: str) -> str:
    """``latencyMs.p50`` -> ``p50 ms``: nested names shortened so tables fit a terminal."""
    if "." not in column:
        return column
    parent, leaf = column.rsplit(".", 1)
    return f"{leaf} ms" if parent.endswith("latencyMs") else leaf


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, inner in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, Mapping):
            out.update(_flatten(inner, name))
        else:
            out[name] = inner
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_journeys(console: Console, body: Mapping[str, Any]) -> None:
    """Retention as a cohort table (returning customers, share), paths as their top transitions."""
    console.rule(f"[bold]{str(body['view']).capitalize()}[/]")
    console.print(" ".join(f"{k}={body[k]}" for k in _HEADER_KEYS if body.get(k) is not None), style="dim")
    if body["view"] == "retention":
        cohorts = body["cohorts"]
        width = max((len(c["retention"]) for c in cohorts), default=0)
        table = Table(
            title=f"{body['cohort']}ly cohorts: returning on (share); * in progress", title_justify="left"
        )
        table.add_column("cohort")
        table.add_column("customers", justify="right")
        for offset in range(width):
            table.add_column(f"+{offset}", justify="right")
        for cohort in cohorts:
            cells = [
                f"{cell['onShare']:.0%}{'*' if cell['inProgress'] else ''}" for cell in cohort["retention"]
            ]
            table.add_row(cohort["start"][:10], str(cohort["customers"]), *cells)
        console.print(table)
        return
    table = Table(title=f"{body['sessions']} sessions: top transitions", title_justify="left")
    for column in ("from", "to", "sessions", "share"):
        table.add_column(column, justify="right" if column in ("sessions", "share") else "left")
    for row in body["transitions"][:10]:
        table.add_row(row["source"], row["target"], str(row["sessions"]), f"{row['share']:.1%}")
    console.print(table)
