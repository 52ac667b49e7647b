"""The latency sketch: deterministic merges, the error bound it states, its stored form."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alexa_skill_metrics.sketches import EXACT_LIMIT, RELATIVE_ACCURACY, ExactLatency, LatencySketch

# Handler times as the recorder measures them: milliseconds to the microsecond, from 0 to 10 minutes
latencies = st.integers(min_value=0, max_value=600_000_000).map(lambda micros: micros / 1000)
# Few values (kept exactly), and enough that merges cross EXACT_LIMIT into buckets
latency_lists = st.lists(latencies, max_size=40) | st.lists(
    latencies, min_size=EXACT_LIMIT // 2, max_size=3 * EXACT_LIMIT
)
quantiles = st.sampled_from([0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0]) | st.floats(0.0, 1.0)


def sketch_of(values: list[float]) -> LatencySketch:
    sketch = LatencySketch()
    for value in values:
        sketch.add(value)
    return sketch


def exact_of(values: list[float]) -> ExactLatency:
    exact = ExactLatency()
    for value in values:
        exact.add(value)
    return exact


@given(values=latency_lists.filter(bool), q=quantiles)
def test_a_quantile_is_within_the_stated_relative_accuracy_and_exact_up_to_the_limit(
    values: list[float], q: float
) -> None:
    sketched, expected = sketch_of(values).quantile(q), exact_of(values).quantile(q)
    assert sketched is not None and expected is not None
    if len(values) <= EXACT_LIMIT:
        assert sketched == expected
    else:
        # (the 1e-9 is floating point at a bucket's edge, far below what a report shows)
        assert abs(sketched - expected) <= RELATIVE_ACCURACY * expected * (1 + 1e-9)


@given(
    values=latency_lists,
    cuts=st.lists(st.integers(0, 3 * EXACT_LIMIT), max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_merging_any_split_in_any_order_gives_the_sketch_of_all_values(
    values: list[float], cuts: list[int], order: random.Random
) -> None:
    # Given the values split into parts at arbitrary points, each part a sketch of its own
    bounds = sorted({0, len(values), *(min(c, len(values)) for c in cuts)})
    parts = [sketch_of(values[a:b]) for a, b in itertools.pairwise(bounds)]
    order.shuffle(parts)
    # When they are merged one by one, some through their stored bytes
    merged = LatencySketch()
    for index, part in enumerate(parts):
        merged.merge(LatencySketch.from_bytes(part.to_bytes()) if index % 2 else part)
    # Then the result is the very sketch of all the values: same bytes, same quantiles
    whole = sketch_of(values)
    assert merged.to_bytes() == whole.to_bytes()
    assert merged.total() == len(values)
    assert [merged.quantile(q) for q in (0.5, 0.9, 0.99)] == [whole.quantile(q) for q in (0.5, 0.9, 0.99)]


@given(values=latency_lists)
def test_stored_bytes_round_trip_and_copies_are_independent(values: list[float]) -> None:
    sketch = sketch_of(values)
    back = LatencySketch.from_bytes(sketch.to_bytes())
    assert back.to_bytes() == sketch.to_bytes() and back.total() == len(values)
    twin = sketch.copy()
    twin.add(1.0)
    assert sketch.total() == len(values) and twin.total() == len(values) + 1


def test_a_large_sketch_stays_small() -> None:
    # 92,000 handler times spread over 1 ms to 10 s fill the 466 buckets of that range, about
    # 3 bytes each: the stored size follows the range of times, not their number
    sketch = sketch_of([1.0 * 1.0001**i for i in range(92_000)])
    assert sketch.total() == 92_000
    assert len(sketch.to_bytes()) < 1_500


def test_zero_and_negative_times_count_as_zero_and_infinities_are_refused() -> None:
    sketch = sketch_of([0.0, -1.0, *([5.0] * EXACT_LIMIT)])
    assert sketch.quantile(0.0) == 0.0 and sketch.total() == EXACT_LIMIT + 2
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError, match="finite"):
            LatencySketch().add(bad)


def test_a_truncated_stored_sketch_is_an_error_not_a_wrong_figure() -> None:
    data = sketch_of([float(i) for i in range(1, 400)]).to_bytes()
    with pytest.raises(ValueError, match="truncated"):
        LatencySketch.from_bytes(data[:-1] + bytes([data[-1] | 0x80]))
    with pytest.raises(ValueError, match="truncated"):
        LatencySketch.from_bytes(data[:1] + bytes([0x80]))


def test_kll_sketches_stored_by_earlier_versions_still_read() -> None:
    import datasketches as ds

    # Given a KLL sketch (what rollups held before) of fewer values than its k, so exact
    kll = ds.kll_floats_sketch(200)
    values = [float(i) * 1.5 for i in range(1, 150)]
    for value in values:
        kll.update(value)
    # When a rollup item with its bytes is read, Then it holds the same values
    back = LatencySketch.from_bytes(kll.serialize())
    assert back.total() == len(values)
    assert back.to_bytes() == sketch_of(values).to_bytes()


def test_an_exact_sketch_cut_at_a_value_boundary_is_an_error_too() -> None:
    data = sketch_of([1.0, 2.0, 3.0]).to_bytes()
    with pytest.raises(ValueError, match="truncated"):
        LatencySketch.from_bytes(data[:-1])
