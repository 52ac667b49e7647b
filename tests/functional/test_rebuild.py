"""``rebuild`` makes a range's rollups exact from its raw events, and the live aggregator cannot
double count afterwards: records set aside (the dead-letter queue), delivered before, after, or
while the rebuild runs, redelivered or redriven, each event still counts exactly once.

Same traffic and reference as the exactly-once battery: the real skill and recorder, compared
with one clean pass of ``fold(events, exact=True)``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from alexa_skill_metrics.aggregation.apply import Aggregator
from alexa_skill_metrics.aggregation.rebuild import (
    EventsExpired,
    RangeNotSettled,
    align_range,
    rebuild,
)
from alexa_skill_metrics.aggregation.rollup import FirstUtterance, fold
from alexa_skill_metrics.periods import floor_ms
from alexa_skill_metrics.storage.customers import CustomerStore
from sample_skill.envelopes import DEMO_SKILL_ID
from tests.conftest import TABLE
from tests.functional.conftest import (
    RANGE_END_MS,
    RANGE_START_MS,
    Traffic,
    assert_matches_fold,
    batches,
    stored_rollups,
    summary,
)
from tests.functional.test_aggregator_exactly_once import Crash, FaultyClient, deliver

JAN4 = 1_767_484_800_000  # 2026-01-04T00:00:00Z; the traffic runs from Jan 4 23:10 into Jan 5
JAN5 = JAN4 + 86_400_000
JAN6 = JAN5 + 86_400_000
NOW = 1_800_000_000.0  # 2027-01-15: every range of the traffic has settled


def store_events(client: Any, traffic: Traffic) -> None:
    """The raw events as the recorder left them in the table."""
    for record in traffic.records:
        client.put_item(TableName=TABLE, Item=record["dynamodb"]["NewImage"])


def feed(client: Any, records: list[dict[str, Any]], size: int = 100) -> None:
    aggregator = Aggregator(TABLE, client)
    for batch in batches(records, size):
        deliver(batch, aggregator)


def day_of(record: dict[str, Any]) -> int:
    ts = int(record["dynamodb"]["NewImage"]["sk"]["S"].split("#", 1)[0])
    return floor_ms(ts, "P1D")


def test_records_set_aside_are_recovered(dynamodb: Any, traffic: Traffic) -> None:
    # Given a tenth of the records went to the dead-letter queue instead of the rollups
    store_events(dynamodb, traffic)
    rng = random.Random(3)
    feed(dynamodb, [r for r in traffic.records if rng.random() > 0.1])
    with pytest.raises(AssertionError):
        assert_matches_fold(dynamodb, TABLE, traffic.events)
    # When both days are rebuilt
    result = rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN6, client=dynamodb)
    # Then every rollup is exact
    assert result.events == len(traffic.events) and result.rollups_written > 0
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_one_day_rebuilt_moves_new_customers_out_of_the_next_day(dynamodb: Any, traffic: Traffic) -> None:
    # Given a third of Jan 4's records set aside: customers first seen then are counted new on Jan 5
    store_events(dynamodb, traffic)
    rng = random.Random(5)
    feed(dynamodb, [r for r in traffic.records if day_of(r) != JAN4 or rng.random() > 0.33])
    # When only Jan 4 is rebuilt
    result = rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN5, client=dynamodb)
    # Then Jan 4 counts them, Jan 5 no longer does, and everything else is as it was: exact
    assert result.customers_moved > 0
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    # And running it again changes nothing (the moves are logged, the -1 watermarked)
    again = rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN5, client=dynamodb)
    assert again.customers_moved == 0
    assert_matches_fold(dynamodb, TABLE, traffic.events)


@pytest.mark.parametrize("delivered_before", [0.0, 0.5, 1.0])
def test_the_live_aggregator_never_double_counts_a_rebuilt_range(
    dynamodb: Any, traffic: Traffic, delivered_before: float
) -> None:
    # Given part of the stream delivered before the rebuild (none, half, all)
    store_events(dynamodb, traffic)
    cut = int(len(traffic.records) * delivered_before)
    feed(dynamodb, traffic.records[:cut])
    rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN6, client=dynamodb)
    # When the live aggregator then delivers everything (the rest, redeliveries, a redrive of all)
    feed(dynamodb, traffic.records[cut:])
    feed(dynamodb, traffic.records, size=37)
    # Then every event counts exactly once
    assert_matches_fold(dynamodb, TABLE, traffic.events)


class Interleaved:
    """A client proxy that lets the live aggregator write a batch just before the rebuild's first
    rollup write: the rebuild's conditional write then conflicts and it starts over."""

    def __init__(self, client: Any, records: list[dict[str, Any]]) -> None:
        import threading

        self._client = client
        self._records = records
        self.interleaved = False
        # The rebuild's other writes wait for the live batches (it writes from several threads):
        # otherwise they may all land before the live aggregator writes anything.
        self._turn = threading.Lock()

    def put_item(self, **kwargs: Any) -> Any:
        with self._turn:
            if not self.interleaved and kwargs["Item"]["pk"]["S"].startswith("ROLL#"):
                self.interleaved = True
                feed(self._client, self._records)
            return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_rebuild_racing_the_live_aggregator_stays_exact(dynamodb: Any, traffic: Traffic) -> None:
    # Given half the stream delivered, and the other half delivered while the rebuild is writing
    store_events(dynamodb, traffic)
    half = len(traffic.records) // 2
    feed(dynamodb, traffic.records[:half])
    racing = Interleaved(dynamodb, traffic.records[half:])
    result = rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN6, client=racing)
    # Then the rebuild noticed (it started over) and the result is exact, also after a redelivery
    assert racing.interleaved and result.attempts > 2
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    feed(dynamodb, traffic.records)
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_a_range_still_receiving_events_is_refused(dynamodb: Any) -> None:
    with pytest.raises(RangeNotSettled, match="rebuild this range after"):
        rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN5, client=dynamodb, clock=lambda: JAN5 / 1000 + 60)


def test_days_whose_raw_events_expired_are_not_emptied(dynamodb: Any, traffic: Traffic) -> None:
    # Given rollups of both days, and Jan 4's raw events deleted by TTL
    store_events(dynamodb, traffic)
    feed(dynamodb, traffic.records)
    for record in traffic.records:
        if day_of(record) == JAN4:
            image = record["dynamodb"]["NewImage"]
            dynamodb.delete_item(TableName=TABLE, Key={"pk": image["pk"], "sk": image["sk"]})
    # When a rebuild covers Jan 4, Then it refuses, naming the day, and the rollups stay exact
    with pytest.raises(EventsExpired, match="2026-01-04"):
        rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN6, client=dynamodb)
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_ranges_are_whole_days() -> None:
    assert align_range(JAN4 + 1, JAN4 + 2) == (JAN4, JAN5)
    assert align_range(JAN4, JAN6) == (JAN4, JAN6)


# --- retention: rebuilt from the customers' active days -------------------------------------------


def utterance_days(traffic: Traffic) -> dict[str, list[int]]:
    """Each customer's UTC days (epoch ms) with an utterance, as the aggregator counts them active."""
    days: dict[str, set[int]] = defaultdict(set)
    for event in traffic.events:
        if FirstUtterance.of(event) is not None and event.customer is not None and event.stage == "live":
            days[event.customer].add(floor_ms(event.timestamp_ms, "P1D"))
    return {customer: sorted(found) for customer, found in days.items()}


def missed_day(traffic: Traffic, which: str) -> tuple[str, int]:
    """A returning customer and one of their days: their first (cohort) day, or one in the middle."""
    for customer, days in sorted(utterance_days(traffic).items()):
        if len(days) >= 3:
            return customer, days[0] if which == "first" else days[1]
    raise AssertionError("the traffic has no customer active on three days")


def without(traffic: Traffic, customer: str, day: int) -> list[dict[str, Any]]:
    """The stream minus the customer's records of ``day``: they went to the dead-letter queue."""
    kept = []
    for raw, record in zip(traffic.records, traffic.decoded, strict=True):
        event = record.event
        if not (event.customer == customer and floor_ms(event.timestamp_ms, "P1D") == day):
            kept.append(raw)
    assert len(kept) < len(traffic.records)
    return kept


def retention_views(client: Any, traffic: Traffic) -> tuple[Any, Any]:
    """Daily and weekly cohort views from the stored rollups, and the same from the raw events."""
    from alexa_skill_metrics.reporting.views.retention import RetentionRequest, retention

    start, end, now = RANGE_START_MS, RANGE_END_MS, RANGE_END_MS + 86_400_000
    stored = list(stored_rollups(client, TABLE).items())
    reference = list(fold(traffic.events, exact=True).items())
    views = []
    for rollups in (stored, reference):
        views.append(
            [
                retention(RetentionRequest(DEMO_SKILL_ID, "live", cohort, start, end), rollups, now)
                for cohort in ("day", "week")
            ]
        )
    return views[0], views[1]


def assert_retention_exact(client: Any, traffic: Traffic) -> None:
    stored, reference = retention_views(client, traffic)
    assert stored == reference
    assert_matches_fold(client, TABLE, traffic.events)


@pytest.mark.parametrize("which", ["middle", "first"])
def test_retention_of_a_dead_lettered_day_is_rebuilt(
    dynamodb: Any, weeks_traffic: Traffic, which: str
) -> None:
    # Given a returning customer's records of one day set aside (their cohort day, or a later one)
    customer, day = missed_day(weeks_traffic, which)
    store_events(dynamodb, weeks_traffic)
    feed(dynamodb, without(weeks_traffic, customer, day))
    with pytest.raises(AssertionError):
        assert_retention_exact(dynamodb, weeks_traffic)
    # When that day is rebuilt
    result = rebuild(TABLE, DEMO_SKILL_ID, day, day + 86_400_000, client=dynamodb)
    # Then the customer got the day back, and retention is exact, the customer's later days included
    assert result.customers_reactivated == 1
    assert result.customers_moved == (1 if which == "first" else 0)
    assert_retention_exact(dynamodb, weeks_traffic)
    # And the live aggregator delivering everything again changes nothing
    feed(dynamodb, weeks_traffic.records)
    assert_retention_exact(dynamodb, weeks_traffic)


@pytest.mark.parametrize("crash_at", ["first rollup", "first rollup after the range"])
def test_a_rebuild_crashing_after_its_customer_writes_is_repaired_by_the_next_run(
    dynamodb: Any, weeks_traffic: Traffic, crash_at: str
) -> None:
    # Given a returning customer's middle day set aside
    customer, day = missed_day(weeks_traffic, "middle")
    store_events(dynamodb, weeks_traffic)
    feed(dynamodb, without(weeks_traffic, customer, day))
    end = day + 86_400_000

    def crash(kwargs: dict[str, Any]) -> None:
        item = kwargs["Item"]
        if not item["pk"]["S"].startswith("ROLL#"):
            return
        if crash_at == "first rollup" or int(item["sk"]["S"][:13]) >= end:
            raise Crash

    # When the rebuild dies after writing the customer item, before (some of) its rollups
    faulty = FaultyClient(dynamodb, crash)
    with pytest.raises(Crash):
        rebuild(TABLE, DEMO_SKILL_ID, day, end, client=faulty, clock=lambda: NOW)
    state = CustomerStore(TABLE, dynamodb).get(DEMO_SKILL_ID, "live", customer)
    assert day // 86_400_000 in state.days and state.acts[-1].source == "rebuild"  # logged first
    with pytest.raises(AssertionError):
        assert_retention_exact(dynamodb, weeks_traffic)
    # Then the next run finds the logged day and makes retention exact
    again = rebuild(TABLE, DEMO_SKILL_ID, day, end, client=dynamodb, clock=lambda: NOW + 60)
    assert again.customers_reactivated == 0
    assert_retention_exact(dynamodb, weeks_traffic)


def test_a_rebuild_run_twice_changes_nothing_the_second_time(dynamodb: Any, weeks_traffic: Traffic) -> None:
    # Given a returning customer's middle day set aside, and that day rebuilt
    customer, day = missed_day(weeks_traffic, "middle")
    store_events(dynamodb, weeks_traffic)
    feed(dynamodb, without(weeks_traffic, customer, day))
    rebuild(TABLE, DEMO_SKILL_ID, day, day + 86_400_000, client=dynamodb, clock=lambda: NOW)
    first = {k: summary(r) for k, r in stored_rollups(dynamodb, TABLE).items()}
    # When the same range is rebuilt again (and a wider one containing it)
    again = rebuild(TABLE, DEMO_SKILL_ID, day, day + 86_400_000, client=dynamodb, clock=lambda: NOW + 60)
    # Then no customer changes and every figure stays as it was: exact
    assert (again.customers_reactivated, again.customers_moved) == (0, 0)
    assert {k: summary(r) for k, r in stored_rollups(dynamodb, TABLE).items()} == first
    rebuild(TABLE, DEMO_SKILL_ID, day - 86_400_000, day + 86_400_000, client=dynamodb)
    assert_retention_exact(dynamodb, weeks_traffic)
