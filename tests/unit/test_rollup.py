"""The pure fold: METRICS.md's rules, event by event (no I/O)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from alexa_skill_metrics.aggregation.rollup import FirstUtterance, fold, rollup_keys
from alexa_skill_metrics.model import ALL_INTENTS, NO_LOCALE, Event, Outcome, Rollup, RollupKey
from alexa_skill_metrics.periods import floor_ms

SKILL = "amzn1.ask.skill.1"
T0 = 1_767_607_200_000  # 2026-01-05T10:00:00Z
MIN = 60_000


def ev(request_type: str = "IntentRequest", at: int = T0, **fields: Any) -> Event:
    defaults: dict[str, Any] = {
        "skill_id": SKILL, "request_id": f"r-{at}-{request_type}-{fields.get('intent')}",
        "request_type": request_type, "timestamp_ms": at, "received_ms": at + 40, "customer": "c1",
        "session_id": "s1", "locale": "en-US", "handler_ms": 10.0,
    }  # fmt: skip
    if request_type in ("AlexaSkillEvent.SkillEnabled", "CanFulfillIntentRequest"):
        defaults.update(session_id=None, handler_ms=None)
    defaults.update(fields)
    return Event(**defaults)


def start(at: int = T0, **fields: Any) -> Event:
    values = {"new_session": True, "should_end_session": False, "session_start_ms": at, **fields}
    return ev("LaunchRequest", at, **values)


def turn(at: int, started: int, previous: int, last: str, **fields: Any) -> Event:
    values = {
        "intent": "RollDiceIntent", "new_session": False, "should_end_session": False,
        "session_start_ms": started, "previous_ms": previous, "last_intent": last, **fields,
    }  # fmt: skip
    return ev("IntentRequest", at, **values)


def ended(at: int, started: int, previous: int, last: str, reason: str | None) -> Event:
    return ev("SessionEndedRequest", at, new_session=False, end_reason=reason, session_start_ms=started,
              previous_ms=previous, last_intent=last, handler_ms=None)  # fmt: skip


def key(granularity: str, at: int, intent: str = ALL_INTENTS, locale: str = "en-US") -> RollupKey:
    return RollupKey(SKILL, "live", granularity, floor_ms(at, granularity), locale, intent)


def test_session_figures_belong_to_the_bucket_where_it_started() -> None:
    # Given a session started at 10:59, answered at 11:00:30, ended by the user at 11:02
    t1 = T0 + 59 * MIN
    events = [
        start(t1),
        turn(t1 + 90_000, t1, t1, "LaunchRequest"),
        ended(t1 + 3 * MIN, t1, t1 + 90_000, "RollDiceIntent", "USER_INITIATED"),
    ]
    # When folded
    rollups = fold(events, exact=True)
    # Then the 10:00 hour holds the start, the end and the drop-off; nothing stays open
    ten = rollups[key("PT1H", t1)]
    assert (ten.sessions_started, ten.session_ends, ten.open_sessions) == (1, {"user_ended": 1}, {})
    assert ten.drop_off == {"RollDiceIntent": 1}
    # And the 11:00 hour has the later requests, but no session figures
    eleven = rollups[key("PT1H", t1 + 90_000)]
    assert eleven.requests_by_type == {"IntentRequest": 1, "SessionEndedRequest": 1}
    assert (eleven.sessions_started, eleven.session_ends, eleven.open_sessions, eleven.drop_off) == (
        0,
        {},
        {},
        {},
    )
    assert (ten.utterances, eleven.utterances, eleven.responded, eleven.prompts) == (1, 1, 1, 1)
    # And per-intent rollups never carry session figures or request types
    intent = rollups[key("PT1H", t1 + 90_000, "RollDiceIntent")]
    assert (intent.utterances, intent.requests_by_type, intent.sessions_started) == (1, {}, 0)


def test_open_sessions_follow_the_last_answered_utterance() -> None:
    # Given a session started at 10:00 and answered again at 10:07, still open
    events = [start(T0), turn(T0 + 7 * MIN, T0, T0, "LaunchRequest")]
    rollup = fold(events, exact=True)[key("PT15M", T0)]
    # Then it is open at the minute of 10:07, active for an hour after it, then incomplete
    assert rollup.open_sessions == {(T0 + 7 * MIN) // MIN: 1}
    assert rollup.open_split(T0 + 60 * MIN) == (1, 0)
    assert rollup.open_split(T0 + 68 * MIN) == (0, 1)


def test_skill_ended_session_and_start_that_ends_at_once() -> None:
    # Given one session ended by the skill on its second turn, and one launch that ended at once
    a = [
        start(T0),
        turn(T0 + MIN, T0, T0, "LaunchRequest", intent="AMAZON.StopIntent", should_end_session=True),
    ]
    b = [start(T0 + 2 * MIN, session_id="s2", request_id="b", should_end_session=True)]
    rollup = fold([*a, *b], exact=True)[key("P1D", T0)]
    # Then both ended skill_ended, with no drop-off and nothing open
    assert (rollup.sessions_started, rollup.session_ends, rollup.open_sessions, rollup.drop_off) == (
        2, {"skill_ended": 2}, {}, {},
    )  # fmt: skip
    assert rollup.prompts == 1  # the launch that kept the microphone open


def test_escaped_utterance_is_a_failure_and_the_error_end_closes_the_session() -> None:
    # Given a turn whose exception escaped, then Alexa's SessionEndedRequest ERROR with the stamp
    # of the last reply (the launch)
    escaped = turn(T0 + MIN, T0, T0, "LaunchRequest", intent="CheckScoreIntent", outcome=Outcome.ESCAPED,
                   should_end_session=None)  # fmt: skip
    events = [start(T0), escaped, ended(T0 + MIN + 900, T0, T0, "LaunchRequest", "ERROR")]
    rollup = fold(events, exact=True)[key("PT1H", T0)]
    # Then the escaped turn is a failed utterance that changed no session figure, and the
    # session ended failed after the launch
    assert (rollup.utterances, rollup.failed_utterances) == (2, 1)
    assert (rollup.session_ends, rollup.open_sessions, rollup.drop_off) == (
        {"failed": 1},
        {},
        {"LaunchRequest": 1},
    )


def test_handled_exception_is_a_failed_utterance_that_still_answers() -> None:
    handled = turn(T0 + MIN, T0, T0, "LaunchRequest", outcome=Outcome.HANDLED)
    rollup = fold([start(T0), handled], exact=True)[key("PT1H", T0)]
    assert (rollup.failed_utterances, rollup.prompts, rollup.open_sessions) == (1, 1, {(T0 + MIN) // MIN: 1})


def test_session_whose_first_utterance_escaped_ends_failed_at_its_start() -> None:
    # Given a launch that escaped: the SessionEndedRequest that follows carries no stamp
    launch = start(T0, outcome=Outcome.ESCAPED, should_end_session=None)
    untracked_end = ev(
        "SessionEndedRequest", T0 + 900, new_session=False, end_reason="ERROR", handler_ms=None
    )
    rollup = fold([launch, untracked_end], exact=True)[key("PT1H", T0)]
    # Then the session started and ended failed; nothing stays open for ever
    assert (rollup.sessions_started, rollup.session_ends, rollup.open_sessions) == (1, {"failed": 1}, {})
    assert rollup.drop_off == {"unknown": 1}
    assert rollup.failed_utterances == 1 and rollup.prompts == 0


def test_untracked_session_counts_utterances_but_no_session_figures() -> None:
    # Given a session the recorder joined mid-way (no stamp): a turn and its end
    events = [
        ev("IntentRequest", T0, intent="RollDiceIntent", new_session=False, should_end_session=False),
        ev("SessionEndedRequest", T0 + MIN, new_session=False, end_reason="USER_INITIATED", handler_ms=None),
    ]
    rollup = fold(events, exact=True)[key("PT1H", T0)]
    assert (rollup.utterances, rollup.tracked_utterances, rollup.responded) == (1, 0, 0)
    assert (rollup.sessions_started, rollup.session_ends, rollup.open_sessions) == (0, {}, {})


def test_skill_events_and_other_requests_count_by_type_only() -> None:
    # Given a skill enablement (no locale, a customer) and a CanFulfillIntentRequest in a new session
    enabled = ev("AlexaSkillEvent.SkillEnabled", T0, locale=None)
    cfir = ev("CanFulfillIntentRequest", T0, session_id="s9", new_session=True, session_start_ms=None)
    rollups = fold([enabled, cfir], exact=True)
    # Then the enablement counts in the no-locale rollup, with no customer, utterance or session
    skill_event = rollups[key("PT1H", T0, locale=NO_LOCALE)]
    assert (skill_event.enablements, skill_event.customers.count(), skill_event.new_customers) == (1, 0, 0)
    assert skill_event.requests_by_type == {"AlexaSkillEvent.SkillEnabled": 1}
    other = rollups[key("PT1H", T0)]
    assert (other.requests_by_type, other.utterances, other.sessions_started) == (
        {"CanFulfillIntentRequest": 1},
        0,
        0,
    )
    assert all(k.intent == ALL_INTENTS for k in rollups)


def test_new_customer_counts_where_their_earliest_utterance_falls_whatever_the_order() -> None:
    # Given a customer's later utterance (10:40, de-DE) listed before their first (10:05, en-US, Help)
    later = ev("IntentRequest", T0 + 40 * MIN, intent="RollDiceIntent", locale="de-DE", request_id="z")
    first = ev("IntentRequest", T0 + 5 * MIN, intent="AMAZON.HelpIntent", request_id="y")
    rollups = fold([later, first], exact=True)
    # Then they are new in the 10:00 quarter, en-US, overall and for the help intent only
    new = {k: r.new_customers for k, r in rollups.items() if r.new_customers}
    assert new == {
        key(g, T0 + 5 * MIN, intent): 1
        for g in ("PT15M", "PT1H", "P1D")
        for intent in (ALL_INTENTS, "AMAZON.HelpIntent")
    }
    # And counted as a unique customer in both quarters
    assert rollups[key("PT15M", T0 + 40 * MIN, locale="de-DE")].customers.count() == 1


def test_new_customer_tie_is_broken_by_request_id_and_stages_are_separate() -> None:
    a = ev("IntentRequest", T0, intent="B", request_id="r2")
    b = ev("IntentRequest", T0, intent="A", request_id="r1")
    dev = ev("IntentRequest", T0, intent="B", request_id="r3", stage="development")
    rollups = fold([a, b, dev], exact=True)
    assert rollups[key("PT1H", T0, "A")].new_customers == 1
    assert rollups[key("PT1H", T0, "B")].new_customers == 0
    assert rollups[RollupKey(SKILL, "development", "PT1H", T0, "en-US", "B")].new_customers == 1
    assert FirstUtterance.of(b).order < FirstUtterance.of(a).order  # type: ignore[union-attr]


def test_granularities_can_be_restricted() -> None:
    rollups = fold([start(T0)], granularities=["P1D"])
    assert {k.granularity for k in rollups} == {"P1D"}
    assert {k.intent for k in rollups} == {ALL_INTENTS, "LaunchRequest"}


def test_sketch_fold_counts_like_the_exact_fold() -> None:
    events = [
        start(T0 + i * 1000, customer=f"c{i}", session_id=f"s{i}", request_id=f"r{i}") for i in range(300)
    ]
    sketch, exact = fold(events), fold(events, exact=True)
    assert sketch.keys() == exact.keys()
    for k in exact:
        assert sketch[k].customers.count() == exact[k].customers.count()
        assert sketch[k].latency.total() == exact[k].latency.total()
        assert sketch[k].new_customers == exact[k].new_customers


def test_rollup_keys_add_the_start_bucket_only_for_session_changes() -> None:
    late_end = ended(T0 + 2 * 3_600_000, T0, T0, "LaunchRequest", "USER_INITIATED")
    hours = sorted(k.bucket_ms for k in rollup_keys(late_end) if k.granularity == "PT1H")
    assert hours == [T0, T0 + 2 * 3_600_000]
    untracked = replace(late_end, session_start_ms=None)
    assert [k.bucket_ms for k in rollup_keys(untracked) if k.granularity == "PT1H"] == [T0 + 2 * 3_600_000]


def _random_sessions(rng: random.Random, count: int) -> list[Event]:
    """Sessions the way the recorder stamps them, with every ending METRICS.md names."""
    events: list[Event] = []
    for n in range(count):
        sid, t = f"s{n}", T0 + rng.randrange(0, 48 * 3_600_000)
        started, previous, last = t, t, "LaunchRequest"
        events.append(start(t, session_id=sid, request_id=f"{sid}-0", customer=f"c{rng.randrange(30)}"))
        for i in range(rng.randrange(0, 5)):
            t += rng.choice((5_000, 70_000, 900_000, 4_000_000))
            outcome = rng.choice([Outcome.RESPONSE] * 6 + [Outcome.HANDLED, Outcome.ESCAPED])
            stop = rng.random() < 0.2
            events.append(turn(t, started, previous, last, session_id=sid, request_id=f"{sid}-{i + 1}",
                               outcome=outcome, should_end_session=stop))  # fmt: skip
            if outcome is Outcome.ESCAPED:
                events.append(ended(t + 900, started, previous, last, "ERROR"))
                break
            previous, last = t, "RollDiceIntent"
            if stop:
                break
        else:
            reason = rng.choice(["USER_INITIATED", "EXCEEDED_MAX_REPROMPTS", None, "silence"])
            if reason != "silence":
                events.append(ended(t + 8_000, started, previous, last, reason))
    return events


@pytest.mark.parametrize("seed", range(5))
def test_started_equals_ended_plus_open_in_every_period(seed: int) -> None:
    # Given random sessions with every kind of ending, in a random order
    events = _random_sessions(random.Random(seed), 200)
    random.Random(seed).shuffle(events)
    # When folded
    rollups = fold(events, exact=True)
    # Then in every bucket: started = skill_ended + user_ended + no_response + failed + unknown + open
    for k, rollup in rollups.items():
        if k.intent == ALL_INTENTS:
            assert all(v > 0 for v in rollup.open_sessions.values()), k
            assert rollup.sessions_started == sum(rollup.session_ends.values()) + sum(
                rollup.open_sessions.values()
            ), k
    # And the day totals add up over the whole range
    days = [r for k, r in rollups.items() if k.granularity == "P1D" and k.intent == ALL_INTENTS]
    assert sum(r.sessions_started for r in days) == 200


def _merged(rollups: dict[RollupKey, Rollup], granularity: str) -> int:
    return sum(
        r.utterances for k, r in rollups.items() if k.granularity == granularity and k.intent == ALL_INTENTS
    )


def test_every_granularity_counts_every_utterance_once() -> None:
    events = _random_sessions(random.Random(9), 100)
    rollups = fold(events, exact=True)
    utterances = sum(e.is_utterance for e in events)
    assert _merged(rollups, "PT15M") == _merged(rollups, "PT1H") == _merged(rollups, "P1D") == utterances


def test_friction_is_counted_at_its_own_time_and_attributed_to_the_prompt_before() -> None:
    # Given a session: launch (a prompt), a fallback (unhandled) at 10:05, a retry, a Stop after a prompt
    t = T0
    events = [
        start(t),
        turn(t + 5 * MIN, t, t, "LaunchRequest", intent="AMAZON.FallbackIntent", last_prompt=True),
        turn(t + 6 * MIN, t, t + 5 * MIN, "AMAZON.FallbackIntent", last_prompt=True, last_unhandled=True),
        turn(
            t + 7 * MIN,
            t,
            t + 6 * MIN,
            "RollDiceIntent",
            intent="AMAZON.StopIntent",
            should_end_session=True,
            last_prompt=True,
            last_unhandled=False,
        ),
    ]
    rollups = fold(events, exact=True)
    hour = rollups[key("PT1H", t)]
    # Then the figures and the prompts they follow: the Stop after an ordinary prompt is an exit
    assert (hour.unhandled, hour.retries, hour.terminations) == (1, 1, 0)
    assert hour.unhandled_after == {"LaunchRequest": 1}
    assert (hour.terminated_after, hour.exited_after) == ({}, {"RollDiceIntent": 1})
    assert (hour.launches, hour.one_shots) == (1, 0)
    # And the fallback's own intent rollup counts it unhandled; the quarter hours split by time
    assert rollups[key("PT1H", t, "AMAZON.FallbackIntent")].unhandled == 1
    quarter = rollups[key("PT15M", t)]
    assert quarter.unhandled == 1 and quarter.exited_after == {"RollDiceIntent": 1}


def test_leaving_is_friction_only_at_the_welcome_or_after_an_unhandled_reply() -> None:
    # Given five sessions, each left at a different prompt
    t = T0
    welcome = [start(t, session_id="a"), turn(t + MIN, t, t, "LaunchRequest", session_id="a",
                                               intent="AMAZON.StopIntent", last_prompt=True,
                                               should_end_session=True)]  # fmt: skip
    unhandled = [
        start(t, session_id="b", request_id="b0"),
        turn(
            t + MIN, t, t, "LaunchRequest", session_id="b", intent="AMAZON.FallbackIntent", last_prompt=True
        ),
        ended(t + 2 * MIN, t, t + MIN, "AMAZON.FallbackIntent", "USER_INITIATED"),
    ]
    unhandled[2] = replace(unhandled[2], session_id="b", last_prompt=True, last_unhandled=True)
    ordinary = [
        start(t, session_id="c", request_id="c0"),
        turn(t + MIN, t, t, "LaunchRequest", session_id="c", last_prompt=True),
        turn(t + 2 * MIN, t, t + MIN, "RollDiceIntent", session_id="c", intent="AMAZON.CancelIntent",
             last_prompt=True, last_unhandled=False, should_end_session=True),
    ]  # fmt: skip
    silent_welcome = [start(t, session_id="d", request_id="d0"),
                      replace(ended(t + 2 * MIN, t, t, "LaunchRequest", "EXCEEDED_MAX_REPROMPTS"),
                              session_id="d", last_prompt=True)]  # fmt: skip
    silent_ordinary = [
        start(t, session_id="e", request_id="e0"),
        turn(t + MIN, t, t, "LaunchRequest", session_id="e", last_prompt=True),
        replace(ended(t + 70 * MIN, t, t + MIN, "RollDiceIntent", "EXCEEDED_MAX_REPROMPTS"),
                session_id="e", last_prompt=True, last_unhandled=False),
    ]  # fmt: skip
    # When folded
    hour = fold(welcome + unhandled + ordinary + silent_welcome + silent_ordinary, exact=True)[key("PT1H", t)]
    # Then the welcome's Stop and the leave after the fallback are terminations, the rest exits
    assert hour.terminations == 2
    assert hour.terminated_after == {"LaunchRequest": 1, "AMAZON.FallbackIntent": 1}
    assert hour.exited_after == {"RollDiceIntent": 1}
    # And silence splits by the same rule, at the session's start (session e's end is at 11:10)
    assert hour.no_response_after == {"LaunchRequest": 1}
    assert hour.no_response_exits_after == {"RollDiceIntent": 1}
    assert hour.session_ends["no_response"] == 2
    # And every reply that kept a session open is a prompt of its intent (the exit rate's denominator)
    assert hour.kept_open == {"LaunchRequest": 5, "AMAZON.FallbackIntent": 1, "RollDiceIntent": 2}


def test_an_exception_handlers_reply_that_asked_again_is_a_prompt() -> None:
    t = T0
    events = [start(t), turn(t + MIN, t, t, "LaunchRequest", outcome=Outcome.HANDLED, exception="KeyError")]
    hour = fold(events, exact=True)[key("PT1H", t)]
    assert hour.kept_open == {"LaunchRequest": 1, "RollDiceIntent": 1}
    assert hour.prompts == 1  # the console's prompts stay successful replies only


def test_no_termination_without_a_prompt_and_failed_utterances_are_unhandled() -> None:
    t = T0
    events = [
        start(t, request_id="a"),
        # the reply before did not wait (last_prompt False): leaving is no termination
        turn(t + MIN, t, t, "LaunchRequest", intent="AMAZON.CancelIntent", last_prompt=False),
        # an untracked session's failed utterance: unhandled, attributed to an unknown prompt
        ev("IntentRequest", t + 2 * MIN, session_id="s2", intent="RollDiceIntent", outcome=Outcome.HANDLED),
        # a one-shot start that is a fallback: attributed to the session's start
        ev(
            "IntentRequest",
            t + 3 * MIN,
            session_id="s3",
            intent="AMAZON.FallbackIntent",
            new_session=True,
            session_start_ms=t + 3 * MIN,
            should_end_session=False,
        ),
    ]
    hour = fold(events, exact=True)[key("PT1H", t)]
    assert hour.terminations == 0 and hour.retries == 0
    assert hour.unhandled == 2
    assert hour.unhandled_after == {"unknown": 1, "start": 1}
    assert (hour.launches, hour.one_shots) == (1, 1)


def test_user_leaving_after_a_prompt_and_silence_are_friction_of_the_prompt() -> None:
    t = T0 + 50 * MIN
    a = [start(t), ended(t + 20 * MIN, t, t, "LaunchRequest", "USER_INITIATED")]
    b = [start(t + MIN, session_id="s2"), ended(t + 30 * MIN, t + MIN, t + MIN, "LaunchRequest",
                                                "EXCEEDED_MAX_REPROMPTS")]  # fmt: skip
    a[1] = replace(a[1], last_prompt=True)
    b[1] = replace(b[1], session_id="s2", last_prompt=True)
    b[0] = replace(b[0], request_id="b0")
    rollups = fold(a + b, exact=True)
    # The termination counts at its own time (11:10), the no-response end at the session's start (10:50)
    assert rollups[key("PT1H", t + 20 * MIN)].terminated_after == {"LaunchRequest": 1}
    assert rollups[key("PT1H", t)].terminations == 0
    assert rollups[key("PT1H", t)].no_response_after == {"LaunchRequest": 1}


def test_endpoint_time_adds_start_up_on_cold_starts_only() -> None:
    # Given two warm utterances, then a cold start with 500 ms of start-up
    t = T0
    events = [
        start(t, handler_ms=10.0),
        turn(t + MIN, t, t, "LaunchRequest", handler_ms=20.0),
        turn(t + 2 * MIN, t, t + MIN, "RollDiceIntent", handler_ms=30.0, cold_start=True, startup_ms=500.0),
    ]
    for exact in (True, False):
        rollups = fold(events, exact=exact)
        hour = rollups[key("PT1H", t)]
        # Then handler latency is unchanged, endpoint time has 530 ms, and one of three was cold
        assert hour.cold_starts == 1 and hour.latency.quantile(1.0) == 30.0
        assert hour.endpoint is not None and sorted_values(hour.endpoint) == [10.0, 20.0, 530.0]
        # And a rollup without a cold start keeps no endpoint summary of its own
        launch = rollups[key("PT1H", t, "LaunchRequest")]
        assert launch.endpoint is None and launch.endpoint_summary() is launch.latency
        # Merging a warm rollup into a cold one (and the other way round) keeps every value
        for first, second in ((launch, hour), (hour, launch)):
            merged = _empty(exact)
            merged.merge(first)
            merged.merge(second)
            assert sorted_values(merged.endpoint_summary()) == sorted([10.0, 10.0, 20.0, 530.0])


def _empty(exact: bool) -> Rollup:
    from alexa_skill_metrics.aggregation.rollup import new_rollup

    return new_rollup(exact=exact)


def sorted_values(summary: Any) -> list[float]:
    n = summary.total()
    return [summary.quantile((i + 1) / n) for i in range(n)]
