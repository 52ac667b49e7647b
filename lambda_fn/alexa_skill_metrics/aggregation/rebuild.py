"""Rebuild the rollups of a range from its raw events, while the live aggregator keeps running.

For records Lambda set aside to the dead-letter queue (missing from the rollups), or after a
change of the metrics contract. The result is exact: every rebuilt rollup equals a fold of the
raw events, and nothing is counted twice, whatever the live aggregator delivers afterwards.

How it fits the watermarks (``aggregation.apply``)
    A rollup item applies a stream record only above its watermark for the record's event
    partition key (``EVT#<skill>#<hour>#<shard>``: the hour of the event's own timestamp). A
    rebuilt item holds *every* event of the partitions that can contribute to it: the hours of
    its bucket and those up to ``SESSION_TAIL_MS`` after it (sessions started in the bucket end
    there). Its watermark for each of those partitions is set to ``COMPLETE``, above any
    sequence number, so the live aggregator skips any record of them for this item from then on
    (a redelivery, a redrive, a late batch): the rebuild already counted it. Watermarks for
    other partitions are kept as they were. A rollup is stored in parts (``keys.rollup_part``):
    every part is rewritten, part 0 with the whole recount and the others empty, each closed for
    the partitions that write it, and an item from before parts is emptied.

    This needs those partitions to be closed: the recorder writes an event within seconds of
    its timestamp, so a range is rebuilt only once ``end + SESSION_TAIL_MS + SETTLE_MS`` has
    passed (``RangeNotSettled`` otherwise).

New customers
    A customer is new where their first utterance ever falls. The rebuild reads the customer
    items of everyone with an utterance in the range (the aggregator's first-seen state) and
    counts each customer whose first utterance is in the range exactly there. A customer whose
    earliest raw utterance in the range is earlier than the stored one (its record never
    reached the aggregator) is *moved*: the customer item is rewritten first, logging the move
    under the source ``REBUILD_SOURCE`` with this run's sequence number, and then a -1 goes to
    the buckets of the old first utterance outside the range, guarded by the same watermark
    logic. A crash in between is repaired by the next run, which finds the logged move. Moves
    the live aggregator logged for customers of the range raise the rebuilt items' watermarks
    for their records too, so a logged move is never applied on top of the recount.

Retention
    Retention counters are not rebuilt: they are kept as the live aggregator left them, since
    they depend on each customer's active days before the range (its customer state), which a
    fold of the range cannot know. Records set aside to the dead-letter queue are therefore
    missing from retention even after a rebuild.

Concurrency
    Every write is conditioned on the version read (optimistic locking, like the aggregator's);
    when the live aggregator changed an item meanwhile, that stage is rebuilt again from a fresh
    read, at most ``MAX_ATTEMPTS`` times. What it relies on: the aggregator is not failing
    records of the range at the moment (a record held back after a failed customer write could
    be masked by a watermark set from a later logged move of its partition).

Example
-------
>>> align_range(1_767_610_000_000, 1_767_620_000_000)   # 2026-01-05T10:46 .. 13:33 -> the whole day
(1767571200000, 1767657600000)
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alexa_skill_metrics.aggregation.rollup import FirstUtterance, fold, new_customer_keys, new_rollup
from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.exceptions import SkillMetricsError
from alexa_skill_metrics.periods import BUCKET_MS, GRANULARITIES, HOUR_MS, buckets, floor_ms
from alexa_skill_metrics.storage.keys import ROLLUP_PARTS, event_partitions, rollup_part, watermark_key

# Rollup fields a rebuild keeps as they were instead of recomputing them (see "Retention" above).
NOT_REBUILT = ("retention",)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.model import Event, RollupKey
    from alexa_skill_metrics.storage.customers import CustomerState, CustomerStore
    from alexa_skill_metrics.storage.rollups import RollupStore

DAY_MS = BUCKET_MS["P1D"]
SESSION_TAIL_MS = 2 * HOUR_MS  # as reporting.source: events after a bucket that still end its sessions
SETTLE_MS = HOUR_MS  # after the tail, before a range's event partitions count as closed
COMPLETE = 10**40  # above every DynamoDB Streams sequence number (at most 40 digits)
REBUILD_SOURCE = "rebuild"  # the watermark and move source of the rebuild's own new-customer moves
MAX_ATTEMPTS = 5


class RangeNotSettled(SkillMetricsError):
    """Events of the range may still arrive; the message says from when a rebuild is possible."""


class EventsExpired(SkillMetricsError):
    """Days of the range have rollups but no raw events left; the message names them."""


class RebuildConflict(SkillMetricsError):
    """The live aggregator kept changing the range's items; run the rebuild again."""


@dataclass
class RebuildResult:
    """What a rebuild read and wrote."""

    start_ms: int
    end_ms: int
    events: int = 0
    rollups_written: int = 0
    customers_moved: int = 0
    attempts: int = 0
    stages: list[str] = field(default_factory=list)


def align_range(start_ms: int, end_ms: int) -> tuple[int, int]:
    """Whole UTC days covering ``[start_ms, end_ms)``: a day rollup is rebuilt whole or not at all."""
    start = floor_ms(start_ms, "P1D")
    end = floor_ms(end_ms - 1, "P1D") + DAY_MS if end_ms > start_ms else start + DAY_MS
    return start, end


def rebuild(
    table_name: str,
    skill_id: str,
    start_ms: int,
    end_ms: int,
    *,
    client: DynamoDBClient | None = None,
    clock: Callable[[], float] = time.time,
) -> RebuildResult:
    """Rebuild every rollup of ``skill_id`` in the whole days covering ``[start_ms, end_ms)``."""
    from alexa_skill_metrics.storage.customers import CustomerStore
    from alexa_skill_metrics.storage.events import EventReader
    from alexa_skill_metrics.storage.rollups import RollupStore, VersionConflict, analytics_client

    start, end = align_range(start_ms, end_ms)
    now_ms = int(clock() * 1000)
    settled = end + SESSION_TAIL_MS + SETTLE_MS
    if now_ms < settled:
        from alexa_skill_metrics.reporting.params import format_time

        raise RangeNotSettled(
            f"events up to {format_time(end + SESSION_TAIL_MS)} may still arrive: rebuild this range "
            f"after {format_time(settled)}, or end it earlier"
        )
    client = client if client is not None else analytics_client()
    result = RebuildResult(start, end)
    events = list(EventReader(table_name, client).read(skill_id, start, end + SESSION_TAIL_MS))
    result.events = sum(1 for e in events if start <= e.timestamp_ms < end)
    rollups, customers = RollupStore(table_name, client), CustomerStore(table_name, client)
    for stage in STAGES:
        staged = [e for e in events if e.stage == stage]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            result.attempts += 1
            try:
                written = _rebuild_stage(
                    rollups, customers, skill_id, stage, staged, start, end, now_ms, result
                )
            except VersionConflict:
                if attempt == MAX_ATTEMPTS:
                    raise RebuildConflict(
                        f"the live aggregator kept changing {stage} rollups; run the rebuild again"
                    ) from None
                continue
            if written:
                result.stages.append(stage)
            break
    return result


def _rebuild_stage(
    rollups: RollupStore,
    customers: CustomerStore,
    skill_id: str,
    stage: str,
    events: Sequence[Event],
    start: int,
    end: int,
    now_ms: int,
    result: RebuildResult,
) -> int:
    """Rewrite one stage's rollups of the range; return how many items were written."""
    from alexa_skill_metrics.storage.rollups import StoredRollup

    folded = {k: r for k, r in fold(events).items() if start <= k.bucket_ms < end}
    existing = _existing_keys(rollups, skill_id, stage, start, end)
    if not folded and not existing:
        return 0
    _check_events_kept(stage, events, existing)
    for rollup in folded.values():
        rollup.new_customers = 0  # recounted below from the customers' first utterances ever
    states, moved = _settle_customers(customers, skill_id, stage, events, start, end, now_ms)
    result.customers_moved += moved
    outside: dict[RollupKey, list[tuple[int, int]]] = defaultdict(list)  # -1 moves: (seq, delta)
    marks_from_moves: dict[RollupKey, dict[str, int]] = defaultdict(dict)
    for state in states:
        first = state.first
        if first is not None and start <= first.timestamp_ms < end:
            for key in new_customer_keys(skill_id, stage, first):
                folded.setdefault(key, new_rollup()).new_customers += 1
        for move in state.moves:
            if move.from_ is None:
                continue
            for key in new_customer_keys(skill_id, stage, move.from_):
                if start <= key.bucket_ms < end:
                    marks = marks_from_moves[key]  # the recount already holds this move
                    marks[move.source] = max(move.seq, marks.get(move.source, -1))
                elif move.source == REBUILD_SOURCE:
                    outside[key].append((move.seq, -1))
    keys = sorted(folded.keys() | existing, key=_order)
    # Every part of a rollup is rewritten (part 0 holds the whole recount, the others nothing),
    # each closed for the sources that write it; an item from before parts is emptied.
    items = [(key, part) for key in keys for part in (None, *range(ROLLUP_PARTS))]
    current = rollups.get_many(items)
    written = 0
    for key, part in items:
        stored = current.get((key, part))
        if stored is None and part is None:
            continue
        stored = stored or StoredRollup(key, new_rollup(), part=part)
        marks = dict(stored.watermarks)
        for source, seq in marks_from_moves.get(key, {}).items():
            marks[source] = max(seq, marks.get(source, -1))
        for source in contributing_sources(skill_id, key):
            if part is None or rollup_part(source) == part:
                marks[source] = COMPLETE
        rollup = (folded.get(key) if part == 0 else None) or new_rollup()
        # Retention counters depend on each customer's active days before the range too, which
        # the live aggregator's customer state holds and a fold of the range cannot know: they
        # are kept as the aggregator left them, part by part (README, Known limitations).
        rollup.retention = dict(stored.rollup.retention)  # NOT_REBUILT
        rebuilt = StoredRollup(key, rollup, stored.version, marks, part)
        rollups.put(rebuilt)  # VersionConflict: the caller rebuilds the stage from a fresh read
        written += 1
    written += _apply_outside(rollups, outside)
    result.rollups_written += written
    return written


def _check_events_kept(stage: str, events: Sequence[Event], existing: Iterable[RollupKey]) -> None:
    """Refuse to rebuild a day whose rollups exist but whose raw events are all gone (TTL).

    Rebuilding it would empty its rollups: the events expired after ``RetentionDays``, while
    rollups are kept.
    """
    from alexa_skill_metrics.reporting.params import format_time

    with_events = {floor_ms(e.timestamp_ms, "P1D") for e in events}
    lost = sorted({k.bucket_ms for k in existing if k.granularity == "P1D"} - with_events)
    if lost:
        days = ", ".join(format_time(day)[:10] for day in lost[:5])
        raise EventsExpired(
            f"the {stage} raw events of {days} are gone (kept for RetentionDays) while their rollups "
            "are not: rebuilding would empty those rollups; rebuild a range without those days"
        )


def contributing_sources(skill_id: str, key: RollupKey) -> list[str]:
    """Watermark keys of the event partitions that can contribute to ``key``'s rollup.

    The hours of its bucket and of ``SESSION_TAIL_MS`` after it (sessions started in the bucket
    can end there), every write shard of each.
    """
    end = key.bucket_ms + BUCKET_MS[key.granularity] + SESSION_TAIL_MS
    return [
        watermark_key(pk)
        for hour in buckets(floor_ms(key.bucket_ms, "PT1H"), end, "PT1H")
        for pk in event_partitions(skill_id, hour)
    ]


def _existing_keys(rollups: RollupStore, skill_id: str, stage: str, start: int, end: int) -> set[RollupKey]:
    """Rollups already stored in the range: rebuilt too (emptied when no event is left for them)."""
    return {
        key
        for granularity in GRANULARITIES
        for intents in (False, True)
        for key, _ in rollups.query(
            skill_id, stage, granularity, start, end, intents=intents, consistent=True
        )
    }


def _settle_customers(
    store: CustomerStore,
    skill_id: str,
    stage: str,
    events: Iterable[Event],
    start: int,
    end: int,
    now_ms: int,
) -> tuple[list[CustomerState], int]:
    """Customers with an utterance in the range, each first utterance moved earlier where the raw
    events show one; return their states and how many were moved."""
    from alexa_skill_metrics.storage.customers import Move

    earliest: dict[str, FirstUtterance] = {}
    for event in events:
        candidate = FirstUtterance.of(event)
        if candidate is None or event.customer is None or not start <= event.timestamp_ms < end:
            continue
        known = earliest.get(event.customer)
        if known is None or candidate.order < known.order:
            earliest[event.customer] = candidate
    states = store.get_many((skill_id, stage, customer) for customer in earliest)
    moved = 0
    for (_, _, customer), state in states.items():
        candidate = earliest[customer]
        if state.first is not None and state.first.order <= candidate.order:
            continue
        state.moves.append(Move(REBUILD_SOURCE, now_ms, now_ms, candidate, state.first))
        state.first = candidate
        store.put(state)  # VersionConflict: the aggregator wrote this customer; the stage starts over
        moved += 1
    return list(states.values()), moved


def _apply_outside(rollups: RollupStore, changes: dict[RollupKey, list[tuple[int, int]]]) -> int:
    """Apply the rebuild's own -1 moves to rollups outside the range, once each (watermarked)."""
    from alexa_skill_metrics.storage.rollups import StoredRollup

    written = 0
    current = rollups.get_many((key, 0) for key in changes)
    for key, moves in changes.items():
        stored = current.get((key, 0)) or StoredRollup(key, new_rollup(), part=0)
        mark = stored.watermarks.get(REBUILD_SOURCE, -1)
        fresh = [(seq, delta) for seq, delta in moves if seq > mark]
        if not fresh:
            continue
        stored.rollup.new_customers += sum(delta for _, delta in fresh)
        stored.watermarks[REBUILD_SOURCE] = max(seq for seq, _ in fresh)
        rollups.put(stored)
        written += 1
    return written


def _order(key: RollupKey) -> tuple[str, int, str, str]:
    return (key.granularity, key.bucket_ms, key.locale, key.intent)
