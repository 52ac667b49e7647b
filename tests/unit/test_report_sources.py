"""Rollup sources: the recomputation from raw events, and ``ListSource``, the fake other tests use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alexa_skill_metrics.model import ALL_INTENTS, Event, Outcome, Rollup, RollupKey
from alexa_skill_metrics.reporting.plan import Span
from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups, RollupSource
from alexa_skill_metrics.sketches import ExactCustomers, ExactLatency

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000
H = 3_600_000
D = 86_400_000


class ListSource(RollupSource):
    """Serves given rollups like the store does, and remembers what it was asked for."""

    exact = True

    def __init__(self, rollups: Iterable[tuple[RollupKey, Rollup]]) -> None:
        self.rollups = list(rollups)
        self.asked: list[tuple[Span, bool, str | None]] = []
        self.read = 0

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
        found = []
        for span in spans:
            self.asked.append((span, intents, locale))
            for key, rollup in self.rollups:
                if (
                    key.skill_id == skill_id
                    and key.stage == stage
                    and span.holds(key.granularity, key.bucket_ms)
                    and (key.intent != ALL_INTENTS) == intents
                    and (locale is None or key.locale == locale)
                    and (release is None or key.release == release)
                ):
                    found.append((key, copy_of(rollup)))
        self.read += len(found)
        return found

    @property
    def items_read(self) -> int:
        return self.read


def copy_of(rollup: Rollup) -> Rollup:
    fresh = Rollup(customers=ExactCustomers(), latency=ExactLatency())
    fresh.merge(rollup)
    return fresh


def utterance(
    at_ms: int,
    *,
    customer: str = "c1",
    session: str = "s1",
    session_start_ms: int | None = None,
    intent: str | None = None,
    new: bool = False,
    end: bool | None = False,
    locale: str = "en-US",
    stage: str = "live",
    previous_ms: int | None = None,
) -> Event:
    return Event(
        skill_id=SKILL,
        request_id=f"r{at_ms}{customer}",
        request_type="IntentRequest" if intent else "LaunchRequest",
        timestamp_ms=at_ms,
        received_ms=at_ms,
        customer=customer,
        session_id=session,
        intent=intent,
        locale=locale,
        new_session=new,
        should_end_session=end,
        handler_ms=5.0,
        stage=stage,
        session_start_ms=session_start_ms if session_start_ms is not None else (at_ms if new else None),
        previous_ms=previous_ms,
        outcome=Outcome.RESPONSE,
    )


def session_ended(at_ms: int, start_ms: int, previous_ms: int, reason: str = "USER_INITIATED") -> Event:
    return Event(
        skill_id=SKILL,
        request_id=f"end{at_ms}",
        request_type="SessionEndedRequest",
        timestamp_ms=at_ms,
        received_ms=at_ms,
        customer="c1",
        session_id="s1",
        locale="en-US",
        new_session=False,
        end_reason=reason,
        session_start_ms=start_ms,
        previous_ms=previous_ms,
        last_intent="LaunchRequest",
    )


def test_session_ending_after_the_range_is_counted_with_its_start() -> None:
    # Given a session launched at 10:59 that the customer ends at 11:01
    start = JAN5 + 10 * H + 59 * 60_000
    events = [utterance(start, new=True), session_ended(start + 120_000, start, start)]
    source = RecomputedRollups(EventList(events))
    # When the hour 10:00-11:00 is recomputed
    ((key, rollup),) = source.fetch(SKILL, "live", [Span("PT1H", JAN5 + 10 * H, JAN5 + 11 * H)])
    # Then the end (read from the tail after the range) belongs to the session's start hour
    assert key.bucket_ms == JAN5 + 10 * H
    assert (rollup.sessions_started, rollup.session_ends, rollup.open_sessions) == (1, {"user_ended": 1}, {})


def test_new_customers_are_decided_from_the_start_of_the_recording() -> None:
    # Given a customer seen on day 1 and again on day 2
    events = [utterance(JAN5 + H, new=True), utterance(JAN5 + D + H, new=True, session="s2")]
    day2 = [Span("P1D", JAN5 + D, JAN5 + 2 * D)]
    # When day 2 is recomputed from day 2's events only, the customer looks new
    ((_, alone),) = RecomputedRollups(EventList(events)).fetch(SKILL, "live", day2, locale="en-US")
    # But from the start of the recording, they are not
    ((_, full),) = RecomputedRollups(EventList(events), since_ms=JAN5).fetch(
        SKILL, "live", day2, locale="en-US"
    )
    assert (alone.new_customers, full.new_customers) == (1, 0)
    assert full.customers.count() == 1


def test_filters_stage_locale_and_intents() -> None:
    events = [
        utterance(JAN5 + H, new=True, intent="RollDiceIntent"),
        utterance(JAN5 + H, customer="c2", session="s2", new=True, locale="de-DE"),
        utterance(JAN5 + H, customer="c3", session="s3", new=True, stage="development"),
    ]
    source = RecomputedRollups(EventList(events))
    span = [Span("PT1H", JAN5 + H, JAN5 + 2 * H)]
    live = source.fetch(SKILL, "live", span)
    assert sorted(k.locale for k, _ in live) == ["de-DE", "en-US"]
    assert [k.locale for k, _ in source.fetch(SKILL, "live", span, locale="de-DE")] == ["de-DE"]
    assert sorted(k.intent for k, _ in source.fetch(SKILL, "live", span, intents=True)) == [
        "LaunchRequest",  # the de-DE launch
        "RollDiceIntent",
    ]
    assert [r.customers.count() for _, r in source.fetch(SKILL, "development", span)] == [1]
    assert source.exact and source.items_read == 12  # 3 events, read once per fetch


def test_only_buckets_of_the_spans_are_returned() -> None:
    events = [utterance(JAN5 + h * H, customer=f"c{h}", session=f"s{h}", new=True) for h in range(6)]
    spans = [Span("PT1H", JAN5 + H, JAN5 + 2 * H), Span("P1D", JAN5, JAN5 + D)]
    found = RecomputedRollups(EventList(events)).fetch(SKILL, "live", spans)
    # (the day's retention counters come in the day rollup of the locale that brought them)
    assert [(k.granularity, k.bucket_ms - JAN5, k.locale) for k, _ in found] == [
        ("P1D", 0, "en-US"),
        ("PT1H", H, "en-US"),
    ]


def test_list_source_serves_what_it_holds() -> None:
    r = Rollup(customers=ExactCustomers(), latency=ExactLatency(), utterances=2)
    source = ListSource([(RollupKey(SKILL, "live", "PT1H", JAN5, "en-US"), r)])
    assert [x.utterances for _, x in source.fetch(SKILL, "live", [Span("PT1H", JAN5, JAN5 + H)])] == [2]
    assert source.fetch(SKILL, "live", [Span("PT1H", JAN5 + H, JAN5 + 2 * H)]) == []
