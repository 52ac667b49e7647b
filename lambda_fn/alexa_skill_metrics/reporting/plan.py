"""Which rollups a report reads: the fewest, coarsest buckets that cover its range exactly.

A report's cost is the number of rollup items it reads, so it depends on the number of buckets,
never on the number of events. A series at period ``P`` reads the ``P`` rollups of its range; a
single value (``SINGLE``, the intents view) reads a *tiling*: days where whole UTC days fit, hours
where whole hours fit, 15-minute buckets at the edges. Rollups of disjoint buckets merge into the
figure of their union (counters add, customer sketches union), so any exact tiling gives the same
numbers.

Example
-------
>>> day, hour, quarter = 86_400_000, 3_600_000, 900_000
>>> [(s.granularity, s.buckets) for s in tiling(day - hour - quarter, 3 * day + hour)]
[('PT15M', 1), ('PT1H', 1), ('P1D', 2), ('PT1H', 1)]
"""

from __future__ import annotations

from dataclasses import dataclass

from alexa_skill_metrics.periods import BUCKET_MS

_COARSEST_FIRST = ("P1D", "PT1H", "PT15M")
WEEK = "P1W"


@dataclass(frozen=True, slots=True)
class Span:
    """The ``granularity`` buckets that tile the half-open range [start_ms, end_ms)."""

    granularity: str
    start_ms: int
    end_ms: int

    @property
    def buckets(self) -> int:
        return (self.end_ms - self.start_ms) // BUCKET_MS[self.granularity]

    def holds(self, granularity: str, bucket_ms: int) -> bool:
        return granularity == self.granularity and self.start_ms <= bucket_ms < self.end_ms


def tiling(start_ms: int, end_ms: int) -> list[Span]:
    """The coarsest exact cover of [start_ms, end_ms), which must be aligned to 15 minutes."""
    if start_ms % BUCKET_MS["PT15M"] or end_ms % BUCKET_MS["PT15M"]:
        raise ValueError("a tiling needs a range aligned to 15 minutes")
    spans: list[Span] = []
    position = start_ms
    while position < end_ms:
        # One bucket at a time, the coarsest that starts here and fits; consecutive ones form a span.
        granularity = next(
            g for g in _COARSEST_FIRST if position % BUCKET_MS[g] == 0 and position + BUCKET_MS[g] <= end_ms
        )
        end = position + BUCKET_MS[granularity]
        if spans and spans[-1].granularity == granularity:
            spans[-1] = Span(granularity, spans[-1].start_ms, end)
        else:
            spans.append(Span(granularity, position, end))
        position = end
    return spans


def series(start_ms: int, end_ms: int, granularity: str) -> list[Span]:
    """The ``granularity`` rollups of a range aligned to it; a week (``P1W``) is read as its days.

    >>> series(0, 3_600_000, "PT1H")
    [Span(granularity='PT1H', start_ms=0, end_ms=3600000)]
    >>> [span.buckets for span in series(345_600_000, 345_600_000 + 2 * 604_800_000, "P1W")]
    [14]
    """
    if granularity == WEEK:
        # Weeks are not stored: their day rollups merge into them (customer sketches union).
        return [Span("P1D", start_ms, end_ms)]
    return [Span(granularity, start_ms, end_ms)]
