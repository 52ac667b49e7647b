"""``bench/bench_scale.py`` end to end at a size that runs in seconds: the figures the README quotes.

The simulation's parts are tested on their own in ``tests/unit/test_simulation.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


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
