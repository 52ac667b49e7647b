"""The scale simulation's own parts: the virtual clock's pool and a small run end to end.

``bench/bench_scale.py`` prints the figures the README quotes; these tests keep the machinery
behind them honest (virtual time, overlapping writes, limits) at a size that runs in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from scale_limits import Limits, VirtualClock


def test_map_overlaps_tasks_and_resumes_when_the_last_ends() -> None:
    clock = VirtualClock()
    seen: list[Any] = []

    def task(seconds: float) -> float:
        clock.sleep_until(clock.now + seconds)
        return clock.now

    def lane() -> None:
        seen.append(clock.map(task, [0.3, 0.1, 0.2, 0.4], 2))
        seen.append(clock.now)

    clock.run([lane])
    ends, resumed = seen
    # two workers: 0.3 | 0.1 then 0.2 (ends 0.3) | then 0.4 on whichever is free at 0.3
    assert ends[:3] == pytest.approx([0.3, 0.1, 0.3])
    assert ends[3] == pytest.approx(0.7)
    assert resumed == pytest.approx(0.7)


def test_map_raises_a_task_error_in_the_caller() -> None:
    clock = VirtualClock()
    caught: list[BaseException] = []

    def task(n: int) -> int:
        clock.sleep_until(clock.now + 0.1)
        if n == 2:
            raise RuntimeError("boom")
        return n

    def lane() -> None:
        try:
            clock.map(task, [1, 2, 3], 3)
        except RuntimeError as exc:
            caught.append(exc)

    clock.run([lane])
    assert [str(e) for e in caught] == ["boom"]


def test_a_partition_takes_1000_write_units_a_second() -> None:
    limits = Limits()
    assert all(limits.try_write("p", 100, 0.01 * i) for i in range(10))
    assert not limits.try_write("p", 1, 0.5)  # the window of the last second is full
    assert limits.try_write("p", 100, 1.005)  # the first write left the window
    assert limits.try_write("q", 1000, 0.5)  # another partition has its own


def test_small_run_is_exact_and_concurrent_writes_are_faster() -> None:
    import bench_scale

    one = bench_scale.run(400, 1.0, 60.0, 0.5, seed=3, backend="memory", backlog=True, concurrency=1)
    many = bench_scale.run(400, 1.0, 60.0, 0.5, seed=3, backend="memory", backlog=True, concurrency=16)
    for result in (one, many):
        assert result["exact"]
        assert result["dropped"] == 0 and result["lost"] == 0
        assert not result["gave_up"]
    # the same batches, their round trips overlapping: less busy time for the same events
    assert many["events"] == one["events"]
    assert many["capacity"] > 2 * one["capacity"]
