"""Clock-aligned UTC time buckets (METRICS.md: Periods, filters, time).

Example
-------
>>> floor_ms(1_767_608_123_456, "PT15M") == 1_767_607_200_000 + 15 * 60_000
True
>>> list(buckets(0, 2 * 3_600_000, "PT1H"))
[0, 3600000]

Weeks (``P1W``) are ISO weeks from Monday 00:00 UTC; they are a reporting period, not a stored
granularity: a week is read as its seven day rollups.

>>> from datetime import UTC, datetime
>>> datetime.fromtimestamp(floor_ms(1_767_985_200_000, "P1W") / 1000, UTC).strftime("%a %Y-%m-%d %H:%M")
'Mon 2026-01-05 00:00'
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

Granularity = Literal["PT15M", "PT1H", "P1D"]
Period = Literal["SINGLE", "PT15M", "PT1H", "P1D", "P1W"]

GRANULARITIES: tuple[Granularity, ...] = ("PT15M", "PT1H", "P1D")
PERIODS: tuple[Period, ...] = ("SINGLE", "PT15M", "PT1H", "P1D", "P1W")
BUCKET_MS: dict[str, int] = {"PT15M": 900_000, "PT1H": 3_600_000, "P1D": 86_400_000, "P1W": 604_800_000}
# Buckets align to the epoch, except weeks: 1970-01-01 was a Thursday, ISO weeks start on Monday.
_ORIGIN_MS: dict[str, int] = {"P1W": 4 * 86_400_000}
MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def floor_ms(timestamp_ms: int, granularity: str) -> int:
    """Start of the bucket holding ``timestamp_ms``."""
    size = BUCKET_MS[granularity]
    return timestamp_ms - (timestamp_ms - _ORIGIN_MS.get(granularity, 0)) % size


def buckets(start_ms: int, end_ms: int, granularity: str) -> Iterator[int]:
    """Starts of the buckets that intersect the half-open range [start_ms, end_ms)."""
    size = BUCKET_MS[granularity]
    bucket = floor_ms(start_ms, granularity)
    while bucket < end_ms:
        yield bucket
        bucket += size


def format_time(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with a ``Z``, to the second (buckets never split seconds)."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
