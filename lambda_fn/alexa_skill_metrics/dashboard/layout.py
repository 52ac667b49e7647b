"""What a dashboard page is made of (tabs of cards, charts, tables and notes) and how values read.

Pure data: ``tabs.py`` fills these from the views' JSON, ``render.py`` turns them into HTML. The
formatters only present values the reporting API returned (thousands separators, percentages,
UTC times; the rounding of ``alexa_skill_metrics.formatting``); they never derive one value from
another.

Example
-------
>>> count(12345), percent(0.1234), ratio(2.5), ms(0.052), when("2026-01-05T19:00:00Z")
('12,345', '12.34%', '2.50', '0.05 ms', 'Mon 2026-01-05 19:00 UTC')
>>> ms(None) == NONE
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The rounding is the package's, shared with the CLI (JSON keeps the values as computed).
from alexa_skill_metrics.formatting import NONE, ValueKind, count, ms, percent, ratio

# Re-exported: tabs.py and other dashboard modules format through this module.
__all__ = ["NONE", "ValueKind", "count", "ms", "percent", "ratio"]

FORMATS = {"count": count, "ratio": ratio, "percent": percent, "ms": ms}
View = Mapping[str, Any]  # a view's JSON body, as the reporting API returns it


def when(iso: str | None) -> str:
    """An API time (``2026-01-05T19:00:00Z``) as ``Mon 2026-01-05 19:00 UTC``."""
    if not iso:
        return NONE
    return datetime.fromisoformat(iso).strftime("%a %Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Card:
    """One headline figure: a label, the value as shown, and an optional line under it."""

    label: str
    value: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A data table; ``numeric`` marks the columns aligned right."""

    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart: a Plotly figure (plain dict) with a title, a caption and how its values read."""

    id: str
    title: str
    figure: dict[str, Any]
    caption: str = ""
    kind: ValueKind = "count"
    wide: bool = False
    index_label: str = "Time (UTC)"  # heading of the values table's first column
    values: Table | None = None  # the table under the chart, when not simply its traces' values


@dataclass(frozen=True)
class Note:
    """A short message in place of a chart (for example: nothing to show in this range)."""

    title: str
    text: str


Block = Chart | Table | Note


@dataclass(frozen=True)
class Tab:
    """One tab: the view it shows, its cards, then its charts, tables and notes in order."""

    id: str
    title: str
    range_text: str
    cards: tuple[Card, ...] = ()
    blocks: tuple[Block, ...] = field(default=())
    columns: int = 2  # charts side by side at full width


def range_text(view: View) -> str:
    """``2026-01-05 00:00 to 2026-01-12 00:00 UTC`` (the view's effective, half-open range)."""

    def short(iso: str) -> str:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")

    return f"{short(view['startTime'])} to {short(view['endTime'])} UTC"


def tab_for(view: View, title: str, cards: Sequence[Card], blocks: Sequence[Block], columns: int = 2) -> Tab:
    """The tab showing ``view``, its range and as-of time under the title."""
    text = f"{range_text(view)} (end exclusive) · as of {when(view.get('asOf'))}"
    return Tab(view["view"], title, text, tuple(cards), tuple(blocks), columns)
