"""Reading raw events back from moto, and the recomputation path end to end over the real reader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from alexa_skill_metrics.config import DEFAULT_EVENT_WRITE_SHARDS as EVENT_WRITE_SHARDS
from alexa_skill_metrics.reporting import RecomputedRollups, Reporter
from alexa_skill_metrics.storage.codec import event_to_item
from alexa_skill_metrics.storage.events import EventReader
from alexa_skill_metrics.storage.keys import event_partitions
from alexa_skill_metrics.storage.table import create_table
from tests.functional.reporting_fixtures import (
    DAY_MS,
    HOUR_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    assert_reports_match,
    events_of,
    moto_table,
    record,
    view_request,
)

TABLE = "reporting-events"
ROLLUPS = "reporting-events-rollups"  # moto's Query cost grows with the table: keep events apart here
OTHER_SKILL = "amzn1.ask.skill.11111111-1111-4111-8111-111111111111"


def put_all(client: Any, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        client.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )


@pytest.fixture(scope="module")
def stored() -> Iterator[Deployment]:
    # Given a day of traffic recorded into the table, another skill's events, and a stray item
    items = record(customers=40, days=1, seed=21)
    other = [
        event_to_item(replace(e, skill_id=OTHER_SKILL), retention_days=90) for e in events_of(items[:40])
    ]
    noon = START_MS + 12 * HOUR_MS
    stray = {
        "pk": {"S": event_partitions(SKILL, noon)[0]},
        "sk": {"S": f"{noon + 1:013d}#note"},
        "kind": {"S": "note"},
    }
    with moto_table(TABLE) as client:
        put_all(client, [*items, *other, stray])
        create_table(client, ROLLUPS)
        aggregate(client, ROLLUPS, items)
        yield Deployment(client, ROLLUPS, events_of(items), now_ms=START_MS + 2 * DAY_MS)


def test_reader_returns_exactly_the_skills_events_of_the_range(stored: Deployment) -> None:
    start, end = START_MS + 10 * HOUR_MS + 30 * 60_000, START_MS + 20 * HOUR_MS + 15 * 60_000
    reader = EventReader(TABLE, stored.client)
    read = list(reader.read(SKILL, start, end))
    expected = [e for e in stored.events if start <= e.timestamp_ms < end]
    assert expected and sorted(e.request_id for e in read) == sorted(e.request_id for e in expected)
    assert {e.skill_id for e in read} == {SKILL}
    # One query per hour and write shard (no scan); the stray item in a partition is skipped, not fatal
    assert reader.calls == 11 * EVENT_WRITE_SHARDS
    assert reader.skipped == 1 and reader.items_read == len(read) + 1


def test_reader_range_is_half_open_to_the_millisecond(stored: Deployment) -> None:
    first = min(stored.events, key=lambda e: e.timestamp_ms)
    reader = EventReader(TABLE, stored.client)
    assert first.request_id in {
        e.request_id for e in reader.read(SKILL, first.timestamp_ms, first.timestamp_ms + 1)
    }
    assert first.request_id not in {e.request_id for e in reader.read(SKILL, START_MS, first.timestamp_ms)}
    assert list(reader.read(SKILL, START_MS, START_MS)) == []


@pytest.mark.parametrize("view", ["overview", "customers", "sessions", "utterances", "intents"])
def test_recomputation_through_the_reader_equals_stored_rollups(stored: Deployment, view: str) -> None:
    # Given the morning hours, read back from the table by the event reader
    request = view_request(START_MS + 6 * HOUR_MS, START_MS + 12 * HOUR_MS, period="PT1H")
    reader = RecomputedRollups(EventReader(TABLE, stored.client), since_ms=START_MS)
    recomputed = Reporter(reader, clock=lambda: stored.now_ms).view(view, request)
    # Then it equals both the stored rollups' report and the in-memory recomputation
    assert_reports_match(stored.stored().view(view, request), recomputed)
    assert recomputed == stored.recomputed().view(view, request)
