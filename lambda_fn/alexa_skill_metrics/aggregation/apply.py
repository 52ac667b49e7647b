"""Apply a batch of event stream records to the stored rollups, with an exactly-once effect.

Lambda delivers DynamoDB stream records at least once: it retries failed batches, bisects them,
and may hand the same record over again. The effect on the rollups is still exactly once:

Watermarks
    DynamoDB Streams keeps the records of one item key in order, and Lambda processes the
    records of one partition key in order (also with ``ParallelizationFactor`` > 1). Every
    event partition key (``EVT#<skill>#<hour>#<shard>``) thus delivers its records in increasing
    ``SequenceNumber`` order. Each rollup item keeps, per event partition key that contributed
    to it, the highest sequence number applied (``wm``). A contribution is applied to an item
    only if its record's sequence number is above the item's watermark for that partition key,
    and the watermark moves in the same conditional write as the counters. Invariant, per item
    and partition key: the records applied are exactly those contributing records with a
    sequence number up to the watermark.

One write per touched rollup per batch, split only where batches race
    A rollup starts as one item, its head (part 0), and every record writes it. The touched
    heads are read with one strongly consistent BatchGetItem per 100, and each is written once
    with a ``PutItem`` conditioned on the ``ver`` it was read at (optimistic locking: another
    writer makes it re-read that one item and redo it, a bounded number of times). So a skill
    whose records come in batches one after another (a quiet or busy one: one stream shard)
    writes each rollup it touches once per batch, however many write shards the batch spans.
    A head whose writes keep being redone (``SPLIT_MIN_CONFLICTS``, and one in ``SPLIT_SHARE``:
    parallel stream shards race for it, as at a top skill's peak), or a large one that a batch
    of a few sessions would rewrite whole for a few records (``SPLIT_NARROW``: a quiet skill's
    day rollups, with their path maps), is split: the writer stores
    ``parts`` (the ``rollup_parts`` setting) in the head, and from then on a record writes part
    ``keys.rollup_part(source, parts)`` only, the head being part 0, so parallel batches of
    other write shards write other items. The split is stored in the head before any other
    part is written and is never undone, so the part a record writes is fixed once any record
    of its partition key has been applied after the split, and the head's version guards every
    write made before it: a redelivered record meets the item that holds its mark (exactly-once
    does not depend on which invocation, or which zombie write, comes first). A record is fresh
    for a part above both that part's watermark and the head's (what it applied before the
    split). Other parts of split rollups are read in a second BatchGetItem. ``split="always"``
    splits every rollup from its first write: the layout of fixed parts, whose heads carry no
    ``parts`` and read as ``LEGACY_ROLLUP_PARTS``. A replayed batch writes nothing: every
    contribution is under the marks.

Concurrent writes within a batch
    No two writes of one stage touch the same item, so the customer items are written
    concurrently, then (once every customer write has ended) the rollup items, ``concurrency``
    at a time. A batch of thousands of records waits for a few dozen round trips one after
    another instead of thousands (``bench/bench_scale.py`` measures it).

Failures
    An item whose write fails (throttling, timeouts, too many conflicts) fails exactly the
    records that contribute to it; they are reported as batch item failures. Lambda delivers
    them again (from the lowest failed sequence number), the items written meanwhile skip them
    by their watermarks, the failed item applies them. Since an item applies all of a batch's
    contributions or none, the invariant holds. A failed read fails the records that needed it
    (every record, for the rollup read).

New customers
    A customer is new where their first utterance ever recorded falls, so events of one
    customer arriving out of order (across partition keys, shards, batches) can move their
    "+1 new customer" to an earlier bucket. One customer item per skill, stage and customer
    (``storage.customers``) holds the first utterance and a log of the *moves* that set it,
    each naming the stream record that caused it. Per batch: read the customers of the batch's
    utterances, write each customer whose earliest utterance in the batch is earlier than the
    stored one (conditioned on its version), and only then derive the rollup changes from the
    logged moves of the batch's records: +1 new customer at the new first utterance's buckets
    (all intents and its intent), -1 at the old one's. Those changes are contributions of the
    record that caused the move, so the watermarks make them exactly-once too. Writing the
    customer first and re-deriving from the log is what makes a crash between the customer
    write and the rollup writes harmless: the next delivery finds the move logged and applies
    what is missing. If a customer write fails, every record of that customer in the batch,
    and every later record of the same partition keys, is reported failed without touching any
    rollup, so no watermark can pass a change that was not applied.

What this relies on, and what remains
    * Sequence numbers of one event partition key increase in stream order, also across stream
      shard splits (DynamoDB documents them as reflecting publication order); records of an
      event partition key are all written within about an hour, by the recorder.
    * A record that Lambda gives up on (after ``MaximumRetryAttempts``, or older than
      ``MaximumRecordAgeInSeconds``) goes to the on-failure destination and is not counted;
      later records of its partition key are, and their watermarks then pass it for good.
    * An unsplit day rollup carries a watermark per write shard and hour that contributed (up
      to about 800 for a skill using all 32 shards all day), about 40 bytes each; a split
      one's parts carry their own write shards' only.
    * Rollups written with fixed parts (before the split was adaptive) keep their 8 parts. One
      of them whose head (part 0) was never written, and that a record applied before the
      upgrade and delivered again after it contributes to, would get that record twice: upgrade
      from fixed parts with the stream drained (iterator age 0), as from before parts.
    * Rollup items written before parts existed (no part in the sort key) are read and merged
      by reports but never written again; a record applied to such an item and delivered again
      after the upgrade would count twice, so upgrade with the stream drained (iterator age 0).
    * Figures are additive, so the order across partition keys does not matter in the end; in
      between, a session whose end was applied before its start shows ``-1`` in
      ``open_sessions`` until the start arrives, and a customer is new where their earliest
      utterance applied so far falls.
    * The aggregator's own rollup and customer writes come back on the stream and are ignored;
      an event source filter on event inserts (``eventName`` INSERT, ``Keys.pk`` prefix ``EVT#``)
      saves those invocations without hiding malformed events.

Example
-------
>>> record = {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "7", "Keys": {}}}
>>> decode_record(record) is None   # not an event insert: ignored
True
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.aggregation.retention import RETENTION_GRANULARITY, day_of
from alexa_skill_metrics.aggregation.retention import changes as retention_changes
from alexa_skill_metrics.aggregation.rollup import (
    FirstUtterance,
    apply_event,
    new_customer_keys,
    new_rollup,
    retention_key,
    rollup_keys,
)
from alexa_skill_metrics.model import NO_LOCALE
from alexa_skill_metrics.periods import GRANULARITIES
from alexa_skill_metrics.storage.codec import is_event_item, item_to_event
from alexa_skill_metrics.storage.customers import (
    MOVE_RETENTION_MS,
    Act,
    Customer,
    CustomerState,
    CustomerStore,
    Move,
)
from alexa_skill_metrics.storage.keys import PK, is_event_key, rollup_part, watermark_key
from alexa_skill_metrics.storage.keys import rollup_parts as configured_parts
from alexa_skill_metrics.storage.rollups import RollupStore, StoredRollup, VersionConflict, analytics_client

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.model import Event, RollupKey

DEFAULT_MAX_ATTEMPTS = 5  # conditional-write attempts per item before its records are failed
DEFAULT_CONCURRENCY = 16  # item writes in flight per batch (analytics_client pools as many connections)
# An unsplit head splits once this many of its writes had to be redone after a version conflict,
# and at least one in SPLIT_SHARE: parallel batches race for it. Batches that come one after another
# (any skill whose records share a stream shard) never conflict, so their rollups stay one item.
SPLIT_MIN_CONFLICTS = 3
SPLIT_SHARE = 10
# A head splits too when a batch's records write at most one part in SPLIT_NARROW and the head is
# over 2 KB per part they write (twice what a small part costs): a skill whose batches hold a few
# sessions then rewrites the small parts of those sessions, not the whole day rollup (its path
# maps, sketches and marks). A batch spanning most write shards keeps one item.
SPLIT_NARROW = 4
SPLIT_POLICIES = ("adaptive", "always")  # always: every rollup in rollup_parts parts, as fixed parts were
_T = TypeVar("_T")
_R = TypeVar("_R")
RecordId = tuple[str, int]  # (watermark key of the event partition key, sequence number)


class MalformedRecord(ValueError):
    """A stream record that claims to be an event insert but cannot be read as one."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One event insert from the stream: its identity for failures and watermarks, and the event."""

    sequence_number: str  # as delivered: the batch item failure's itemIdentifier
    seq: int
    source: str  # keys.watermark_key of the event's partition key
    event: Event

    @property
    def id(self) -> RecordId:
        return (self.source, self.seq)


def decode_record(raw: Mapping[str, Any]) -> StreamRecord | None:
    """The event insert in a DynamoDB stream record (Lambda's or ``GetRecords``' shape).

    Returns ``None`` for records that are not event inserts (rollup and customer writes, TTL
    deletions, anything else in the table); raises ``MalformedRecord`` for an event insert that
    cannot be read, so it is reported rather than dropped.
    """
    if raw.get("eventName") != "INSERT":
        return None
    dynamodb = raw.get("dynamodb")
    if not isinstance(dynamodb, Mapping):
        raise MalformedRecord("stream record without a 'dynamodb' section")
    image = dynamodb.get("NewImage")
    keys = dynamodb.get("Keys")
    pk = _string(image, PK) or _string(keys, PK)
    if pk is None or not is_event_key(pk):
        if isinstance(image, dict) and is_event_item(image):
            raise MalformedRecord("event item outside the event key space")
        return None
    if not isinstance(image, dict):
        raise MalformedRecord("event insert without a NewImage; the stream view type must be NEW_IMAGE")
    sequence_number = dynamodb.get("SequenceNumber")
    if not isinstance(sequence_number, str) or not sequence_number.isdigit():
        raise MalformedRecord("event insert without a numeric SequenceNumber")
    try:
        event = item_to_event(image)
    except ValueError as exc:
        raise MalformedRecord(f"{pk}: {exc}") from None
    return StreamRecord(sequence_number, int(sequence_number), watermark_key(pk), event)


def _string(image: Any, name: str) -> str | None:
    if not isinstance(image, Mapping):
        return None
    attr = image.get(name)
    value = attr.get("S") if isinstance(attr, Mapping) else None
    return value if isinstance(value, str) else None


@dataclass(slots=True)
class BatchResult:
    """What one batch did; ``failed`` lists the sequence numbers to report as batch item failures."""

    failed: list[str] = field(default_factory=list)
    events: int = 0
    rollups_written: int = 0
    customers_written: int = 0
    conflicts: int = 0

    def add(self, counts: WriteCounts) -> None:
        self.rollups_written += counts.rollups_written
        self.customers_written += counts.customers_written
        self.conflicts += counts.conflicts


@dataclass(slots=True)
class WriteCounts:
    """What one write task did: concurrent tasks count their own, the batch adds them up."""

    rollups_written: int = 0
    customers_written: int = 0
    conflicts: int = 0


class Aggregator:
    """Applies batches of event stream records to one table's rollups (see the module docstring).

    Parameters
    ----------
    table_name:
        The metrics table (events, rollups and customer items).
    client:
        A boto3 DynamoDB client; by default one is built on first use.
    granularities:
        Which bucket sizes to maintain (all of ``PT15M``, ``PT1H``, ``P1D`` by default).
    max_attempts:
        Conditional-write attempts per item before its records are reported failed.
    clock:
        Wall clock in seconds (when moves are logged; tests pass a fixed one).
    concurrency:
        Item writes in flight at once within a batch (1: one after another).
    executor:
        Runs the concurrent writes (only its ``map`` is used); by default a pool of
        ``concurrency`` threads, built on first use and kept for a warm Lambda's next batches.
    rollup_parts:
        How many parts a rollup splits into (``keys.rollup_parts()``, ``METRICS_ROLLUP_PARTS``,
        by default); a rollup split earlier keeps its own count.
    split:
        ``adaptive`` (split a rollup once parallel batches race for it) or ``always`` (every
        rollup in ``rollup_parts`` parts from its first write: the layout of fixed parts, which
        the benchmarks compare with). ``always`` reads a rollup whose head was never written as
        split into ``rollup_parts``, as fixed parts did, so under it ``rollup_parts`` changes
        only with the stream drained; ``adaptive`` stores every split in the head first.
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        granularities: Sequence[str] = GRANULARITIES,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], float] = time.time,
        concurrency: int = DEFAULT_CONCURRENCY,
        executor: Executor | None = None,
        rollup_parts: int | None = None,
        split: str = SPLIT_POLICIES[0],
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if split not in SPLIT_POLICIES:
            raise ValueError(f"split must be one of {', '.join(SPLIT_POLICIES)}")
        self.rollup_parts = rollup_parts if rollup_parts is not None else configured_parts()
        if self.rollup_parts < 1:
            raise ValueError("rollup_parts must be at least 1")
        self.split = split
        self.table_name = table_name
        self._client = client  # built on first use, shared by both stores
        self._rollups: RollupStore | None = None
        self._customers: CustomerStore | None = None
        self.granularities = tuple(granularities)
        self.max_attempts = max_attempts
        self._clock = clock
        self.concurrency = concurrency
        self._executor = executor

    @property
    def rollups(self) -> RollupStore:
        if self._rollups is None:
            self._rollups = RollupStore(self.table_name, self._shared_client())
        return self._rollups

    @property
    def customers(self) -> CustomerStore:
        if self._customers is None:
            self._customers = CustomerStore(self.table_name, self._shared_client())
        return self._customers

    def _shared_client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = analytics_client(max_connections=self.concurrency)
        return self._client

    def _each(self, task: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        """``task`` of every item, ``concurrency`` at a time; results in the items' order."""
        work = list(items)
        if self.concurrency == 1 or len(work) < 2:
            return [task(item) for item in work]
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="aggregator")
        return list(self._executor.map(task, work))

    def process(self, records: Sequence[StreamRecord]) -> BatchResult:
        """Apply ``records`` (one batch, in stream order); report the ones not applied."""
        unique: dict[RecordId, StreamRecord] = {}
        for record in records:
            unique.setdefault(record.id, record)  # the same record twice in a batch counts once
        batch = list(unique.values())
        result = BatchResult(events=len(batch))
        moves, acts, failed = self._settle_customers(batch, result)
        # A failed record holds back the later records of its partition key: their watermarks
        # would otherwise pass it.
        first_failed: dict[str, int] = {}
        for source, seq in failed:
            first_failed[source] = min(seq, first_failed.get(source, seq))
        active = [r for r in batch if r.seq < first_failed.get(r.source, r.seq + 1)]
        failed.update(r.id for r in batch if r.seq >= first_failed.get(r.source, r.seq + 1))
        failed.update(self._apply_rollups(active, moves, acts, result))
        result.failed = [r.sequence_number for r in batch if r.id in failed]
        return result

    # --- customers ----------------------------------------------------------------------------------

    def _settle_customers(
        self, batch: Sequence[StreamRecord], result: BatchResult
    ) -> tuple[dict[RecordId, list[Move]], dict[RecordId, list[Act]], set[RecordId]]:
        """Write customers' earlier first utterances and new active days; return the batch records' logs."""
        earliest: dict[Customer, tuple[FirstUtterance, StreamRecord]] = {}
        members: dict[Customer, list[RecordId]] = defaultdict(list)
        visits: dict[Customer, dict[int, tuple[int, StreamRecord]]] = defaultdict(dict)
        for position, record in enumerate(batch):
            candidate = FirstUtterance.of(record.event)
            customer = record.event.customer
            if candidate is None or customer is None:
                continue
            who = (record.event.skill_id, record.event.stage, customer)
            members[who].append(record.id)
            visits[who].setdefault(day_of(record.event.timestamp_ms), (position, record))
            known = earliest.get(who)
            if known is None or candidate.order < known[0].order:
                earliest[who] = (candidate, record)
        moves: dict[RecordId, list[Move]] = defaultdict(list)
        acts: dict[RecordId, list[Act]] = defaultdict(list)
        failed: set[RecordId] = set()
        if not earliest:
            return moves, acts, failed
        in_batch = {r.id for r in batch}
        try:
            states = self.customers.get_many(earliest)
        except _dynamodb_errors() as exc:
            _warn_failed("customer read", exc)
            for who in earliest:
                failed.update(members[who])
            return moves, acts, failed
        now_ms = int(self._clock() * 1000)

        def settle(who: Customer) -> tuple[CustomerState | None, WriteCounts]:
            counts = WriteCounts()
            candidate, record = earliest[who]
            return self._settle(states[who], candidate, record, visits[who], now_ms, counts), counts

        for who, (state, counts) in zip(earliest, self._each(settle, earliest), strict=True):
            result.add(counts)
            if state is None:
                failed.update(members[who])  # any of them may own a logged move of this customer
                continue
            for move in state.moves:
                if (move.source, move.seq) in in_batch:
                    moves[(move.source, move.seq)].append(move)
            for act in state.acts:
                if (act.source, act.seq) in in_batch:
                    acts[(act.source, act.seq)].append(act)
        return moves, acts, failed

    def _settle(
        self,
        state: CustomerState,
        candidate: FirstUtterance,
        record: StreamRecord,
        visits: Mapping[int, tuple[int, StreamRecord]],
        now_ms: int,
        result: WriteCounts,
    ) -> CustomerState | None:
        """The customer's state after taking ``candidate`` (if earlier) and the batch's active days.

        ``visits`` maps each epoch day of the customer's utterances in the batch to the first of
        them (batch position, record): a new day's retention changes are that record's.
        """
        for _ in range(self.max_attempts):
            earlier = state.first is None or candidate.order < state.first.order
            known = set(state.days)
            new_days = [day for day in visits if day not in known]
            if not earlier and not new_days:
                return state
            moves = [m for m in state.moves if now_ms - m.at_ms < MOVE_RETENTION_MS]
            acts = [a for a in state.acts if now_ms - a.at_ms < MOVE_RETENTION_MS]
            if earlier:
                moves.append(Move(record.source, record.seq, now_ms, candidate, state.first))
            days = state.days
            if new_days:
                days = sorted(known.union(new_days))
                _, owner = min((visits[day] for day in new_days), key=lambda visit: visit[0])
                delta = tuple((d, k, v) for (d, k), v in retention_changes(state.days, days).items())
                acts.append(
                    Act(
                        owner.source,
                        owner.seq,
                        now_ms,
                        delta,
                        owner.event.locale or NO_LOCALE,
                        owner.event.release_key,
                    )
                )
            first = candidate if earlier else state.first
            updated = CustomerState(
                state.skill_id, state.stage, state.customer, first, moves, state.version, days, acts
            )
            try:
                try:
                    self.customers.put(updated)
                except VersionConflict:
                    result.conflicts += 1
                    state = self.customers.get(state.skill_id, state.stage, state.customer)
                    continue
            except _dynamodb_errors() as exc:
                _warn_failed("customer write", exc)
                return None
            result.customers_written += 1
            return updated
        _warn_failed("customer write", None)
        return None

    # --- rollups ------------------------------------------------------------------------------------

    def _apply_rollups(
        self,
        active: Sequence[StreamRecord],
        moves: Mapping[RecordId, list[Move]],
        acts: Mapping[RecordId, list[Act]],
        result: BatchResult,
    ) -> set[RecordId]:
        """Write every rollup the active records touch, once per part; return the records of failed items."""
        events: dict[RollupKey, list[StreamRecord]] = defaultdict(list)
        deltas: dict[RollupKey, list[tuple[StreamRecord, int]]] = defaultdict(list)
        counters: dict[RollupKey, list[Counted]] = defaultdict(list)
        keeps_retention = RETENTION_GRANULARITY in self.granularities
        for record in active:
            if keeps_retention:
                for act in acts.get(record.id, ()):
                    for day, counter, delta in act.changes:
                        key = retention_key(
                            record.event.skill_id, record.event.stage, day, act.locale, act.release
                        )
                        counters[key].append((record, counter, delta))
            for key in rollup_keys(record.event, self.granularities):
                events[key].append(record)
            skill_id, stage = record.event.skill_id, record.event.stage
            for move in moves.get(record.id, ()):
                for key in new_customer_keys(skill_id, stage, move.to, self.granularities):
                    deltas[key].append((record, 1))
                if move.from_ is not None:
                    for key in new_customer_keys(skill_id, stage, move.from_, self.granularities):
                        deltas[key].append((record, -1))
        keys = list(events.keys() | deltas.keys() | counters.keys())
        contributions = {
            key: Contributions(events.get(key, []), deltas.get(key, []), counters.get(key, []))
            for key in keys
        }
        try:
            # The heads first: whether a rollup is split decides which other parts the batch needs.
            heads = self.rollups.get_many((key, 0) for key in keys)
            wanted = [
                (key, part)
                for key in keys
                for part in sorted(contributions[key].parts(self._parts_of(heads.get((key, 0)))) - {0})
            ]
            others = self.rollups.get_many(wanted) if wanted else {}
        except _dynamodb_errors() as exc:
            _warn_failed("rollup read", exc)
            return {r.id for r in active}

        def write(key: RollupKey) -> tuple[set[RecordId], WriteCounts]:
            counts = WriteCounts()
            head = heads.get((key, 0))
            return self._write_rollup(key, head, others, contributions[key], counts), counts

        failed: set[RecordId] = set()
        for not_written, counts in self._each(write, keys):
            result.add(counts)
            failed.update(not_written)
        return failed

    def _parts_of(self, head: StoredRollup | None) -> int:
        """How many parts a rollup is in, from its head (``None``: not written yet)."""
        if head is not None:
            return head.parts
        return self.rollup_parts if self.split == "always" else 1

    def _splits(self, head: StoredRollup, contributions: Contributions) -> bool:
        """Whether an unsplit head is to be split now.

        When its writes race with parallel batches' (conflicts), or when it is large and this
        batch's records would write only a small share of its parts (``SPLIT_NARROW``).
        """
        if self.rollup_parts < 2:
            return False
        if self.split == "always":
            return True
        if head.conflicts >= SPLIT_MIN_CONFLICTS and head.conflicts * SPLIT_SHARE >= head.writes:
            return True
        touched = len(contributions.parts(self.rollup_parts))
        return touched * SPLIT_NARROW <= self.rollup_parts and head.size > 2048 * touched

    def _write_rollup(
        self,
        key: RollupKey,
        head: StoredRollup | None,
        others: Mapping[tuple[RollupKey, int | None], StoredRollup],
        contributions: Contributions,
        counts: WriteCounts,
    ) -> set[RecordId]:
        """Apply a rollup's contributions above its watermarks: the head, then any other parts.

        Returns the records of the parts that could not be written. While the rollup is one item
        everything goes to the head; a split (``parts`` on the head) is written to the head
        before any other part, and is never undone, so a record's part never changes after it.
        """
        split_now = False  # split in this call, not yet stored
        redone = 0  # this call's writes of the head that met a conflict: stored with its next write
        for _ in range(self.max_attempts):
            if head is None:
                # "always": a missing head is a split one, written once a record of its own part comes
                # (the layout of fixed parts, whose heads carry no ``parts``: LEGACY_ROLLUP_PARTS)
                head = StoredRollup(key, new_rollup(), part=0, parts=self._parts_of(None))
            if head.parts == 1 and contributions.fresh(head.watermarks).empty:
                break  # all of it applied before (a redelivery): nothing to write, nothing to split
            if head.parts == 1 and self._splits(head, contributions):
                head.parts, split_now = self.rollup_parts, True
            mine = contributions if head.parts == 1 else contributions.only(0, head.parts)
            fresh = mine.fresh(head.watermarks)
            if fresh.empty and not split_now:
                break  # nothing new for the head: a redelivery, or records of other parts only
            fresh.apply_to(head)
            if head.parts == 1:
                head.writes += 1
            try:
                try:
                    self.rollups.put(head)
                except VersionConflict:
                    counts.conflicts += 1
                    redone += 1
                    head = self.rollups.get(key, 0)
                    if head is not None and head.parts == 1:
                        head.conflicts += redone
                    split_now = False
                    continue
            except _dynamodb_errors() as exc:
                _warn_failed("rollup write", exc)
                if head is None or split_now or head.parts == 1:
                    return contributions.records()  # no split stored: no other part may be written
                return mine.records() | self._write_other_parts(key, head, others, contributions, counts)
            counts.rollups_written += 1
            split_now = False
            break
        else:
            _warn_failed("rollup write", None)
            if split_now or head is None or head.parts == 1:
                return contributions.records()  # the split is not stored: no other part may be written
            failed = contributions.only(0, head.parts).records()
            return failed | self._write_other_parts(key, head, others, contributions, counts)
        if head.parts == 1:
            return set()
        return self._write_other_parts(key, head, others, contributions, counts)

    def _write_other_parts(
        self,
        key: RollupKey,
        head: StoredRollup,
        others: Mapping[tuple[RollupKey, int | None], StoredRollup],
        contributions: Contributions,
        counts: WriteCounts,
    ) -> set[RecordId]:
        """Write the parts other than the head of a split rollup; return the records of failed ones."""
        failed: set[RecordId] = set()
        head_marks = head.watermarks  # a record applied before the split is marked in the head
        for part in sorted(contributions.parts(head.parts) - {0}):
            mine = contributions.only(part, head.parts)
            current = others.get((key, part))
            for _ in range(self.max_attempts):
                if current is None:
                    current = StoredRollup(key, new_rollup(), part=part)
                fresh = mine.fresh(current.watermarks, head_marks)
                if fresh.empty:
                    break
                fresh.apply_to(current)
                try:
                    try:
                        self.rollups.put(current)
                    except VersionConflict:
                        counts.conflicts += 1
                        current = self.rollups.get(key, part)
                        # A rebuild may have closed sources in the head meanwhile.
                        fresh_head = self.rollups.get(key, 0)
                        head_marks = fresh_head.watermarks if fresh_head is not None else head_marks
                        continue
                except _dynamodb_errors() as exc:
                    _warn_failed("rollup write", exc)
                    failed |= mine.records()
                    break
                counts.rollups_written += 1
                break
            else:
                _warn_failed("rollup write", None)
                failed |= mine.records()
        return failed


Counted = tuple[StreamRecord, str, int]  # a record's change of one retention counter


@dataclass(frozen=True, slots=True)
class Contributions:
    """What a batch's records bring one rollup: events, new-customer deltas, retention changes."""

    events: Sequence[StreamRecord]
    deltas: Sequence[tuple[StreamRecord, int]]
    counters: Sequence[Counted]

    def records(self) -> set[RecordId]:
        return {
            *(r.id for r in self.events),
            *(r.id for r, _ in self.deltas),
            *(c[0].id for c in self.counters),
        }

    @property
    def empty(self) -> bool:
        return not self.events and not self.deltas and not self.counters

    def parts(self, parts: int) -> set[int]:
        """The parts these contributions write in a rollup split into ``parts``."""
        return {rollup_part(source, parts) for source, _ in self.records()}

    def only(self, part: int, parts: int) -> Contributions:
        """The contributions of records that write ``part`` of a rollup split into ``parts``."""

        def keep(record: StreamRecord) -> bool:
            return rollup_part(record.source, parts) == part

        return Contributions(
            [r for r in self.events if keep(r)],
            [d for d in self.deltas if keep(d[0])],
            [c for c in self.counters if keep(c[0])],
        )

    def fresh(self, marks: Mapping[str, int], also: Mapping[str, int] | None = None) -> Contributions:
        """The contributions above the watermarks (``also``: the head's, for a part other than it)."""
        also = also or {}

        def new(record: StreamRecord) -> bool:
            return record.seq > max(marks.get(record.source, -1), also.get(record.source, -1))

        return Contributions(
            [r for r in self.events if new(r)],
            [d for d in self.deltas if new(d[0])],
            [c for c in self.counters if new(c[0])],
        )

    def apply_to(self, stored: StoredRollup) -> None:
        """Add these contributions to ``stored`` and raise its watermarks to their records."""
        for record in self.events:
            apply_event(stored.rollup, stored.key, record.event)
        stored.rollup.new_customers += sum(delta for _, delta in self.deltas)
        retention = stored.rollup.retention
        for _, counter, delta in self.counters:
            total = retention.get(counter, 0) + delta
            if total:
                retention[counter] = total
            else:
                retention.pop(counter, None)
        marks = stored.watermarks
        for record in (*self.events, *(r for r, _ in self.deltas), *(c[0] for c in self.counters)):
            if record.seq > marks.get(record.source, -1):
                marks[record.source] = record.seq


def _dynamodb_errors() -> tuple[type[Exception], ...]:
    """What a DynamoDB call raises once botocore's own retries are spent (imported on first use)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _warn_failed(step: str, exc: Exception | None) -> None:
    from alexa_skill_metrics.storage.rollups import error_code

    telemetry.warn(
        "aggregator step failed; its records are reported for redelivery",
        step=step,
        error=type(exc).__name__ if exc is not None else "TooManyConflicts",
        error_code=error_code(exc) if exc is not None else None,
    )
