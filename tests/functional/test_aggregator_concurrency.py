"""A batch's independent writes go out concurrently, and the effect is the same as one at a time."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from alexa_skill_metrics.aggregation.apply import Aggregator
from alexa_skill_metrics.aggregation.handler import process_records
from tests.conftest import TABLE
from tests.functional.conftest import Traffic, assert_matches_fold, batches


class SlowClient:
    """A boto3 client proxy whose ``put_item`` takes 5 ms and records how many were in flight at once."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.puts: list[str] = []

    def put_item(self, **kwargs: Any) -> Any:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.puts.append(kwargs["Item"]["pk"]["S"])
        try:
            time.sleep(0.005)  # a round trip: the GIL is free meanwhile, as during real I/O
            return self._client.put_item(**kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _apply(dynamodb: Any, records: list[dict[str, Any]], concurrency: int) -> SlowClient:
    client = SlowClient(dynamodb)
    aggregator = Aggregator(TABLE, client, concurrency=concurrency)
    for batch in batches(records, 200):
        failed, _ = process_records(batch, aggregator)
        assert failed == []
    return client


def test_writes_overlap_and_count_once(dynamodb: Any, traffic: Traffic) -> None:
    # Given a third of the traffic, batches of 200
    part = Traffic(traffic.records[: len(traffic.records) // 3])
    # When the aggregator writes 8 items at a time
    client = _apply(dynamodb, part.records, concurrency=8)
    # Then writes were in flight together, customer items before the rollups they feed
    assert client.most_in_flight > 1
    assert any(pk.startswith("CUST#") for pk in client.puts)
    # and every event counted once
    assert_matches_fold(dynamodb, TABLE, part.events)


def test_one_at_a_time_never_overlaps(dynamodb: Any, traffic: Traffic) -> None:
    part = Traffic(traffic.records[:300])
    client = _apply(dynamodb, part.records, concurrency=1)
    assert client.most_in_flight == 1
    assert_matches_fold(dynamodb, TABLE, part.events)


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Aggregator(TABLE, concurrency=0)
