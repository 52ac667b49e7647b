"""Every event counts exactly once, whatever Lambda's at-least-once delivery does to the batches.

Each test feeds the same recorded traffic (real skill, real recorder) to the aggregator in a
hostile way and compares the stored rollups, read through ``RollupStore.query``, with one clean
pass of ``fold(events, exact=True)``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest
from botocore.exceptions import ClientError

from alexa_skill_metrics.aggregation.apply import Aggregator, StreamRecord
from alexa_skill_metrics.aggregation.handler import lambda_handler, process_records
from alexa_skill_metrics.aggregation.rollup import FirstUtterance, fold
from alexa_skill_metrics.model import ALL_INTENTS
from tests.conftest import TABLE
from tests.functional.conftest import Traffic, assert_matches_fold, assert_values_indexed, batches


@pytest.fixture(params=["hours", "weeks"])
def traffic(request: pytest.FixtureRequest, traffic: Traffic) -> Traffic:
    """Every test runs on the 100-minute traffic and on five weeks of returning customers (retention)."""
    if request.param == "hours":
        return traffic
    weeks: Traffic = request.getfixturevalue("weeks_traffic")
    return weeks


class Crash(Exception):
    """The Lambda invocation dies here (timeout, out of memory): nothing after it runs."""


class FaultyClient:
    """A boto3 client proxy that runs ``before_put(kwargs)`` ahead of every ``put_item``."""

    def __init__(self, client: Any, before_put: Any) -> None:
        self._client = client
        self._before_put = before_put
        self.puts = 0

    def put_item(self, **kwargs: Any) -> Any:
        self._before_put(kwargs)
        self.puts += 1
        return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def first_utterances(records: list[StreamRecord]) -> dict[str, StreamRecord]:
    """Each customer's earliest utterance among ``records``."""
    firsts: dict[str, tuple[tuple[int, str], StreamRecord]] = {}
    for r in records:
        candidate = FirstUtterance.of(r.event)
        if candidate is None or r.event.customer is None:
            continue
        known = firsts.get(r.event.customer)
        if known is None or candidate.order < known[0]:
            firsts[r.event.customer] = (candidate.order, r)
    return {customer: r for customer, (_, r) in firsts.items()}


def _failed(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def deliver(records: list[dict[str, Any]], aggregator: Aggregator, *, max_attempts: int = 500) -> int:
    """Deliver one batch as Lambda does: retry from the lowest failed record (or all after a crash)."""
    attempts = 0
    while records:
        attempts += 1
        assert attempts <= max_attempts, "the batch never went through"
        try:
            failed = _failed(lambda_handler({"Records": records}, None, aggregator=aggregator))
        except Crash:
            continue  # the whole batch comes again
        if not failed:
            break
        first = min(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in set(failed))
        records = records[first:]
    return attempts


def test_the_traffic_exercises_the_quality_figures(traffic: Traffic) -> None:
    # Guards the battery against agreeing on zeros for friction, endpoint time and invocation types
    days = {k: r for k, r in fold(traffic.events, exact=True).items() if k.granularity == "P1D"}
    whole = [r for k, r in days.items() if k.intent == ALL_INTENTS]
    for name in ("unhandled", "terminations", "retries", "launches", "one_shots", "cold_starts"):
        assert sum(getattr(r, name) for r in whole) > 0, name
    for name in (
        "unhandled_after", "terminated_after", "no_response_after",
        "exited_after", "no_response_exits_after", "kept_open",
    ):  # fmt: skip
        assert any(getattr(r, name) for r in whole), name
    # Where a cold start is, endpoint time (handler + start-up) is a summary of its own, and larger
    with_cold = [r for r in days.values() if r.cold_starts]
    assert with_cold and all(r.endpoint is not None for r in with_cold)
    for r in with_cold:
        assert r.endpoint_summary().total() == r.latency.total()
        assert r.endpoint_summary().quantile(1.0) > r.latency.quantile(1.0)  # type: ignore[operator]


def test_the_traffic_exercises_releases(traffic: Traffic) -> None:
    # Guards the battery against agreeing on one release: two serve, some sessions by both
    events = traffic.events
    assert {e.release for e in events} == {"1", "2"}
    assert any(e.session_release is not None for e in events)  # a session release 1 started, 2 served
    keys = fold(events, exact=True)
    assert {k.release for k in keys} == {"1", "2"}
    # Session figures of such a session go to the release that started it
    starting = {k.release for k, r in keys.items() if r.sessions_started}
    assert starting == {"1", "2"}


def test_the_traffic_exercises_dialogs(traffic: Traffic) -> None:
    # Guards the battery against agreeing on zeros for dialogs: started, completed, left, still open
    days = [
        r
        for k, r in fold(traffic.events, exact=True).items()
        if k.granularity == "P1D" and k.intent != ALL_INTENTS
    ]
    started = sum(r.dialogs_started for r in days)
    completed = sum(r.dialogs_completed for r in days)
    abandoned = sum(sum(r.dialogs_abandoned.values()) for r in days)
    still_open = sum(sum(r.dialogs_open.values()) for r in days)
    assert started > 3 and completed > 0 and abandoned > 0
    assert sum(sum(r.dialog_turns.values()) for r in days) == completed
    # Every dialog that started is completed, abandoned, or open (sessions that never ended)
    assert started == completed + abandoned + still_open


def test_one_clean_pass_equals_the_fold(dynamodb: Any, traffic: Traffic) -> None:
    # Given the traffic in stream order, in Lambda batches of 100
    aggregator = Aggregator(TABLE, dynamodb)
    # When each batch is handled once
    for batch in batches(traffic.records, 100):
        assert _failed(lambda_handler({"Records": batch}, None, aggregator=aggregator)) == []
    # Then the rollups are those of one fold over all events
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_replayed_batches_change_nothing_and_write_nothing(dynamodb: Any, traffic: Traffic) -> None:
    # Given every batch applied once
    aggregator = Aggregator(TABLE, dynamodb)
    for batch in batches(traffic.records, 100):
        process_records(batch, aggregator)
    # When all of them are delivered again, twice
    replay = [
        process_records(batch, aggregator)[1] for _ in range(2) for batch in batches(traffic.records, 100)
    ]
    # Then nothing is written and the rollups still equal the fold
    assert sum(r.rollups_written + r.customers_written for r in replay) == 0
    assert all(r.failed == [] for r in replay)
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_duplicates_within_and_across_batches(dynamodb: Any, traffic: Traffic) -> None:
    # Given overlapping batches (each record in two of them) where every record also appears twice
    aggregator = Aggregator(TABLE, dynamodb)
    records = traffic.records
    for start in range(0, len(records), 50):
        window = records[start : start + 100]
        doubled = [r for record in window for r in (record, record)]
        # When each is handled
        assert _failed(lambda_handler({"Records": doubled}, None, aggregator=aggregator)) == []
    # Then every event counted once
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def _lanes(traffic: Traffic) -> dict[str, list[tuple[StreamRecord, dict[str, Any]]]]:
    lanes: dict[str, list[tuple[StreamRecord, dict[str, Any]]]] = defaultdict(list)
    for record, raw in zip(traffic.decoded, traffic.records, strict=True):
        lanes[record.source].append((record, raw))
    return lanes


def _interleave(traffic: Traffic, seed: int) -> list[tuple[StreamRecord, dict[str, Any]]]:
    """An order Lambda may deliver: each event partition key in order, the keys interleaved at random."""
    rng = random.Random(seed)
    lanes = {k: list(v) for k, v in _lanes(traffic).items()}
    order = list(lanes)
    rng.shuffle(order)
    weights = {k: rng.random() + 0.05 for k in order}
    out = []
    while lanes:
        live = [k for k in order if k in lanes]
        key = rng.choices(live, weights=[weights[k] for k in live])[0]
        out.append(lanes[key].pop(0))
        if not lanes[key]:
            del lanes[key]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partition_keys_reordered_across_batches(dynamodb: Any, traffic: Traffic, seed: int) -> None:
    # Given a delivery order where partition keys interleave arbitrarily, in batches of random size
    ordered = _interleave(traffic, seed)
    position = {r.id: i for i, (r, _) in enumerate(ordered)}
    events = [r for r, _ in ordered]
    starts = {r.event.session_id: r for r in events if r.event.starts_session}
    ends_first = [
        r for r in events
        if r.event.request_type == "SessionEndedRequest"
        and position[r.id] < position[starts[r.event.session_id].id]
    ]  # fmt: skip
    firsts = first_utterances(events)
    later_first = [
        r for r in events
        if r.event.customer in firsts and position[r.id] < position[firsts[r.event.customer].id]
    ]  # fmt: skip
    # One session's events share a write shard, so only a session that crosses an hour (another
    # event partition key) can have its end delivered before its start.
    crossing = [
        r for r in events
        if r.event.request_type == "SessionEndedRequest" and r.source != starts[r.event.session_id].source
    ]  # fmt: skip
    if crossing:
        assert ends_first, "the order must deliver some session end before its start"
    assert later_first, "the order must deliver some customer's later utterance before their first"
    rng = random.Random(seed)
    aggregator = Aggregator(TABLE, dynamodb)
    remaining = [raw for _, raw in ordered]
    # When the batches are handled in that order
    while remaining:
        size = rng.randint(1, 150)
        assert _failed(lambda_handler({"Records": remaining[:size]}, None, aggregator=aggregator)) == []
        remaining = remaining[size:]
    # Then the rollups equal the fold: session ends in their start's bucket, new customers where they began
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


@pytest.mark.parametrize("every", [4, 13])
def test_crash_between_writes_then_redelivery(dynamodb: Any, traffic: Traffic, every: int) -> None:
    # Given an aggregator whose invocation dies before every n-th write (customer or rollup item),
    # so batches stop after some of their writes, including between a customer write and the rollups
    part = Traffic(traffic.records[:200])  # a stream prefix: each partition key's records stay in order
    crashes = []

    def crash_sometimes(kwargs: dict[str, Any]) -> None:
        if (faulty.puts + len(crashes)) % every == every - 1:
            crashes.append(kwargs["Item"]["pk"]["S"])
            raise Crash

    faulty = FaultyClient(dynamodb, crash_sometimes)
    aggregator = Aggregator(TABLE, faulty)
    # When every batch is redelivered until it goes through, over reordered partition keys
    ordered = [raw for _, raw in _interleave(part, every)]
    for batch in batches(ordered, 100):
        deliver(batch, aggregator)
    # Then crashes did interrupt batches midway, and still every event counted once
    assert len(crashes) > 10
    assert any(pk.startswith("CUST#") for pk in crashes)
    assert_matches_fold(dynamodb, TABLE, part.events)


def test_crash_after_customer_writes_before_any_rollup(dynamodb: Any, traffic: Traffic) -> None:
    # Given a batch of the even write shards whose invocation dies at its first rollup write,
    # after its customer writes
    def die_at_first_rollup(kwargs: dict[str, Any]) -> None:
        if kwargs["Item"]["pk"]["S"].startswith("ROLL#"):
            raise Crash

    even, odd = _split_lanes(traffic)
    crashing = Aggregator(TABLE, FaultyClient(dynamodb, die_at_first_rollup))
    with pytest.raises(Crash):
        lambda_handler({"Records": even}, None, aggregator=crashing)
    # When the odd shards' batches (other partition keys, with earlier utterances of some of the
    # same customers) go through first, and the crashed batch is redelivered after them
    first_seen = {}
    for r in sorted(traffic.decoded, key=lambda r: (r.event.timestamp_ms, r.event.request_id)):
        if FirstUtterance.of(r.event) and r.event.customer:
            first_seen.setdefault(r.event.customer, r)
    even_customers = {r.event.customer for r in traffic.decoded if int(r.source[-1]) % 2 == 0}
    assert any(int(first_seen[c].source[-1]) % 2 == 1 for c in even_customers if c in first_seen)
    aggregator = Aggregator(TABLE, dynamodb)
    for batch in batches(odd, 100):
        assert _failed(lambda_handler({"Records": batch}, None, aggregator=aggregator)) == []
    assert _failed(lambda_handler({"Records": even}, None, aggregator=aggregator)) == []
    # Then the new-customer counts the crashed batch owed are there, moved where they belong, once
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_bisected_batches(dynamodb: Any, traffic: Traffic) -> None:
    # Given a batch of 400 that crashes half way through its writes
    batch = traffic.records[:400]
    writes = {"n": 0}

    def crash_once_midway(kwargs: dict[str, Any]) -> None:
        writes["n"] += 1
        if writes["n"] == 40:
            raise Crash

    with pytest.raises(Crash):
        lambda_handler(
            {"Records": batch}, None, aggregator=Aggregator(TABLE, FaultyClient(dynamodb, crash_once_midway))
        )
    # When Lambda bisects it and handles the halves, then quarters of the second half again, then the rest
    aggregator = Aggregator(TABLE, dynamodb)
    for part in (batch[:200], batch[200:], batch[200:300], batch[300:400]):
        assert _failed(lambda_handler({"Records": part}, None, aggregator=aggregator)) == []
    for rest in batches(traffic.records[400:], 100):
        assert _failed(lambda_handler({"Records": rest}, None, aggregator=aggregator)) == []
    # Then nothing counted twice or went missing
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


@pytest.mark.parametrize("split", ["adaptive", "always"])
def test_throttled_rollup_write_fails_exactly_its_records(
    dynamodb: Any, traffic: Traffic, split: str
) -> None:
    # Given one rollup item (a 15-minute per-intent rollup) whose write is throttled once: its
    # only item while it is not split, one of its 8 parts when every rollup is split
    from alexa_skill_metrics.aggregation.rollup import new_customer_keys, rollup_keys
    from alexa_skill_metrics.storage.keys import rollup_part, rollup_pk, rollup_sk

    def part_of(r: StreamRecord) -> int:
        return rollup_part(r.source, 8) if split == "always" else 0

    batch = traffic.records[:150]
    decoded = traffic.decoded[:150]
    target = next(
        k
        for r in decoded
        for k in rollup_keys(r.event)
        if k.granularity == "PT15M" and k.intent == "RollDiceIntent"
    )
    # (the part of it that the first contributing record's write shard writes)
    part = next(part_of(r) for r in decoded if target in rollup_keys(r.event))
    pk = rollup_pk(target.skill_id, target.stage, target.granularity, intents=True)
    target_keys = (pk, rollup_sk(target.bucket_ms, target.locale, target.intent, part, target.release))
    throttled = []

    def throttle_target(kwargs: dict[str, Any]) -> None:
        if (kwargs["Item"]["pk"]["S"], kwargs["Item"]["sk"]["S"]) == target_keys and not throttled:
            throttled.append(1)
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem"
            )

    # When the batch is handled
    aggregator = Aggregator(TABLE, FaultyClient(dynamodb, throttle_target), rollup_parts=8, split=split)
    failed = _failed(lambda_handler({"Records": batch}, None, aggregator=aggregator))
    # Then exactly the records contributing to that item are reported: its events and the first
    # utterances of customers new in it
    earliest = first_utterances(decoded)
    expected = {r.sequence_number for r in decoded if target in rollup_keys(r.event) and part_of(r) == part}
    expected |= {
        r.sequence_number for r in earliest.values()
        if part_of(r) == part
        and target in new_customer_keys(r.event.skill_id, r.event.stage, FirstUtterance.of(r.event))  # type: ignore[arg-type]
    }  # fmt: skip
    assert throttled and failed and set(failed) == expected
    # And redelivering from the lowest failed record fixes it
    deliver(batch, aggregator)
    for rest in batches(traffic.records[150:], 100):
        deliver(rest, aggregator)
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_failed_customer_write_holds_back_its_partition_keys(dynamodb: Any, traffic: Traffic) -> None:
    # Given a DynamoDB error on the first customer write of a batch
    state = {"failed": None}

    def fail_first_customer(kwargs: dict[str, Any]) -> None:
        if kwargs["Item"]["pk"]["S"].startswith("CUST#") and state["failed"] is None:
            state["failed"] = kwargs["Item"]["pk"]["S"]
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "PutItem")

    aggregator = Aggregator(TABLE, FaultyClient(dynamodb, fail_first_customer))
    batch = traffic.records[:200]
    # When the batch is handled
    failed = set(_failed(lambda_handler({"Records": batch}, None, aggregator=aggregator)))
    # Then that customer's records and every later record of their partition keys are reported
    decoded = {r.sequence_number: r for r in traffic.decoded[:200]}
    customer = state["failed"].rsplit("#", 1)[1]  # type: ignore[union-attr]
    theirs = [r for r in decoded.values() if r.event.customer == customer and FirstUtterance.of(r.event)]
    assert theirs and {r.sequence_number for r in theirs} <= failed
    for source in {r.source for r in theirs}:
        lowest = min(r.seq for r in theirs if r.source == source)
        assert {
            r.sequence_number for r in decoded.values() if r.source == source and r.seq >= lowest
        } <= failed
    assert len(failed) < len(batch)
    # And redelivery completes the count
    deliver(batch, aggregator)
    for rest in batches(traffic.records[200:], 100):
        deliver(rest, aggregator)
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_concurrent_writer_conflicts_are_redone(dynamodb: Any, traffic: Traffic) -> None:
    # Given two aggregators on the same table (parallel batches of other partition keys), the
    # second writing the same hot rollups between the first one's read and its writes
    first_half, second_half = _split_sharing_parts(traffic)
    other = Aggregator(TABLE, dynamodb)
    interfered = []

    def interfere(kwargs: dict[str, Any]) -> None:
        if not interfered:
            interfered.append(1)
            assert _failed(lambda_handler({"Records": second_half}, None, aggregator=other)) == []

    aggregator = Aggregator(TABLE, FaultyClient(dynamodb, interfere))
    # When the first one writes
    response = lambda_handler({"Records": first_half}, None, aggregator=aggregator)
    # Then it met version conflicts, redid those items, and both halves counted once
    assert _failed(response) == []
    result = process_records(first_half, aggregator)[1]
    assert result.rollups_written == 0
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_conflicts_are_counted(dynamodb: Any, traffic: Traffic) -> None:
    # Given a stale read: another writer, on other partition keys, updates the items first
    mine, theirs = _split_sharing_parts(traffic)
    other = Aggregator(TABLE, dynamodb)
    done = []

    def interfere(kwargs: dict[str, Any]) -> None:
        if not done:
            done.append(1)
            for batch in batches(theirs, 100):
                process_records(batch, other)

    aggregator = Aggregator(TABLE, FaultyClient(dynamodb, interfere))
    # When my batches are applied
    results = [process_records(batch, aggregator)[1] for batch in batches(mine, 100)]
    # Then conflicts happened and were resolved
    assert all(r.failed == [] for r in results)
    assert results[0].conflicts > 0
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def _split_lanes(traffic: Traffic) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The records of the even and of the odd write shards: what two parallel consumers may get."""
    pairs = list(zip(traffic.decoded, traffic.records, strict=True))
    return (
        [raw for r, raw in pairs if int(r.source[-1]) % 2 == 0],
        [raw for r, raw in pairs if int(r.source[-1]) % 2 == 1],
    )


def _split_sharing_parts(traffic: Traffic) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two parallel consumers whose write shards write the same rollup items (``keys.rollup_part``)."""
    from alexa_skill_metrics.config import DEFAULT_ROLLUP_PARTS

    pairs = list(zip(traffic.decoded, traffic.records, strict=True))
    halves: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for r, raw in pairs:
        halves[int(r.source.rsplit("#", 1)[1]) // DEFAULT_ROLLUP_PARTS % 2].append(raw)
    return halves


@pytest.mark.parametrize("which", ["CUST#", "ROLL#"])
def test_failed_read_reports_the_records_it_was_for(dynamodb: Any, traffic: Traffic, which: str) -> None:
    # Given a DynamoDB error (after botocore's retries) on the customer or the rollup read
    failures = []

    class FailingReads(FaultyClient):
        def batch_get_item(self, **kwargs: Any) -> Any:
            pks = [k["pk"]["S"] for keys in kwargs["RequestItems"].values() for k in keys["Keys"]]
            if not failures and any(pk.startswith(which) for pk in pks):
                failures.append(which)
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "BatchGetItem"
                )
            return self._client.batch_get_item(**kwargs)

    aggregator = Aggregator(TABLE, FailingReads(dynamodb, lambda kwargs: None))
    batch = traffic.records[:100]
    # When the batch is handled
    failed = _failed(lambda_handler({"Records": batch}, None, aggregator=aggregator))
    # Then the records that needed the read are reported (all utterances with a customer, or all)
    with_customer = {r.sequence_number for r in traffic.decoded[:100] if FirstUtterance.of(r.event)}
    assert failures and with_customer <= set(failed)
    if which == "ROLL#":
        assert set(failed) == {r["dynamodb"]["SequenceNumber"] for r in batch}
    # And redelivery completes the count
    deliver(batch, aggregator)
    for rest in batches(traffic.records[100:], 100):
        deliver(rest, aggregator)
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert_values_indexed(dynamodb, TABLE, traffic.events)


def test_a_failed_value_copy_fails_exactly_its_record_and_redelivery_copies_it(
    dynamodb: Any, traffic: Traffic
) -> None:
    # Given the value index throttles the first copy of one event's unresolved values
    batch = traffic.records[:400]
    with_values = [r for r in batch if "uv" in r["dynamodb"]["NewImage"]]
    assert with_values, "the traffic says unresolved colours"
    throttled = with_values[0]["dynamodb"]["SequenceNumber"]
    target_sk = with_values[0]["dynamodb"]["NewImage"]["sk"]["S"]
    thrown = []

    def before_put(kwargs: dict[str, Any]) -> None:
        item = kwargs["Item"]
        if item.get("kind", {}).get("S") == "uvalue" and item["sk"]["S"] == target_sk and not thrown:
            thrown.append(1)
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")

    aggregator = Aggregator(TABLE, FaultyClient(dynamodb, before_put))
    # When the batch is delivered, then retried from the failed record as Lambda does
    failed = _failed(lambda_handler({"Records": batch}, None, aggregator=aggregator))
    assert failed == [throttled]
    deliver(batch, aggregator)
    # Then every figure and the index count each event once
    assert thrown and assert_values_indexed(dynamodb, TABLE, [r.event for r in traffic.decoded[:400]]) is None
