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
    the buckets of the old first utterance outside the range, guarded by the run's own
    watermark (see Retention). A crash in between is repaired by the next run, which finds the
    logged move. Moves the live aggregator logged for customers of the range raise the rebuilt
    items' watermarks for their records too, so a logged move is never applied on top of the
    recount.

Retention
    Retention counters (``aggregation.retention``) live in the day rollups of locale ``-`` and
    depend on each customer's active days ever, which the customer items keep (``days``). The
    rebuild brings the customers of the range up to date first: the days of their raw
    utterances in the range join the stored ones, and where that adds a day the customer item
    is rewritten (conditioned on its version, in the same write as a move) with the retention
    ``changes`` from the old days to the new ones logged as an ``Act`` under ``REBUILD_SOURCE``
    and this run's sequence number. Then:

    * the counters of every day rollup in the range are recounted in part 0: for each customer
      of the range, ``contributions`` of all their days, on the days of the range. A day's
      counters depend only on the customer's days up to it, and a customer inactive on a day
      contributes nothing to it, so the customers of the range are all it takes;
    * days after the range get the logged changes of the rebuild's acts (the customer's next
      active day has another previous day; everything, when the cohort moved earlier), in
      part 0, each run's changes marked by a watermark of its own (``rebuild#<seq>``): applied
      once, also when a later run with another range wrote that rollup meanwhile;
    * days before the range never change: nothing a customer does later changes them.

    Acts the live aggregator logged for customers of the range (its crash between the customer
    and the rollup writes, or a redelivery still due) are in the recount already: the rebuilt
    items' watermarks rise to their records, as for moves. A record of the range the live
    aggregator delivers after the rebuild finds its day in the customer item and logs nothing.

Crashes
    Customer items are written before any rollup, with every change logged. A run that dies
    after its customer writes (before or among its rollup writes) leaves logged changes not yet
    applied; the next run over the range finds them in the customers' logs (they are the
    customers of the same raw events, and their items now hold the days), recounts the range
    and applies what is missing outside it, once: a run's changes are all or nothing per item.
    The live aggregator drops logged moves and acts after ``MOVE_RETENTION_MS`` (48 hours) when
    it next writes that customer: rerun a failed rebuild within two days.

Concurrency
    Every write is conditioned on the version read (optimistic locking, like the aggregator's);
    when the live aggregator changed an item meanwhile, that stage is rebuilt again from a fresh
    read, at most ``MAX_ATTEMPTS`` times. What it relies on: the aggregator is not failing
    records of the range at the moment (a record held back after a failed customer write could
    be masked by a watermark set from a later logged move or act of its partition).

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

from alexa_skill_metrics.aggregation.retention import changes as retention_changes
from alexa_skill_metrics.aggregation.retention import contributions, day_of
from alexa_skill_metrics.aggregation.rollup import (
    FirstUtterance,
    _bump,
    active_days,
    fold,
    new_customer_keys,
    new_rollup,
    retention_key,
)
from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.exceptions import SkillMetricsError
from alexa_skill_metrics.model import NO_LOCALE, NO_RELEASE
from alexa_skill_metrics.periods import BUCKET_MS, GRANULARITIES, HOUR_MS, buckets, floor_ms, format_time
from alexa_skill_metrics.storage.keys import LEGACY_ROLLUP_PARTS, event_partitions, watermark_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.model import Event, Rollup, RollupKey
    from alexa_skill_metrics.storage.customers import CustomerState, CustomerStore
    from alexa_skill_metrics.storage.rollups import RollupStore

DAY_MS = BUCKET_MS["P1D"]
SESSION_TAIL_MS = 2 * HOUR_MS  # as reporting.source: events after a bucket that still end its sessions
SETTLE_MS = HOUR_MS  # after the tail, before a range's event partitions count as closed
COMPLETE = 10**40  # above every DynamoDB Streams sequence number (at most 40 digits)
REBUILD_SOURCE = "rebuild"  # the watermark and move source of the rebuild's own new-customer moves
MAX_ATTEMPTS = 5
WRITE_CONCURRENCY = 8  # rollup items are independent writes, each one round trip
# (what, done, total): "hours" of raw events read, then "rollups" written, for a progress display
Progress = Callable[[str, int, int], None]


class RangeNotSettled(SkillMetricsError):
    """Events of the range may still arrive; the message says from when a rebuild is possible."""


class EventsExpired(SkillMetricsError):
    """Days of the range have rollups but no raw events left; the message names them."""


class RebuildConflict(SkillMetricsError):
    """The live aggregator kept changing the range's items; run the rebuild again."""


@dataclass(frozen=True)
class Spread:
    """The deployment's spread settings a rebuild needs: rollup parts and event shards per hour."""

    rollup_parts: int
    event_shards: int


@dataclass
class RebuildResult:
    """What a rebuild read and wrote."""

    start_ms: int
    end_ms: int
    events: int = 0
    rollups_written: int = 0
    customers_moved: int = 0
    customers_reactivated: int = 0  # customers given active days their stored item lacked
    attempts: int = 0
    stages: list[str] = field(default_factory=list)
    values_copied: int = 0  # events whose unresolved values were copied into the value index again


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
    progress: Progress | None = None,
    rollup_parts: int | None = None,
    event_shards: int | None = None,
) -> RebuildResult:
    """Rebuild every rollup of ``skill_id`` in the whole days covering ``[start_ms, end_ms)``.

    ``progress`` is told the hours of raw events read and the rollup items written so far.
    ``rollup_parts`` and ``event_shards`` are the deployment's ``METRICS_ROLLUP_PARTS`` and
    read shards (``keys.rollup_parts()``, ``keys.event_read_shards()`` by default): which rollup
    parts may exist, and which event partitions hold the range's events.
    """
    from alexa_skill_metrics.storage.customers import CustomerStore
    from alexa_skill_metrics.storage.events import EventReader
    from alexa_skill_metrics.storage.keys import event_read_shards
    from alexa_skill_metrics.storage.keys import rollup_parts as configured_parts
    from alexa_skill_metrics.storage.rollups import RollupStore, VersionConflict, analytics_client

    start, end = align_range(start_ms, end_ms)
    now_ms = int(clock() * 1000)
    settled = end + SESSION_TAIL_MS + SETTLE_MS
    if now_ms < settled:
        raise RangeNotSettled(
            f"events up to {format_time(end + SESSION_TAIL_MS)} may still arrive: rebuild this range "
            f"after {format_time(settled)}, or end it earlier"
        )
    client = client if client is not None else analytics_client()
    result = RebuildResult(start, end)
    on_read = None if progress is None else (lambda done, total, _events: progress("hours", done, total))
    spread = Spread(rollup_parts or configured_parts(), event_shards or event_read_shards())
    reader = EventReader(table_name, client, progress=on_read, shards=spread.event_shards)
    events = list(reader.read(skill_id, start, end + SESSION_TAIL_MS))
    result.events = sum(1 for e in events if start <= e.timestamp_ms < end)
    rollups, customers = RollupStore(table_name, client), CustomerStore(table_name, client)
    for stage in STAGES:
        staged = [e for e in events if e.stage == stage]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            result.attempts += 1
            try:
                written = _rebuild_stage(
                    rollups, customers, skill_id, stage, staged, start, end, now_ms, result, spread, progress
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
    from alexa_skill_metrics.aggregation.slot_values import copy_event_values
    from alexa_skill_metrics.storage.slot_values import ValueStore

    # The value index of the range, from the raw events again: what a set-aside batch never copied.
    result.values_copied = copy_event_values(
        (e for e in events if start <= e.timestamp_ms < end), ValueStore(table_name, client)
    )
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
    spread: Spread,
    progress: Progress | None = None,
) -> int:
    """Rewrite one stage's rollups of the range; return how many items were written."""

    folded = {k: r for k, r in fold(events).items() if start <= k.bucket_ms < end}
    existing = _existing_keys(rollups, skill_id, stage, start, end)
    if not folded and not existing:
        return 0
    _check_events_kept(stage, events, existing)
    for rollup in folded.values():
        rollup.new_customers = 0  # recounted below from the customers' first utterances ever
        rollup.retention = {}  # recounted below from the customers' active days ever
    states = _settle_customers(customers, skill_id, stage, events, start, end, now_ms, result)
    outside: dict[RollupKey, dict[int, Pending]] = defaultdict(dict)  # this or a crashed run's changes
    logged: dict[RollupKey, dict[str, int]] = defaultdict(dict)  # logged changes the recount holds

    def logged_change(key: RollupKey, source: str, seq: int) -> Pending | None:
        """Where a logged change of ``key`` goes: into the recount's marks, or ``outside`` (returned)."""
        if start <= key.bucket_ms < end:
            mark = _mark_source(source, seq)
            logged[key][mark] = max(seq, logged[key].get(mark, -1))
            return None
        if source != REBUILD_SOURCE:
            return None  # the live aggregator applies its own changes, by its watermarks
        return outside[key].setdefault(seq, Pending())

    day_locales = active_days(e for e in events if start <= e.timestamp_ms < end)
    for state in states:
        first = state.first
        if first is not None and start <= first.timestamp_ms < end:
            for key in new_customer_keys(skill_id, stage, first):
                folded.setdefault(key, new_rollup()).new_customers += 1
        locales = day_locales.get((skill_id, stage, state.customer), {})
        for (day, counter), count in contributions(state.days).items():
            key = retention_key(skill_id, stage, day, *locales.get(day, (NO_LOCALE, NO_RELEASE)))
            if start <= key.bucket_ms < end:
                _bump(folded.setdefault(key, new_rollup()).retention, counter, count)
        for move in state.moves:
            if move.from_ is None:
                continue
            for key in new_customer_keys(skill_id, stage, move.from_):
                pending = logged_change(key, move.source, move.seq)
                if pending is not None:
                    pending.new_customers -= 1
        for act in state.acts:
            for day, counter, delta in act.changes:
                pending = logged_change(
                    retention_key(skill_id, stage, day, act.locale, act.release), act.source, act.seq
                )
                if pending is not None:
                    _bump(pending.retention, counter, delta)
    # with the range's rollups that logged changes would go to, so their marks close them there
    keys = sorted(folded.keys() | existing | logged.keys(), key=_order)
    written = _rewrite_parts(
        rollups,
        skill_id,
        keys,
        folded,
        logged,
        progress,
        rollup_parts=spread.rollup_parts,
        event_shards=spread.event_shards,
    )
    written += _apply_outside(rollups, outside)
    result.rollups_written += written
    return written


def _rewrite_parts(
    rollups: RollupStore,
    skill_id: str,
    keys: Sequence[RollupKey],
    folded: dict[RollupKey, Rollup],
    logged: dict[RollupKey, dict[str, int]],
    progress: Progress | None = None,
    *,
    rollup_parts: int,
    event_shards: int,
) -> int:
    """Write the parts of ``keys``' rollups: the head the recount, closed; the others empty.

    The head (part 0) takes the whole recount and a ``COMPLETE`` mark for every partition that
    can contribute, which closes them for every part (a record is fresh for a part only above
    the head's mark too). Every other part that exists is emptied, and a rollup that is split,
    or whose head is missing (fixed parts, ``split="always"``), gets all its parts written, so
    a part the live aggregator creates meanwhile conflicts instead of adding to the recount. An
    item from before parts is emptied and closed.
    """
    from concurrent.futures import ThreadPoolExecutor

    from alexa_skill_metrics.storage.rollups import StoredRollup

    most = max(rollup_parts, LEGACY_ROLLUP_PARTS)
    current = rollups.get_many((key, part) for key in keys for part in (None, *range(most)))
    wider = [
        (key, part)
        for key in keys
        if (head := current.get((key, 0))) is not None and head.parts > most
        for part in range(most, head.parts)
    ]
    if wider:
        current.update(rollups.get_many(wider))
    rebuilt: list[StoredRollup] = []
    for key in keys:
        head = current.get((key, 0))
        present = {part for (k, part) in current if k == key and part is not None}
        split = head.parts if head is not None else (most if present else 1)
        closed = dict.fromkeys(contributing_sources(skill_id, key, event_shards), COMPLETE)
        marks = dict(head.watermarks) if head is not None else {}
        for source, seq in logged.get(key, {}).items():
            marks[source] = max(seq, marks.get(source, -1))
        marks.update(closed)
        rollup = folded.get(key) or new_rollup()
        new_head = StoredRollup(key, rollup, head.version if head is not None else 0, marks, 0)
        new_head.parts = split
        if head is not None:
            new_head.writes, new_head.conflicts = head.writes, head.conflicts
        rebuilt.append(new_head)
        for part in sorted(present.union(range(split if split > 1 else 0)) - {0}):
            stored = current.get((key, part))
            version, kept = (stored.version, stored.watermarks) if stored is not None else (0, {})
            rebuilt.append(StoredRollup(key, new_rollup(), version, dict(kept), part))
        legacy = current.get((key, None))
        if legacy is not None:
            rebuilt.append(StoredRollup(key, new_rollup(), legacy.version, {**legacy.watermarks, **marks}))
    # Items are independent: in flight together; a VersionConflict surfaces once every write has
    # ended, and the caller rebuilds the stage from a fresh read.
    with ThreadPoolExecutor(WRITE_CONCURRENCY, thread_name_prefix="rebuild") as pool:
        for written, _ in enumerate(pool.map(rollups.put, rebuilt), 1):
            if progress is not None and (written % 50 == 0 or written == len(rebuilt)):
                progress("rollups", written, len(rebuilt))
    return len(rebuilt)


@dataclass
class Pending:
    """What one rebuild run's logged changes bring a rollup outside the range being rebuilt."""

    new_customers: int = 0
    retention: dict[str, int] = field(default_factory=dict)


def _mark_source(source: str, seq: int) -> str:
    """The watermark key of a logged change: the record's source, or one key per rebuild run.

    A rebuild run's changes are marked under their own key (``rebuild#<seq>``), so a later run
    touching the same rollup cannot mask a crashed earlier run's changes waiting to be repaired.
    """
    return f"{REBUILD_SOURCE}#{seq}" if source == REBUILD_SOURCE else source


def _applied(marks: dict[str, int], seq: int) -> bool:
    """Whether the rebuild run ``seq``'s changes are in a rollup (its key; the single key before it)."""
    return _mark_source(REBUILD_SOURCE, seq) in marks or marks.get(REBUILD_SOURCE, -1) >= seq


def _check_events_kept(stage: str, events: Sequence[Event], existing: Iterable[RollupKey]) -> None:
    """Refuse to rebuild a day whose rollups exist but whose raw events are all gone (TTL).

    Rebuilding it would empty its rollups: the events expired after ``RetentionDays``, while
    rollups are kept.
    """
    with_events = {floor_ms(e.timestamp_ms, "P1D") for e in events}
    lost = sorted({k.bucket_ms for k in existing if k.granularity == "P1D"} - with_events)
    if lost:
        days = ", ".join(format_time(day)[:10] for day in lost[:5])
        raise EventsExpired(
            f"the {stage} raw events of {days} are gone (kept for RetentionDays) while their rollups "
            "are not: rebuilding would empty those rollups; rebuild a range without those days"
        )


def contributing_sources(skill_id: str, key: RollupKey, shards: int | None = None) -> list[str]:
    """Watermark keys of the event partitions that can contribute to ``key``'s rollup.

    The hours of its bucket and of ``SESSION_TAIL_MS`` after it (sessions started in the bucket
    can end there), every write shard of each (``shards``: ``keys.event_read_shards()`` by
    default).
    """
    end = key.bucket_ms + BUCKET_MS[key.granularity] + SESSION_TAIL_MS
    return [
        watermark_key(pk)
        for hour in buckets(floor_ms(key.bucket_ms, "PT1H"), end, "PT1H")
        for pk in event_partitions(skill_id, hour, shards)
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
    result: RebuildResult,
) -> list[CustomerState]:
    """Customers with an utterance in the range, brought up to date with the raw events.

    A first utterance moves earlier where the raw events show one, and the active days of the
    range join the stored ones; each change is logged under ``REBUILD_SOURCE`` with this run's
    sequence number (``now_ms``) in the same conditional write, before any rollup is written.
    """
    from alexa_skill_metrics.storage.customers import Act, Move

    earliest: dict[str, FirstUtterance] = {}
    active: dict[str, set[int]] = defaultdict(set)
    for event in events:
        candidate = FirstUtterance.of(event)
        if candidate is None or event.customer is None or not start <= event.timestamp_ms < end:
            continue
        active[event.customer].add(day_of(event.timestamp_ms))
        known = earliest.get(event.customer)
        if known is None or candidate.order < known.order:
            earliest[event.customer] = candidate
    states = store.get_many((skill_id, stage, customer) for customer in earliest)
    for (_, _, customer), state in states.items():
        candidate = earliest[customer]
        earlier = state.first is None or candidate.order < state.first.order
        days = sorted(active[customer].union(state.days))
        if not earlier and len(days) == len(state.days):
            continue
        if earlier:
            state.moves.append(Move(REBUILD_SOURCE, now_ms, now_ms, candidate, state.first))
            state.first = candidate
        added = len(days) - len(state.days)
        if added:
            delta = tuple((d, k, v) for (d, k), v in retention_changes(state.days, days).items())
            state.acts.append(Act(REBUILD_SOURCE, now_ms, now_ms, delta, candidate.locale, candidate.release))
            state.days = days
        store.put(state)  # VersionConflict: the aggregator wrote this customer; the stage starts over
        result.customers_moved += earlier
        result.customers_reactivated += bool(added)
    return list(states.values())


def _apply_outside(rollups: RollupStore, changes: dict[RollupKey, dict[int, Pending]]) -> int:
    """Apply rebuild runs' logged changes to rollups outside the range, once per run (watermarked).

    The -1 of moved first utterances, and the retention changes of added days on the customers'
    later active days. They go to part 0, marked with the run's own key (``_mark_source``).
    """
    from alexa_skill_metrics.storage.rollups import StoredRollup

    written = 0
    current = rollups.get_many((key, 0) for key in changes)
    for key, runs in changes.items():
        stored = current.get((key, 0)) or StoredRollup(key, new_rollup(), part=0)
        fresh = {seq: pending for seq, pending in runs.items() if not _applied(stored.watermarks, seq)}
        if not fresh:
            continue
        for seq, pending in fresh.items():
            stored.rollup.new_customers += pending.new_customers
            for counter, delta in pending.retention.items():
                _bump(stored.rollup.retention, counter, delta)
            stored.watermarks[_mark_source(REBUILD_SOURCE, seq)] = seq
        rollups.put(stored)
        written += 1
    return written


def _order(key: RollupKey) -> tuple[str, int, str, str, str]:
    return (key.granularity, key.bucket_ms, key.locale, key.intent, key.release)
