"""CSV export of report bodies (``format=csv``, ``--csv``): RFC 4180, UTC ISO 8601 times, one row per point.

What each body becomes (the console exports CSV too; these are the same JSON figures, laid flat):

* a view: one row per point of its ``series`` (the intents view: one row per intent, with the
  range's ``startTime`` and ``endTime``), nested figures as dotted columns (``latencyMs.p50``);
* a v1 metric: ``metric,timestamp,value`` per bucket;
* a v2 answer: ``id,label,metricNamespace,name,stat,groupedByField,groupedByValue,timestamp,value``
  per point of every group of every query (epoch milliseconds become ISO 8601 UTC);
* a v2 listing: one row per metric, lists joined with ``|``.

Null is an empty cell. Lines end with CRLF, fields are quoted when needed (``csv`` module).

Example
-------
>>> print(to_csv({"metric": "totalUtterances", "timestamps": ["2026-01-05T00:00:00Z"], "values": [4],
...               "nextToken": None}), end="")
metric,timestamp,value\r
totalUtterances,2026-01-05T00:00:00Z,4\r
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alexa_skill_metrics.reporting.params import format_time

CSV = "text/csv; charset=utf-8; header=present"
FORMATS = ("json", "csv")
V2_COLUMNS = ("id", "label", "metricNamespace", "name", "stat", "groupedByField", "groupedByValue")


def to_csv(body: Mapping[str, Any]) -> str:
    """The CSV text of a view, v1 metric, v2 answer or v2 listing body."""
    header, rows = table_of(body)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180's line break
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def table_of(body: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Column names and rows of a body (see the module's list)."""
    if "results" in body:
        return _v2(body["results"])
    if "metrics" in body and "paginationContext" in body:
        return _flat_rows(body["metrics"])
    if "metric" in body and "values" in body:
        rows = [[body["metric"], t, v] for t, v in zip(body["timestamps"], body["values"], strict=True)]
        return ["metric", "timestamp", "value"], rows
    if "intents" in body:
        header, rows = _flat_rows(body["intents"])
        return ["startTime", "endTime", *header], [[body["startTime"], body["endTime"], *row] for row in rows]
    return _flat_rows(body.get("series", []))


def _v2(results: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = []
    for result in results:
        for data in result["data"]:
            grouped = data.get("groupedBy") or {}
            head = [result["id"], result["label"], result["metricNamespace"], result["name"], result["stat"],
                    grouped.get("groupedByField"), grouped.get("groupedByValue")]  # fmt: skip
            rows += [
                [*head, format_time(t), v] for t, v in zip(data["timestamps"], data["values"], strict=True)
            ]
    return [*V2_COLUMNS, "timestamp", "value"], rows


def _flat_rows(items: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    flat = [flatten(item) for item in items]
    columns = list(dict.fromkeys(name for row in flat for name in row))
    return columns, [[row.get(name) for name in columns] for row in flat]


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level, their keys joined with dots: ``{'a': {'b': 1}}`` -> ``{'a.b': 1}``."""
    out: dict[str, Any] = {}
    for key, inner in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, Mapping):
            out.update(flatten(inner, name))
        else:
            out[name] = inner
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(map(str, value))
    return str(value)
