"""Exact retention counters (METRICS.md, Retention): what one customer's active days contribute.

A customer's cohort is the day (or ISO week) of their first utterance. For every period ``p`` in
which a customer has an utterance, one counter ``(cohort, previous active period)`` is counted
in the day rollup where that period's activity starts (day ``p`` itself; for weeks, the
customer's first active day of the week). Those counters answer both questions exactly:

* **on** ``k``: customers of cohort ``c`` active in ``c + k`` = the sum, over the previous
  period, of the counters of ``c`` in period ``c + k``;
* **on or after** ``k`` up to an end ``E``: a customer active somewhere in ``[c + k, E)`` has
  exactly one active period ``p`` there whose previous active period is before ``c + k`` (the
  first one), so it is the sum of the counters of ``c`` in periods ``c + k <= p < E`` whose
  previous period is before ``c + k``.

A report therefore reads one item per day (and locale), never per customer. The aggregator
keeps each customer's active days (``storage.customers``) and applies ``changes`` when a batch
brings a day it has not seen for that customer: once per customer and new day.

Counter keys are ``retention_keys``' (``d20458.20459``: cohort day, previous active day).

Example
-------
>>> monday = 20_458  # 2026-01-05
>>> for (day, key), count in sorted(contributions([monday, monday + 1, monday + 9]).items()):
...     print(day, key, count)
20458 d20458. 1
20458 w2923. 1
20459 d20458.20458 1
20467 d20458.20459 1
20467 w2923.2923 1
>>> changes([monday, monday + 9], [monday, monday + 1, monday + 9])
{(20459, 'd20458.20458'): 1, (20467, 'd20458.20458'): -1, (20467, 'd20458.20459'): 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from alexa_skill_metrics.retention_keys import DAILY, WEEKLY, counter_key, parse_key

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Rollup, RollupKey

# Re-exported: reporting and the tests read the key format through this module.
__all__ = ["DAILY", "WEEKLY", "counter_key", "parse_key"]

DAY_MS = 86_400_000
RETENTION_GRANULARITY = "P1D"  # the all-intents rollups that hold the counters (rollup.retention_key)


def day_of(timestamp_ms: int) -> int:
    """The UTC epoch day of a time."""
    return timestamp_ms // DAY_MS


def week_of(day: int) -> int:
    """The ISO week (Monday to Sunday) of an epoch day, counted from 1970-01-01's week (a Thursday)."""
    return (day + 3) // 7


def week_start_day(week: int) -> int:
    """The epoch day of the Monday starting ``week``."""
    return week * 7 - 3


def contributions(days: Iterable[int]) -> Counter[tuple[int, str]]:
    """``(day, counter key) -> count`` for one customer active on ``days`` (any order, repeats allowed)."""
    out: Counter[tuple[int, str]] = Counter()
    ordered = sorted(set(days))
    if not ordered:
        return out
    cohort_day, cohort_week = ordered[0], week_of(ordered[0])
    previous_day: int | None = None
    previous_week: int | None = None
    for day in ordered:
        out[(day, counter_key(DAILY, cohort_day, previous_day))] += 1
        previous_day = day
        week = week_of(day)
        if week != previous_week:  # the customer's first active day of this week
            out[(day, counter_key(WEEKLY, cohort_week, previous_week))] += 1
            previous_week = week
    return out


def changes(old_days: Iterable[int], new_days: Iterable[int]) -> dict[tuple[int, str], int]:
    """The counter deltas that take a customer from ``old_days`` to ``new_days`` (zeros left out)."""
    delta = contributions(new_days)
    delta.subtract(contributions(old_days))
    return {key: value for key, value in sorted(delta.items()) if value}


def by_day(rollups: Iterable[tuple[RollupKey, Rollup]]) -> dict[int, Counter[str]]:
    """Each day's retention counters over every locale's rollups (zeros left out).

    Which locale's day rollup holds a counter depends on which of a customer's utterances of the
    day the aggregator met first (``rollup.retention_key``), so it can differ between deliveries
    of the same events; the figures (this sum, and every report) cannot.

    >>> from alexa_skill_metrics.aggregation.rollup import new_rollup
    >>> from alexa_skill_metrics.model import RollupKey
    >>> us, gb = new_rollup(), new_rollup()
    >>> us.retention, gb.retention = {"d20458.": 2}, {"d20458.": 1, "d20457.20457": 1}
    >>> day = 20_458 * DAY_MS
    >>> keys = [RollupKey("s", "live", "P1D", day, locale) for locale in ("en-US", "en-GB")]
    >>> by_day(zip(keys, [us, gb]))
    {20458: Counter({'d20458.': 3, 'd20457.20457': 1})}
    """
    days: dict[int, Counter[str]] = {}
    for key, rollup in rollups:
        if rollup.retention and key.granularity == RETENTION_GRANULARITY:
            days.setdefault(key.bucket_ms // DAY_MS, Counter()).update(rollup.retention)
    return {day: +counters for day, counters in days.items() if +counters}
