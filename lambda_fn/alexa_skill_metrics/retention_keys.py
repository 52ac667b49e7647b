"""Retention counter keys: the one format the aggregator counts in and the rollup codec packs.

A key names a cohort and the cohort member's previous active period: ``d<cohort day>.<previous
day>`` and ``w<cohort week>.<previous week>``, with an empty previous period for the cohort's own
one; days are UTC epoch days, weeks ISO weeks counted from the week of 1970-01-01 (Monday-based).
What the counters mean is ``aggregation.retention``'s; the format lives here because storage
encodes it and must not import the aggregation stage.

Example
-------
>>> counter_key(WEEKLY, 2923, 2922), counter_key(DAILY, 20458, None)
('w2923.2922', 'd20458.')
>>> parse_key("w2923.2922"), parse_key("d20458.")
(('w', 2923, 2922), ('d', 20458, None))
"""

from __future__ import annotations

DAILY, WEEKLY = "d", "w"


def counter_key(kind: str, cohort: int, previous: int | None) -> str:
    return f"{kind}{cohort}.{'' if previous is None else previous}"


def parse_key(key: str) -> tuple[str, int, int | None]:
    """``(kind, cohort, previous period or None)`` of a counter key."""
    cohort, _, previous = key[1:].partition(".")
    return key[0], int(cohort), int(previous) if previous else None
