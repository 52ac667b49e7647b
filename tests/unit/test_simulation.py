"""The scale simulation's own parts: the virtual clock, its pool, the limits and the limited client.

``bench/bench_scale.py`` prints the figures the README quotes from these parts;
``tests/functional/test_bench_scale.py`` runs it small, end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from alexa_skill_metrics.simulation.client import CLIENT_ATTEMPTS, LATENCY_S, LimitedClient
from alexa_skill_metrics.simulation.clock import VirtualClock
from alexa_skill_metrics.simulation.limits import MAX_ITEM_BYTES, Limits, item_size
from alexa_skill_metrics.simulation.table import MemoryTable


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


def _in_lane(clock: VirtualClock, body: Callable[[], Any]) -> Any:
    """``body()`` run as one lane on ``clock`` (the client sleeps on the lane's own gate)."""
    out: list[Any] = []
    clock.run([lambda: out.append(body())])
    return out[0]


def _client(limits: Limits, clock: VirtualClock) -> LimitedClient:
    return LimitedClient(MemoryTable(), limits, clock, cpu_scale=1.0, seed=1)


def _error_code(call: Callable[[], Any]) -> str:
    """The error code of the ``ClientError`` that ``call`` raised (``"none"`` if it raised none)."""
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "none"


def _item(sk: str = "1", **extra: Any) -> dict[str, Any]:
    return {"pk": {"S": "ROLL#a"}, "sk": {"S": sk}, **extra}


def test_a_failed_condition_takes_write_units_all_the_same() -> None:
    clock, limits = VirtualClock(), Limits()
    client = _client(limits, clock)
    put = {"TableName": "t", "Item": _item(), "ConditionExpression": "attribute_not_exists(#pk)"}

    def twice() -> str:
        client.put_item(**put)
        return _error_code(lambda: client.put_item(**put))

    assert _in_lane(clock, twice) == "ConditionalCheckFailedException"
    assert (limits.write_units, limits.conflict_units) == (2, 1)
    # each call took its round trip in virtual time, none of it on the wall clock
    assert clock.now >= 2 * LATENCY_S["PutItem"]


def test_a_write_throttled_on_every_attempt_fails_as_botocore_gives_up() -> None:
    clock, limits = VirtualClock(), Limits()
    client = _client(limits, clock)
    refuse = {"TableName": "t", "Item": _item()}
    limits.try_write = lambda key, units, now: False  # type: ignore[method-assign]  # a partition always full

    assert _in_lane(clock, lambda: _error_code(lambda: client.put_item(**refuse))) == (
        "ProvisionedThroughputExceededException"
    )
    assert limits.throttled["PutItem"] == CLIENT_ATTEMPTS and limits.gave_up["PutItem"] == 1
    assert client.stats.retries == CLIENT_ATTEMPTS - 1


def test_an_item_over_400_kb_is_refused_before_any_unit_is_taken() -> None:
    clock, limits = VirtualClock(), Limits()
    client = _client(limits, clock)
    big = _item(blob={"B": b"x" * MAX_ITEM_BYTES})
    assert item_size(big) > MAX_ITEM_BYTES
    with pytest.raises(ClientError, match="Item size has exceeded"):
        client.put_item(TableName="t", Item=big)
    assert limits.write_units == 0


def test_reads_take_a_unit_per_started_4_kb_of_the_item_last_written() -> None:
    clock, limits = VirtualClock(), Limits()
    client = _client(limits, clock)
    item = _item(blob={"B": b"x" * 9_000})

    def write_then_read() -> Any:
        client.put_item(TableName="t", Item=item)
        return client.get_item(TableName="t", Key={"pk": item["pk"], "sk": item["sk"]})

    assert _in_lane(clock, write_then_read)["Item"] == item
    assert (limits.write_units, limits.read_units) == (9, 3)
