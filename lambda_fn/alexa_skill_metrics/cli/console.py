"""Readable terminal tables for report bodies: views and SMAPI metric series, any shape they have.

The reporting code returns plain JSON; this module only lays it out, it computes nothing. Tables
fit the console's width (80 columns in a pipe): a table too wide is split into several that
repeat its first column, and below about 40 columns rows become vertical records. A cell is
never wrapped, so a number is never split across lines. Numbers are shown with the dashboard's
formatters (``alexa_skill_metrics.formatting``: one rounding for both); ``--json`` keeps the API's values.

Example
-------
>>> import io
>>> from rich.console import Console
>>> console = Console(width=80, file=io.StringIO())
>>> body = {"metric": "totalUtterances", "timestamps": ["2026-01-05T00:00:00Z"], "values": [4]}
>>> print_report(console, body)
>>> "totalUtterances" in console.file.getvalue()
True
>>> display("failedShare", 0.66667), display("latencyMs.p50", 0.08), display("perSession", 2.97916)
('66.67%', '0.08 ms', '2.98')
>>> display("endpointMs.p90", 412.0)
'412.00 ms'

"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alexa_skill_metrics.formatting import NONE, count, ms, percent, ratio
from alexa_skill_metrics.reporting.export import flatten as _flatten

_HEADER_KEYS = ("view", "skillId", "stage", "locale", "intent", "period", "startTime", "endTime", "asOf")
_WIDE_IN_SERIES = ("shareByEndType",)  # shown once in the totals; per bucket it would not fit a terminal
_TIME_KEYS = ("start", "timestamp")
_NARROWEST_TABLE = 40  # below this a table of even two columns reads worse than vertical records
_BOX = box.SIMPLE_HEAD  # no outer frame: two columns of characters fewer per column than a grid


def display(name: str, value: Any) -> str:
    """One value as the terminal shows it; ``name`` (a flattened field name) picks the unit."""
    if value is None:
        return NONE
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return count(value)
    leaf = name.rsplit(".", 1)[-1]
    if "latencyMs" in name or "endpointMs" in name:
        return ms(value)
    if "shareByEndType" in name or leaf.endswith(("Share", "Rate")) or leaf in ("share", "failureRate"):
        return percent(value)
    return ratio(value)


def print_report(console: Console, body: Mapping[str, Any]) -> None:
    """Print a view body or an SMAPI metric body as tables that fit ``console.width``."""
    if "metric" in body and "values" in body:
        _print_metric(console, body)
        return
    if body.get("view") in ("retention", "paths"):
        _print_journeys(console, body)
        return
    header = [f"{k}={body[k]}" for k in _HEADER_KEYS if body.get(k) is not None]
    console.rule(f"[bold]{str(body.get('view', 'report')).capitalize()}[/]")
    console.print(" ".join(header) + " (times UTC)", style="dim", overflow="fold")
    summary: dict[str, Any] = {}
    for key, value in body.items():
        if key in _HEADER_KEYS:
            continue
        if isinstance(value, list):
            if value and all(isinstance(row, Mapping) for row in value):
                skip = _WIDE_IN_SERIES if key == "series" else ()
                rows = [_flatten({k: v for k, v in row.items() if k not in skip}) for row in value]
                print_rows(console, key, rows)
        elif isinstance(value, Mapping) and key == "unresolvedValues":
            _print_values(console, value)
            summary[f"{key}.withheld"] = value["withheld"]
        elif isinstance(value, Mapping) and any(isinstance(inner, list) for inner in value.values()):
            _print_section(console, key, value)
        elif isinstance(value, Mapping):
            summary.update(_flatten(value, key if key != "totals" else ""))
        else:
            summary[key] = value
    if summary:
        print_pairs(console, "summary", summary)


def _print_section(console: Console, name: str, section: Mapping[str, Any]) -> None:
    """A view's section with rows of its own (the slots view's ``dialogs``): its figures, then each list."""
    figures = {k: v for k, v in section.items() if not isinstance(v, list)}
    if figures:
        print_pairs(console, name, _flatten(figures))
    for key, rows in section.items():
        if isinstance(rows, list) and rows and all(isinstance(row, Mapping) for row in rows):
            flat = [_flatten(row) for row in rows]
            # the row's name leads its table (the key column), wherever the view puts it
            print_rows(
                console, f"{name} {key}", [{"intent": r["intent"], **r} if "intent" in r else r for r in flat]
            )


def _print_values(console: Console, values: Mapping[str, Any]) -> None:
    """The slots view's unresolved values: what customers said, escaped (it is not console markup)."""
    from rich.markup import escape

    title = f"unresolved values said by {values['minCustomers']}+ customers"
    if not values["values"]:
        console.print(f"[italic]{title}[/]: none (only opted-in slots, SkillMetrics(slot_values=...))")
        return
    rows = [
        {
            "intent.slot": f"{v['intent']}.{v['slot']}",
            "value": escape(v["value"]),
            "customers": v["customers"],
            "utterances": v["utterances"],
        }
        for v in values["values"]
    ]
    print_rows(console, title, rows)


def print_rows(console: Console, title: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Records as tables within the console's width: split by columns, or vertical when narrow."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = {c: [_shown(c, row.get(c), rows, c) for row in rows] for c in columns}
    labels = {c: _label(c) for c in columns}
    widths = {c: max(len(labels[c]), *(len(v) for v in cells[c])) for c in columns}
    key, rest = columns[0], columns[1:]
    groups = _pack(console, [key], rest, lambda shown: _table(title, shown, labels, cells, widths, len(rows)))
    if groups is None:
        for i in range(len(rows)):
            print_pairs(console, f"{title} {i + 1}", {labels[c]: cells[c][i] for c in columns}, shown=True)
        return
    for n, group in enumerate(groups):
        suffix = f" ({n + 1}/{len(groups)})" if len(groups) > 1 else ""
        console.print(_table(f"{title}{suffix}", [key, *group], labels, cells, widths, len(rows)))


def _table(
    title: str,
    shown: Sequence[str],
    labels: Mapping[str, str],
    cells: Mapping[str, Sequence[str]],
    widths: Mapping[str, int],
    rows: int,
) -> Table:
    table = Table(title=title, title_justify="left", box=_BOX, pad_edge=False)
    for i, column in enumerate(shown):
        table.add_column(
            labels[column], justify="left" if i == 0 else "right", no_wrap=True, min_width=widths[column]
        )
    for r in range(rows):
        table.add_row(*(cells[c][r] for c in shown))
    return table


def _pack(
    console: Console, key: list[str], rest: list[str], build: Callable[[list[str]], Table]
) -> list[list[str]] | None:
    """``rest`` in groups whose table (with the ``key`` column first) fits the console; None if none fits."""
    if console.width < _NARROWEST_TABLE:
        return None
    groups: list[list[str]] = [[]]
    for column in rest:
        candidate = [*groups[-1], column]
        if _width(console, build([*key, *candidate])) <= console.width:
            groups[-1] = candidate
        elif groups[-1] and _width(console, build([*key, column])) <= console.width:
            groups.append([column])
        else:
            return None
    return groups


def _width(console: Console, table: Table) -> int:
    from rich.measure import Measurement

    unbounded = console.options.update_width(10_000)  # measured as if the console had no edge
    return Measurement.get(console, unbounded, table).maximum


def print_pairs(console: Console, title: str, pairs: Mapping[str, Any], *, shown: bool = False) -> None:
    """Name and value per line; a value too long for the line folds whole onto the next one."""
    console.print(f"[italic]{title}[/]")
    names = {name: name if shown else _label(name, full=True) for name in pairs}
    values = {name: value if shown else display(name, value) for name, value in pairs.items()}
    name_width = max(len(n) for n in names.values())
    value_width = max(len(v) for v in values.values())
    for name, value in values.items():
        if 2 + name_width + 2 + value_width <= console.width:
            line = f"  {names[name]:<{name_width}}  {value:>{value_width}}"
            console.print(line, no_wrap=True, highlight=False)
        else:  # the value goes whole onto its own line rather than being cut
            console.print(f"  {names[name]}", no_wrap=True, overflow="ellipsis", highlight=False)
            console.print(f"      {value}", no_wrap=True, overflow="ellipsis", highlight=False)


def _print_metric(console: Console, body: Mapping[str, Any]) -> None:
    name = str(body["metric"])
    timestamps = list(body["timestamps"])
    rows = [{"timestamp": t, name: v} for t, v in zip(timestamps, body["values"], strict=True)]
    if rows:
        print_rows(console, name, rows)
    else:
        console.print(f"{name}: no points")
    if body.get("nextToken"):
        console.print(f"nextToken: {body['nextToken']}", style="dim", overflow="fold")


def _shown(column: str, value: Any, rows: Sequence[Mapping[str, Any]], name: str) -> str:
    if column in _TIME_KEYS and isinstance(value, str):
        return _short_time(value, all(str(row.get(column, "")).endswith("T00:00:00Z") for row in rows))
    return display(name, value)


def _short_time(iso: str, dates_only: bool) -> str:
    """``2026-01-05T09:00:00Z`` as ``2026-01-05 09:00`` (``2026-01-05`` when every row is a day)."""
    if len(iso) != 20 or iso[10] != "T":
        return iso
    return iso[:10] if dates_only else f"{iso[:10]} {iso[11:16]}"


def _label(column: str, *, full: bool = False) -> str:
    """``latencyMs.p50`` -> ``p50``: nested names shortened so tables fit a terminal."""
    if "." not in column or full:
        return column
    parent, leaf = column.rsplit(".", 1)
    if parent.endswith("endpointMs"):  # beside the handler latency's columns: say which is which
        return f"endpoint {leaf}"
    return leaf if parent.endswith("latencyMs") else column


def _print_journeys(console: Console, body: Mapping[str, Any]) -> None:
    """Retention as a cohort table (returning customers, share), paths as their top transitions.

    Both go through ``print_rows``, so they fit the terminal's width like every other table.
    """
    console.rule(f"[bold]{str(body['view']).capitalize()}[/]")
    console.print(" ".join(f"{k}={body[k]}" for k in _HEADER_KEYS if body.get(k) is not None), style="dim")
    if body["view"] == "retention":
        rows = [
            {
                "cohort": cohort["start"][:10],
                "customers": cohort["customers"],
                **{
                    f"+{offset}": f"{percent(cell['onShare'])}{'*' if cell['inProgress'] else ''}"
                    for offset, cell in enumerate(cohort["retention"])
                },
            }
            for cohort in body["cohorts"]
        ]
        title = f"{body['cohort']}ly cohorts: share returning on +k; * in progress"
    else:
        rows = [
            {"from": row["source"], "to": row["target"], "sessions": row["sessions"], "share": row["share"]}
            for row in body["transitions"][:10]
        ]
        title = f"{count(body['sessions'])} sessions: top transitions"
    if rows:
        print_rows(console, title, rows)
    else:
        console.print(f"{title}: none")


def progress_bar(console: Console) -> Progress:
    """The project's progress display: what is being done, a bar, done/total and the time it took.

    Commands draw it on stderr (``Console(stderr=True)``), so stdout keeps only the result.
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
