"""The read plan: a tiling covers a range exactly, with the fewest and coarsest buckets."""

from __future__ import annotations

import itertools
import random

import pytest

from alexa_skill_metrics.periods import BUCKET_MS
from alexa_skill_metrics.reporting.plan import Span, tiling

Q, H, D = BUCKET_MS["PT15M"], BUCKET_MS["PT1H"], BUCKET_MS["P1D"]
JAN5 = 1_767_571_200_000


def bucket_count(spans: list[Span]) -> int:
    return sum(span.buckets for span in spans)


def test_whole_days_are_read_as_days() -> None:
    assert tiling(JAN5, JAN5 + 90 * D) == [Span("P1D", JAN5, JAN5 + 90 * D)]


def test_edges_use_hours_then_quarters() -> None:
    # Given 10:45 on day 1 to 02:30 on day 4
    start, end = JAN5 + 10 * H + 3 * Q, JAN5 + 3 * D + 2 * H + 2 * Q
    # Then: one quarter, 13 hours to midnight, two days, two hours, two quarters
    assert tiling(start, end) == [
        Span("PT15M", start, JAN5 + 11 * H),
        Span("PT1H", JAN5 + 11 * H, JAN5 + D),
        Span("P1D", JAN5 + D, JAN5 + 3 * D),
        Span("PT1H", JAN5 + 3 * D, JAN5 + 3 * D + 2 * H),
        Span("PT15M", JAN5 + 3 * D + 2 * H, end),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_random_ranges_are_covered_exactly_and_minimally(seed: int) -> None:
    rng = random.Random(seed)
    start = JAN5 + rng.randrange(0, 3 * D // Q) * Q
    end = start + rng.randrange(1, 10 * D // Q) * Q
    spans = tiling(start, end)
    # Contiguous, aligned, exact cover
    assert spans[0].start_ms == start and spans[-1].end_ms == end
    for before, after in itertools.pairwise(spans):
        assert before.end_ms == after.start_ms and before.granularity != after.granularity
    for span in spans:
        size = BUCKET_MS[span.granularity]
        assert span.start_ms % size == 0 and span.end_ms % size == 0 and span.buckets > 0
    # Minimal: at most 3 quarters and 23 hours on each side, and no whole day left in hours
    by_granularity = {g: sum(s.buckets for s in spans if s.granularity == g) for g in BUCKET_MS}
    assert by_granularity["PT15M"] <= 6 and by_granularity["PT1H"] <= 46
    for span in spans:
        if span.granularity != "P1D":
            first_midnight = -(-span.start_ms // D) * D
            assert first_midnight + D > span.end_ms, "a whole day was read in finer buckets"
    assert bucket_count(spans) <= 6 + 46 + (end - start) // D


def test_unaligned_range_is_refused() -> None:
    with pytest.raises(ValueError, match="15 minutes"):
        tiling(JAN5 + 1, JAN5 + H)
