"""Where reports get their rollups: stored rollups, or a recomputation from raw events.

Both give the same ``(RollupKey, Rollup)`` pairs for the same spans, so the same view functions
turn either into a report: the stored path is what the API serves (cost: one item per bucket,
locale and intent read), the recomputed one is the reference the tests hold it to and the way
to rebuild reports after a change (cost: every event of the range).

Example
-------
>>> from alexa_skill_metrics.model import Event
>>> from alexa_skill_metrics.reporting.plan import Span
>>> hour = 1_767_607_200_000
>>> launch = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="LaunchRequest",
...                timestamp_ms=hour, received_ms=hour, customer="c1", locale="en-US")
>>> source = RecomputedRollups(EventList([launch]))
>>> [(k.granularity, r.utterances) for k, r in source.fetch("amzn1.ask.skill.1", "live",
...                                                          [Span("PT1H", hour, hour + 3_600_000)])]
[('PT1H', 1)]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from alexa_skill_metrics.model import ALL_INTENTS, ValueSighting
from alexa_skill_metrics.periods import HOUR_MS

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Event, Rollup, RollupKey
    from alexa_skill_metrics.reporting.plan import Span
    from alexa_skill_metrics.storage.rollups import RollupStore

# Events after a range can still end (or keep open) sessions that started inside it; Alexa closes
# a silent session within seconds, so two hours covers every realistic session.
SESSION_TAIL_MS = 2 * HOUR_MS


class RollupSource(ABC):
    """Rollups of one skill and stage for a list of spans; ``exact`` says which summaries they hold."""

    exact: bool = False

    @abstractmethod
    def fetch(
        self,
        skill_id: str,
        stage: str,
        spans: Sequence[Span],
        *,
        intents: bool = False,
        locale: str | None = None,
        release: str | None = None,
    ) -> list[tuple[RollupKey, Rollup]]:
        """The rollups of every bucket of ``spans``: ``ALL_INTENTS`` ones, or per-intent ones when
        ``intents``; one locale or all; one release or all. Buckets without traffic may be absent."""

    @property
    @abstractmethod
    def items_read(self) -> int:
        """DynamoDB items read so far (rollups, or raw events for a recomputation)."""

    def slot_values(
        self, skill_id: str, stage: str, start_ms: int, end_ms: int, now_ms: int
    ) -> list[ValueSighting]:
        """Unresolved values of opted-in slots said in ``[start_ms, end_ms)`` (none by default)."""
        return []


class StoredRollups(RollupSource):
    """Rollups the aggregator stored: one key-range Query per span."""

    exact = False

    def __init__(self, store: RollupStore) -> None:
        self.store = store
        self.values_read = 0  # value index items read (``slot_values``)

    def fetch(
        self,
        skill_id: str,
        stage: str,
        spans: Sequence[Span],
        *,
        intents: bool = False,
        locale: str | None = None,
        release: str | None = None,
    ) -> list[tuple[RollupKey, Rollup]]:
        found: list[tuple[RollupKey, Rollup]] = []
        for span in spans:
            found += self.store.query(
                skill_id, stage, span.granularity, span.start_ms, span.end_ms, intents=intents, locale=locale
            )
        if release is not None:  # release rollups share the locale's key range: kept apart after reading
            found = [(key, rollup) for key, rollup in found if key.release == release]
        return found

    @property
    def items_read(self) -> int:
        return self.store.items_read

    def slot_values(
        self, skill_id: str, stage: str, start_ms: int, end_ms: int, now_ms: int
    ) -> list[ValueSighting]:
        """From the value index: one Query per day, values whose raw event has expired left out."""
        from alexa_skill_metrics.storage.slot_values import ValueStore

        store = ValueStore(self.store.table_name, self.store.client)
        found = list(store.read(skill_id, stage, start_ms, end_ms, now_ms))
        self.values_read += store.items_read
        return found


class EventFeed(Protocol):
    """Raw events of a skill by time: ``storage.events.EventReader`` or an in-memory ``EventList``."""

    @property
    def items_read(self) -> int: ...

    def read(self, skill_id: str, start_ms: int, end_ms: int) -> Iterable[Event]: ...


class EventList:
    """Events held in memory, served like the table serves them."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = list(events)
        self.items_read = 0

    def read(self, skill_id: str, start_ms: int, end_ms: int) -> Iterable[Event]:
        found = [e for e in self.events if e.skill_id == skill_id and start_ms <= e.timestamp_ms < end_ms]
        self.items_read += len(found)
        return found


class RecomputedRollups(RollupSource):
    """Rollups folded straight from raw events, with exact summaries (the reference).

    Parameters
    ----------
    feed:
        Where events come from.
    since_ms:
        Start of the recording, from which new customers are decided ("first utterance ever").
        By default the start of each fetched range: a customer first seen in it counts as new.
    session_tail_ms:
        How long after a range events are still read, for the ends of sessions started in it.
    """

    exact = True

    def __init__(
        self, feed: EventFeed, *, since_ms: int | None = None, session_tail_ms: int = SESSION_TAIL_MS
    ) -> None:
        self.feed = feed
        self.since_ms = since_ms
        self.session_tail_ms = session_tail_ms

    def fetch(
        self,
        skill_id: str,
        stage: str,
        spans: Sequence[Span],
        *,
        intents: bool = False,
        locale: str | None = None,
        release: str | None = None,
    ) -> list[tuple[RollupKey, Rollup]]:
        from alexa_skill_metrics.aggregation.rollup import fold

        if not spans:
            return []
        start = min(span.start_ms for span in spans)
        if self.since_ms is not None:
            start = min(start, self.since_ms)
        end = max(span.end_ms for span in spans) + self.session_tail_ms
        events = (e for e in self.feed.read(skill_id, start, end) if e.stage == stage)
        granularities = sorted({span.granularity for span in spans})
        folded = fold(events, exact=True, granularities=granularities)
        return sorted(
            (
                (key, rollup)
                for key, rollup in folded.items()
                if (key.intent != ALL_INTENTS) == intents
                and (locale is None or key.locale == locale)
                and (release is None or key.release == release)
                and any(span.holds(key.granularity, key.bucket_ms) for span in spans)
            ),
            key=lambda pair: (
                pair[0].granularity,
                pair[0].bucket_ms,
                pair[0].locale,
                pair[0].intent,
                pair[0].release,
            ),
        )

    @property
    def items_read(self) -> int:
        return self.feed.items_read

    def slot_values(
        self, skill_id: str, stage: str, start_ms: int, end_ms: int, now_ms: int
    ) -> list[ValueSighting]:
        """Straight from the raw events (the reference the value index is held to)."""
        events = self.feed.read(skill_id, start_ms, end_ms)
        return [s for e in events if e.stage == stage and e.uv for s in ValueSighting.of_event(e)]
