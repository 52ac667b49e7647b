"""How a metric value reads wherever a person reads it: CLI tables, dashboard cards, tables and tooltips.

The rounding is defined once, here: counts with thousands separators, ratios (per customer, per
session, per hour) with 2 decimals, shares as percentages with 2 decimals, latencies in
milliseconds with 2 decimals. Only what is shown is rounded; JSON (the API, ``--json``, the
demo's files) keeps the values as the reporting code computed them.

``kind_of`` tells the kind of a view field from its name, for output that walks a view's JSON
(the CLI) rather than knowing each field, as the dashboard does.

Example
-------
>>> count(12345), ratio(2.18454), percent(0.30159), ms(12.3456), ratio(None)
('12,345', '2.18', '30.16%', '12.35 ms', '\N{EN DASH}')
>>> kind_of("failedShare", 0.25), kind_of("p90", 3.5), kind_of("averagePerHour", 2.1845)
('percent', 'ms', 'ratio')
>>> show(0.25, "failedShare"), show(107, "utterances"), show(2.1845, "averagePerHour")
('25.00%', '107', '2.18')
"""

from __future__ import annotations

from typing import Any, Literal

ValueKind = Literal["count", "ratio", "percent", "ms"]

# Decimals shown per kind of value; d3 formats for Plotly are derived from the same numbers.
DECIMALS: dict[str, int] = {"count": 0, "ratio": 2, "percent": 2, "ms": 2}
NONE = "\N{EN DASH}"  # the API returned null (no latency without utterances, a filtered-out figure)

# Field-name endings of the views' JSON that are shares (fractions of 1) or latencies.
_PERCENT_SUFFIXES = ("share", "rate")
_MS_NAMES = ("p50", "p90", "p99")
_MS_SUFFIXES = ("ms", "latency")


def count(value: Any) -> str:
    """A count with thousands separators; a fractional value keeps the ratio decimals, never rounded away.

    >>> count(3.0), count(1.2222)
    ('3', '1.22')
    """
    if isinstance(value, float) and not value.is_integer():
        return ratio(value)
    return NONE if value is None else f"{round(value):,}"


def plural(number: int, word: str, words: str | None = None) -> str:
    """``1 batch``, ``2 batches``: a count and its noun, singular only for one.

    >>> plural(1, "batch", "batches"), plural(3, "event"), plural(0, "event")
    ('1 batch', '3 events', '0 events')
    """
    return f"{count(number)} {word if number == 1 else words or word + 's'}"


def ratio(value: Any) -> str:
    """A ratio (averages, per customer, per session) with ``DECIMALS['ratio']`` decimals."""
    return NONE if value is None else f"{value:,.{DECIMALS['ratio']}f}"


def percent(value: Any) -> str:
    """A share (a fraction of 1) as a percentage with ``DECIMALS['percent']`` decimals."""
    return NONE if value is None else f"{value:.{DECIMALS['percent']}%}"


def ms(value: Any) -> str:
    """Milliseconds with ``DECIMALS['ms']`` decimals and the unit."""
    return NONE if value is None else f"{value:,.{DECIMALS['ms']}f} ms"


FORMATTERS = {"count": count, "ratio": ratio, "percent": percent, "ms": ms}


def d3_format(kind: ValueKind) -> str:
    """The d3-format string Plotly uses to show a value of this kind exactly as ``show`` would.

    >>> d3_format("ratio"), d3_format("percent"), d3_format("count")
    (',.2f', '.2%', ',d')
    """
    if kind == "count":
        return ",d"
    if kind == "percent":
        return f".{DECIMALS['percent']}%"
    return f",.{DECIMALS[kind]}f"


def kind_of(field: str, value: Any) -> ValueKind:
    """The kind of a view field's value, from its (camelCase) name and Python type.

    >>> kind_of("uniqueCustomers", 40), kind_of("share", 0.5), kind_of("handlerMs", 1.5)
    ('count', 'percent', 'ms')
    """
    name = field.rsplit(".", 1)[-1].lower()
    if name.endswith(_PERCENT_SUFFIXES):
        return "percent"
    if name in _MS_NAMES or name.endswith(_MS_SUFFIXES):
        return "ms"
    if isinstance(value, int) and not isinstance(value, bool):
        return "count"
    return "ratio"


def show(value: Any, field: str = "") -> str:
    """A view field's value as every human-readable output shows it (``field`` picks the kind).

    >>> show(None, "p50"), show(True), show("RollDiceIntent", "intent")
    ('\N{EN DASH}', 'True', 'RollDiceIntent')
    """
    if value is None:
        return NONE
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return FORMATTERS[kind_of(field, value)](value)
