"""Rollup parts follow the traffic: one item per rollup until parallel batches race for it.

A skill whose records come in batches one after another writes each rollup it touches once per
batch, however many write shards a batch spans; a rollup whose head keeps conflicting is split
into ``rollup_parts`` parts and stays exact. Rollups written with fixed parts (before the split
was adaptive) read and keep counting correctly, and ``ROLLUP_PARTS`` / ``EVENT_WRITE_SHARDS``
change on a live table without a count lost or doubled. Same traffic and reference as the
exactly-once battery: the real skill and recorder, compared with ``fold(events, exact=True)``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from alexa_skill_metrics.aggregation.apply import SPLIT_MIN_CONFLICTS, Aggregator
from alexa_skill_metrics.aggregation.handler import process_records
from alexa_skill_metrics.aggregation.rebuild import rebuild
from alexa_skill_metrics.storage import keys
from alexa_skill_metrics.storage.events import EventReader
from alexa_skill_metrics.storage.keys import rollup_part_of
from alexa_skill_metrics.storage.rollups import PARTS, item_to_rollup
from sample_skill.envelopes import DEMO_SKILL_ID
from tests.conftest import TABLE, table_items
from tests.functional.conftest import Traffic, assert_matches_fold, batches
from tests.functional.test_aggregator_exactly_once import FaultyClient, deliver

JAN4 = 1_767_484_800_000  # 2026-01-04T00:00:00Z; the traffic runs from Jan 4 23:10 into Jan 5
JAN6 = JAN4 + 2 * 86_400_000


def rollup_items(client: Any) -> list[dict[str, Any]]:
    return [item for item in table_items(client) if item["pk"]["S"].startswith("ROLL#")]


def heads(client: Any) -> list[Any]:
    return [item_to_rollup(i) for i in rollup_items(client) if rollup_part_of(i["sk"]["S"]) == 0]


def feed(client: Any, records: list[dict[str, Any]], aggregator: Aggregator, size: int = 200) -> int:
    """Deliver ``records`` in batches, one after another; return the rollup items written."""
    written = 0
    for batch in batches(records, size):
        written += process_records(batch, aggregator)[1].rollups_written
        deliver(batch, aggregator)  # (nothing failed: a redelivery that writes nothing)
    return written


def test_batches_one_after_another_write_each_rollup_once(dynamodb: Any, traffic: Traffic) -> None:
    # Given batches of 200 records, each spanning most of the 32 write shards, one after another
    from alexa_skill_metrics.storage.table import create_table

    shards = {r.source.rsplit("#", 1)[1] for r in traffic.decoded[:200]}
    assert len(shards) > 8
    one_item = feed(dynamodb, traffic.records, Aggregator(TABLE, dynamodb, rollup_parts=1))
    dynamodb.delete_table(TableName=TABLE)
    create_table(dynamodb, TABLE)
    puts: list[tuple[str, str]] = []
    recording = FaultyClient(
        dynamodb, lambda kwargs: puts.append((kwargs["Item"]["pk"]["S"], kwargs["Item"]["sk"]["S"]))
    )
    aggregator = Aggregator(TABLE, recording, rollup_parts=8)
    # When they are applied
    written = 0
    for batch in batches(traffic.records, 200):
        puts.clear()
        result = process_records(batch, aggregator)[1]
        mine = [key for key in puts if key[0].startswith("ROLL#")]
        # Then no write races another, and no item is written twice in a batch
        assert result.failed == [] and result.conflicts == 0
        assert len(mine) == len(set(mine)) == result.rollups_written > 0
        written += result.rollups_written
    # And the all-intents rollups the batches span stay one item each, for about the rollup writes
    # of one item per rollup (as before parts: a few rollups touched by few sessions split by size)
    assert all(h.parts == 1 for h in heads(dynamodb) if h.key.intent == "*" and h.key.granularity != "P1D")
    assert one_item <= written <= 1.1 * one_item
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_fewer_rollup_writes_than_fixed_parts(dynamodb: Any, traffic: Traffic) -> None:
    # Given the same batches applied with every rollup in 8 fixed parts, and adaptively
    from alexa_skill_metrics.storage.table import create_table

    fixed = feed(dynamodb, traffic.records, Aggregator(TABLE, dynamodb, rollup_parts=8, split="always"))
    assert max(rollup_part_of(i["sk"]["S"]) or 0 for i in rollup_items(dynamodb)) == 7
    dynamodb.delete_table(TableName=TABLE)
    create_table(dynamodb, TABLE)
    adaptive = feed(dynamodb, traffic.records, Aggregator(TABLE, dynamodb, rollup_parts=8))
    # Then the adaptive layout wrote far fewer rollup items, with the same figures
    assert adaptive * 2 < fixed
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def race(dynamodb: Any, records: list[dict[str, Any]], parts: int) -> int:
    """Two consumers of other write shards, the other one writing before each of my hourly heads.

    Returns the version conflicts my batches met. One write at a time: moto's conditional writes
    are not atomic across threads.
    """
    from alexa_skill_metrics.aggregation.apply import decode_record

    decoded = [decode_record(raw) for raw in records]
    mine = [raw for r, raw in zip(decoded, records, strict=True) if r and int(r.source[-1]) % 2 == 0]
    theirs = [raw for r, raw in zip(decoded, records, strict=True) if r and int(r.source[-1]) % 2 == 1]
    other = Aggregator(TABLE, dynamodb, rollup_parts=parts, concurrency=1)
    pending = list(batches(theirs, 5))

    def interfere(kwargs: dict[str, Any]) -> None:
        item = kwargs["Item"]
        if pending and item["pk"]["S"].endswith("#PT1H#ALL") and rollup_part_of(item["sk"]["S"]) == 0:
            deliver(pending.pop(0), other)

    aggregator = Aggregator(TABLE, FaultyClient(dynamodb, interfere), rollup_parts=parts, concurrency=1)
    conflicts = 0
    for batch in batches(mine, 100):
        conflicts += process_records(batch, aggregator)[1].conflicts
        deliver(batch, aggregator)
    for batch in pending:
        deliver(batch, other)
    return conflicts


def test_racing_batches_split_the_rollups_they_race_for(dynamodb: Any, traffic: Traffic) -> None:
    # Given two consumers racing for the same heads
    conflicts = race(dynamodb, traffic.records, 8)
    # Then the heads that kept conflicting split into 8 parts, and other parts were written
    assert conflicts >= SPLIT_MIN_CONFLICTS
    split = [h for h in heads(dynamodb) if h.parts == 8]
    assert split and all(h.parts in (1, 8) for h in heads(dynamodb))
    assert any(h.key.granularity == "PT1H" for h in split)
    assert {rollup_part_of(i["sk"]["S"]) for i in rollup_items(dynamodb)} - {0}
    # And nothing was counted twice or lost, also after everything is delivered again
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    feed(dynamodb, traffic.records, Aggregator(TABLE, dynamodb, rollup_parts=8), size=37)
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_fixed_parts_written_before_read_and_keep_counting(dynamodb: Any, traffic: Traffic) -> None:
    # Given the first half aggregated with 8 fixed parts, as the version before adaptive parts
    # stored them (heads without a parts attribute), and the stream drained
    half = len(traffic.records) // 2
    feed(dynamodb, traffic.records[:half], Aggregator(TABLE, dynamodb, rollup_parts=8, split="always"))
    for item in rollup_items(dynamodb):
        if PARTS in item:
            del item[PARTS]
            dynamodb.put_item(TableName=TABLE, Item=item)
    parts = Counter(rollup_part_of(i["sk"]["S"]) for i in rollup_items(dynamodb))
    assert set(parts) == set(range(8))
    assert all(h.parts == keys.LEGACY_ROLLUP_PARTS for h in heads(dynamodb))
    # Then reports read them merged
    first = [r.event for r in traffic.decoded[:half]]
    assert_matches_fold(dynamodb, TABLE, first)
    # When the new aggregator takes over the rest of the stream, with redeliveries
    aggregator = Aggregator(TABLE, dynamodb, rollup_parts=8)
    feed(dynamodb, traffic.records[half:], aggregator)
    feed(dynamodb, traffic.records[half:], aggregator, size=37)
    # Then every event counts once: an old head keeps its 8 parts, a new rollup is one item
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    assert {h.parts for h in heads(dynamodb)} == {1, 8}


def test_rollup_parts_change_on_a_live_table(dynamodb: Any, traffic: Traffic) -> None:
    # Given half the stream with racing consumers and 8 rollup parts
    half = len(traffic.records) // 2
    race(dynamodb, traffic.records[:half], 8)
    # When the deployment changes to 4 parts, races on the rest, and everything is delivered again
    race(dynamodb, traffic.records[half:], 4)
    feed(dynamodb, traffic.records, Aggregator(TABLE, dynamodb, rollup_parts=4), size=37)
    # Then rollups split before keep their 8 parts, later ones have 4, and the figures are exact
    assert {h.parts for h in heads(dynamodb)} == {1, 4, 8}
    assert_matches_fold(dynamodb, TABLE, traffic.events)
    # And a rebuild of the range knows every part there is, whatever the setting says now
    for item in traffic.records:
        dynamodb.put_item(TableName=TABLE, Item=item["dynamodb"]["NewImage"])
    rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN6, client=dynamodb, rollup_parts=2)
    feed(dynamodb, traffic.records, Aggregator(TABLE, dynamodb, rollup_parts=2), size=37)
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def _rekeyed(traffic: Traffic, after: int, shards: int) -> list[dict[str, Any]]:
    """The stream with the events from ``after`` on recorded with ``shards`` write shards."""
    out = []
    for n, (raw, record) in enumerate(zip(traffic.records, traffic.decoded, strict=True)):
        if n >= after:
            event = record.event
            pk = {
                "S": keys.event_pk(
                    event.skill_id, event.timestamp_ms, event.session_id or event.request_id, shards
                )
            }
            dynamodb = {**raw["dynamodb"], "Keys": {**raw["dynamodb"]["Keys"], "pk": pk}}
            dynamodb["NewImage"] = {**raw["dynamodb"]["NewImage"], "pk": pk}
            out.append({**raw, "dynamodb": dynamodb})
        else:
            out.append(raw)
    return out


def test_event_write_shards_change_on_a_live_table(
    dynamodb: Any, traffic: Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the recorder's write shards raised from 32 to 64 halfway through the traffic
    monkeypatch.setenv("METRICS_EVENT_WRITE_SHARDS", "64")
    keys.reset_spread()
    try:
        records = _rekeyed(traffic, len(traffic.records) // 2, keys.event_write_shards())
        assert max(int(r["dynamodb"]["Keys"]["pk"]["S"].rsplit("#", 1)[1]) for r in records) >= 32
        for raw in records:
            dynamodb.put_item(TableName=TABLE, Item=raw["dynamodb"]["NewImage"])
        # When the live aggregator applies it, and a rebuild recounts the range
        feed(dynamodb, records, Aggregator(TABLE, dynamodb))
        assert_matches_fold(dynamodb, TABLE, traffic.events)
        rebuild(TABLE, DEMO_SKILL_ID, JAN4, JAN6, client=dynamodb)
        feed(dynamodb, records, Aggregator(TABLE, dynamodb), size=37)
        # Then every event is read (old hours' 32 shards are among the 64) and counted once
        assert_matches_fold(dynamodb, TABLE, traffic.events)
        reader = EventReader(TABLE, dynamodb)
        assert len(list(reader.read(DEMO_SKILL_ID, JAN4, JAN6))) == len(records)
        # And a reader left at 32 shards would miss the new shards' events: what
        # METRICS_EVENT_READ_SHARDS is for after lowering the write shards
        narrow = EventReader(TABLE, dynamodb, shards=32)
        assert len(list(narrow.read(DEMO_SKILL_ID, JAN4, JAN6))) < len(records)
    finally:
        monkeypatch.undo()
        keys.reset_spread()
