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

One write per touched item per batch
    Contributions are grouped by rollup item: a record contributes to the part of each rollup
    that its event write shard belongs to (``keys.rollup_part``), so parallel batches of other
    stream shards mostly write other items, and an item's watermarks name only its part's
    write shards. The touched items are read with one strongly consistent BatchGetItem per
    100, and each item is written once with a ``PutItem`` conditioned on the ``ver`` it was read
    at (optimistic locking: another writer, e.g. a parallel batch of another shard of the same
    part, makes it re-read that one item and redo it, a bounded number of times). A replayed
    batch writes nothing: every contribution is under the marks.

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
    * Day rollup parts carry up to about a hundred watermarks (24 hours x the 4 write shards
      of a part, plus session ends and new-customer moves from neighbouring hours), about 40
      bytes each.
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
from alexa_skill_metrics.storage.rollups import RollupStore, StoredRollup, VersionConflict, analytics_client

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.model import Event, RollupKey

DEFAULT_MAX_ATTEMPTS = 5  # conditional-write attempts per item before its records are failed
DEFAULT_CONCURRENCY = 16  # item writes in flight per batch (analytics_client pools as many connections)
_T = TypeVar("_T")
_R = TypeVar("_R")
RecordId = tuple[str, int]  # (watermark key of the event partition key, sequence number)
Part = tuple["RollupKey", int]  # a rollup and the part its records write (keys.rollup_part)


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
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
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
        """Write every rollup the active records touch, once each; return the records of failed items."""
        events: dict[Part, list[StreamRecord]] = defaultdict(list)
        deltas: dict[Part, list[tuple[StreamRecord, int]]] = defaultdict(list)
        counters: dict[Part, list[Counted]] = defaultdict(list)
        keeps_retention = RETENTION_GRANULARITY in self.granularities
        for record in active:
            part = rollup_part(record.source)
            if keeps_retention:
                for act in acts.get(record.id, ()):
                    for day, counter, delta in act.changes:
                        key = retention_key(
                            record.event.skill_id, record.event.stage, day, act.locale, act.release
                        )
                        counters[(key, part)].append((record, counter, delta))
            for key in rollup_keys(record.event, self.granularities):
                events[(key, part)].append(record)
            skill_id, stage = record.event.skill_id, record.event.stage
            for move in moves.get(record.id, ()):
                for key in new_customer_keys(skill_id, stage, move.to, self.granularities):
                    deltas[(key, part)].append((record, 1))
                if move.from_ is not None:
                    for key in new_customer_keys(skill_id, stage, move.from_, self.granularities):
                        deltas[(key, part)].append((record, -1))
        items = list(events.keys() | deltas.keys() | counters.keys())
        failed: set[RecordId] = set()
        try:
            stored = self.rollups.get_many(items)
        except _dynamodb_errors() as exc:
            _warn_failed("rollup read", exc)
            return {r.id for r in active}

        def write(item: Part) -> tuple[Contributions, bool, WriteCounts]:
            counts = WriteCounts()
            contributions = Contributions(events.get(item, []), deltas.get(item, []), counters.get(item, []))
            return contributions, self._write_rollup(item, stored.get(item), contributions, counts), counts

        for contributions, written, counts in self._each(write, items):
            result.add(counts)
            if not written:
                failed.update(contributions.records())
        return failed

    def _write_rollup(
        self, key: Part, current: StoredRollup | None, contributions: Contributions, result: WriteCounts
    ) -> bool:
        """Apply the contributions above the item's watermarks in one conditional write; redo on conflict."""
        for _ in range(self.max_attempts):
            if current is None:
                current = StoredRollup(key[0], new_rollup(), part=key[1])
            marks = current.watermarks
            fresh = [r for r in contributions.events if r.seq > marks.get(r.source, -1)]
            fresh_deltas = [(r, d) for r, d in contributions.deltas if r.seq > marks.get(r.source, -1)]
            fresh_counters = [c for c in contributions.counters if c[0].seq > marks.get(c[0].source, -1)]
            if not fresh and not fresh_deltas and not fresh_counters:
                return True  # all of it applied before: a redelivery
            for record in fresh:
                apply_event(current.rollup, key[0], record.event)
            current.rollup.new_customers += sum(delta for _, delta in fresh_deltas)
            retention = current.rollup.retention
            for _, counter, delta in fresh_counters:
                total = retention.get(counter, 0) + delta
                if total:
                    retention[counter] = total
                else:
                    retention.pop(counter, None)
            for record in (*fresh, *(r for r, _ in fresh_deltas), *(c[0] for c in fresh_counters)):
                if record.seq > marks.get(record.source, -1):
                    marks[record.source] = record.seq
            try:
                try:
                    self.rollups.put(current)
                except VersionConflict:
                    result.conflicts += 1
                    current = self.rollups.get(*key)
                    continue
            except _dynamodb_errors() as exc:
                _warn_failed("rollup write", exc)
                return False
            result.rollups_written += 1
            return True
        _warn_failed("rollup write", None)
        return False


Counted = tuple[StreamRecord, str, int]  # a record's change of one retention counter


@dataclass(frozen=True, slots=True)
class Contributions:
    """What a batch's records bring one rollup item: events, new-customer deltas, retention changes."""

    events: Sequence[StreamRecord]
    deltas: Sequence[tuple[StreamRecord, int]]
    counters: Sequence[Counted]

    def records(self) -> set[RecordId]:
        return {
            *(r.id for r in self.events),
            *(r.id for r, _ in self.deltas),
            *(c[0].id for c in self.counters),
        }


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
