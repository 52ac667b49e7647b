"""The five views as pure functions of rollups built by hand (exact summaries), following METRICS.md."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from alexa_skill_metrics.model import ALL_INTENTS, Rollup, RollupKey
from alexa_skill_metrics.reporting.params import ReportRequest, format_time
from alexa_skill_metrics.reporting.schema import to_json
from alexa_skill_metrics.reporting.views.common import Frame
from alexa_skill_metrics.reporting.views.customers import customers
from alexa_skill_metrics.reporting.views.intents import intents
from alexa_skill_metrics.reporting.views.overview import overview
from alexa_skill_metrics.reporting.views.sessions import sessions
from alexa_skill_metrics.reporting.views.utterances import utterances
from alexa_skill_metrics.sketches import ExactCustomers, ExactLatency

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
H = 3_600_000
D = 86_400_000
MINUTE = 60_000


def rollup(customers: Iterable[str] = (), latency: Iterable[float] = (), **counts: object) -> Rollup:
    r = Rollup(customers=ExactCustomers(), latency=ExactLatency(), **counts)  # type: ignore[arg-type]
    for customer in customers:
        r.customers.add(customer)
    for ms in latency:
        r.latency.add(ms)
    return r


def key(
    bucket_ms: int, granularity: str = "PT1H", locale: str = "en-US", intent: str = ALL_INTENTS
) -> RollupKey:
    return RollupKey(SKILL, "live", granularity, bucket_ms, locale, intent)


def frame(
    rollups: Sequence[tuple[RollupKey, Rollup]],
    *,
    period: str = "P1D",
    start: int = JAN5,
    end: int = JAN5 + D,
    now: int = JAN5 + 2 * D,
    locale: str | None = None,
    intent: str | None = None,
) -> Frame:
    request = ReportRequest(SKILL, start, end, period, "live", locale, intent)  # type: ignore[arg-type]
    return Frame(request, now, True, rollups)


# --- overview ------------------------------------------------------------------------------------


def test_overview_totals_peaks_and_hourly_averages() -> None:
    # Given a day with customers a, b at 10:00, a at 11:00, c at 13:00 and sessions/utterances
    hours = [
        (key(JAN5 + 10 * H), rollup(["a", "b"], utterances=5, sessions_started=2)),
        (key(JAN5 + 11 * H), rollup(["a"], utterances=7, sessions_started=1)),
        (key(JAN5 + 13 * H), rollup(["c"], utterances=1, sessions_started=1)),
    ]
    # When the overview is built for the day
    view = overview(frame(hours))
    # Then customers over the day are a union (3), not the sum of hours (4)
    assert view.customers.total == 3
    assert (view.customers.peak_hour.start, view.customers.peak_hour.value) == ("2026-01-05T10:00:00Z", 2)
    assert view.customers.average_per_hour == round((2 + 1 + 1) / 24, 4)  # mean of hourly unique counts
    assert (view.utterances.total, view.utterances.peak_hour.start) == (13, "2026-01-05T11:00:00Z")
    assert view.utterances.average_per_hour == round(13 / 24, 4)
    assert (view.sessions.total, view.sessions.peak_hour.value) == (4, 2)
    assert [(p.customers, p.sessions, p.utterances) for p in view.series] == [(3, 4, 13)]


def test_overview_without_traffic_is_zeros_with_the_first_hour_as_peak() -> None:
    view = overview(frame([], period="PT1H"))
    assert len(view.series) == 24 and all(p.utterances == p.customers == p.sessions == 0 for p in view.series)
    assert (view.customers.peak_hour.start, view.customers.peak_hour.value) == ("2026-01-05T00:00:00Z", 0)
    assert view.utterances.average_per_hour == 0.0


def test_overview_quarter_hour_series_still_peaks_by_hour() -> None:
    # Given four quarters of one hour with one utterance each, and a busier lone quarter later
    quarters = [
        (key(JAN5 + 10 * H + i * 900_000, "PT15M"), rollup([f"c{i}"], utterances=1)) for i in range(4)
    ]
    quarters.append((key(JAN5 + 12 * H, "PT15M"), rollup(["x"], utterances=3)))
    view = overview(frame(quarters, period="PT15M"))
    # Then the series is per quarter, but the peak hour is the hour with 4 utterances
    assert len(view.series) == 96 and view.series[40].utterances == 1
    assert (view.utterances.peak_hour.start, view.utterances.peak_hour.value) == ("2026-01-05T10:00:00Z", 4)
    assert view.customers.peak_hour.value == 4


# --- customers -----------------------------------------------------------------------------------


def test_customers_union_over_days_and_zero_points() -> None:
    # Given the same customer on day 1 and day 3, a new one on day 1, and nothing on day 2
    days = [
        (key(JAN5, "P1D"), rollup(["a", "b"], new_customers=2, enablements=2)),
        (key(JAN5, "P1D", locale="-"), rollup(enablements=1)),  # skill events carry no locale
        (key(JAN5 + 2 * D, "P1D"), rollup(["a"])),
    ]
    view = customers(frame(days, end=JAN5 + 3 * D))
    assert [(p.start, p.unique_customers, p.new_customers, p.enablements) for p in view.series] == [
        ("2026-01-05T00:00:00Z", 2, 2, 3),
        ("2026-01-06T00:00:00Z", 0, 0, 0),
        ("2026-01-07T00:00:00Z", 1, 0, 0),
    ]
    assert (view.totals.unique_customers, view.totals.new_customers, view.totals.enablements) == (2, 2, 3)


@pytest.mark.parametrize(("locale", "intent"), [("en-US", None), (None, "RollDiceIntent")])
def test_enablements_are_null_under_a_filter(locale: str | None, intent: str | None) -> None:
    view = customers(frame([(key(JAN5, "P1D"), rollup(["a"], enablements=1))], locale=locale, intent=intent))
    assert view.totals.enablements is None and view.series[0].enablements is None
    assert view.totals.unique_customers == 1


# --- sessions ------------------------------------------------------------------------------------


def test_session_end_states_sum_to_started_and_open_ones_split_by_report_time() -> None:
    # Given 10 sessions started at 10:00: ends of every kind, and two still open,
    # one last heard of at 10:05, the other at 10:50
    open_at = {(JAN5 + 10 * H + 5 * MINUTE) // MINUTE: 1, (JAN5 + 10 * H + 50 * MINUTE) // MINUTE: 1}
    r = rollup(
        ["a", "b", "c", "d", "e"],
        sessions_started=10,
        session_ends={"skill_ended": 3, "user_ended": 2, "no_response": 1, "failed": 1, "unknown": 1},
        open_sessions=open_at,
        drop_off={"RollDiceIntent": 3, "LaunchRequest": 1},
    )
    # When reported at 11:30
    view = sessions(frame([(key(JAN5 + 10 * H), r)], now=JAN5 + 11 * H + 30 * MINUTE))
    t = view.totals
    # Then the one silent for over an hour is incomplete, the other still active
    assert (t.incomplete, t.active) == (1, 1)
    assert (
        t.started
        == t.skill_ended + t.user_ended + t.no_response + t.failed + t.unknown + t.incomplete + t.active
    )
    assert (t.successful, t.sessions_per_customer) == (5, 2.0)
    shares = to_json(t.share_by_end_type)
    assert shares["skillEnded"] == 0.3 and sum(shares.values()) == pytest.approx(1.0)
    # And later both are incomplete
    later = sessions(frame([(key(JAN5 + 10 * H), r)], now=JAN5 + 12 * H)).totals
    assert (later.incomplete, later.active) == (2, 0)
    # And drop-off lists the last intents, most first, with their share
    assert [(d.last_intent, d.sessions, d.share) for d in view.drop_off] == [
        ("RollDiceIntent", 3, 0.75),
        ("LaunchRequest", 1, 0.25),
    ]


def test_sessions_without_traffic_have_zero_shares_not_errors() -> None:
    view = sessions(frame([], period="PT1H"))
    assert view.totals.started == 0 and view.totals.sessions_per_customer == 0.0
    assert set(to_json(view.totals.share_by_end_type).values()) == {0.0}
    assert len(view.series) == 24 and view.drop_off == []


# --- utterances ----------------------------------------------------------------------------------


def test_utterance_figures_and_exact_latency_percentiles() -> None:
    r = rollup(
        ["a", "b"],
        latency=[float(ms) for ms in range(1, 101)],
        utterances=10,
        failed_utterances=3,
        tracked_utterances=8,
        sessions_started=4,
        prompts=5,
        responded=4,
        session_ends={"no_response": 2},
    )
    t = utterances(frame([(key(JAN5 + H), r)])).totals
    assert (t.utterances, t.successful, t.failed, t.unique_customers) == (10, 7, 3, 2)
    assert (t.per_customer, t.per_session, t.prompts, t.responded, t.not_responded) == (5.0, 2.0, 5, 4, 2)
    assert (t.latency_ms.p50, t.latency_ms.p90, t.latency_ms.p99) == (50.0, 90.0, 99.0)


def test_utterances_filtered_by_intent_have_no_session_figures() -> None:
    r = rollup(["a"], latency=[3.0], utterances=2, tracked_utterances=2)
    t = utterances(frame([(key(JAN5, intent="RollDiceIntent"), r)], intent="RollDiceIntent")).totals
    assert (t.utterances, t.per_session, t.not_responded) == (2, None, None)


def test_empty_points_have_null_latency() -> None:
    view = utterances(frame([], period="PT1H"))
    assert view.series[0].latency_ms.p50 is None and view.totals.per_customer == 0.0


# --- intents -------------------------------------------------------------------------------------


def test_intent_shares_failed_shares_and_fallback_rate() -> None:
    rows = [
        (
            key(JAN5, "P1D", intent="RollDiceIntent"),
            rollup(["a", "b"], [5.0, 7.0], utterances=6, failed_utterances=2),
        ),
        (key(JAN5, "P1D", "de-DE", "RollDiceIntent"), rollup(["c"], [9.0], utterances=2)),
        (key(JAN5, "P1D", intent="AMAZON.FallbackIntent"), rollup(["a"], [1.0], utterances=2)),
        (key(JAN5, "P1D", intent="LaunchRequest"), rollup(["a", "b", "c"], [2.0], utterances=2)),
    ]
    view = intents(frame(rows))
    assert [(r.intent, r.utterances, r.unique_customers, r.share, r.failed_share) for r in view.intents] == [
        ("RollDiceIntent", 8, 3, 0.6667, 1.0),  # two locales merged
        ("AMAZON.FallbackIntent", 2, 1, 0.1667, 0.0),
        ("LaunchRequest", 2, 3, 0.1667, 0.0),
    ]
    assert view.fallback_rate == 0.1667
    assert (view.totals.utterances, view.totals.failed, view.totals.unique_customers) == (12, 2, 3)
    assert view.intents[0].latency_ms.p50 == 7.0


def test_an_intents_own_failure_rate_stands_beside_its_share_of_failures() -> None:
    # Given one intent failing 2 of its 8 utterances and another failing 1 of its 1
    rows = [
        (key(JAN5, "P1D", intent="RollDiceIntent"), rollup(["a"], [1.0], utterances=8, failed_utterances=2)),
        (
            key(JAN5, "P1D", intent="CheckScoreIntent"),
            rollup(["b"], [1.0], utterances=1, failed_utterances=1),
        ),
    ]
    view = intents(frame(rows))
    # Then failedShare says where failures are, failureRate how often each intent fails
    assert [(r.intent, r.failed_share, r.failure_rate) for r in view.intents] == [
        ("RollDiceIntent", 0.6667, 0.25),
        ("CheckScoreIntent", 0.3333, 1.0),
    ]


def test_intents_without_traffic() -> None:
    view = intents(frame([]))
    assert view.intents == [] and view.fallback_rate == 0.0 and view.totals.utterances == 0


# --- common --------------------------------------------------------------------------------------


def test_every_view_echoes_the_request_and_report_time() -> None:
    view = to_json(sessions(frame([], locale="de-DE", now=JAN5 + 90 * MINUTE)))
    assert {k: view[k] for k in ("view", "skillId", "stage", "locale", "intent", "period")} == {
        "view": "sessions", "skillId": SKILL, "stage": "live", "locale": "de-DE", "intent": None,
        "period": "P1D",
    }  # fmt: skip
    assert (view["startTime"], view["endTime"], view["asOf"]) == (
        format_time(JAN5), format_time(JAN5 + D), "2026-01-05T01:30:00Z",
    )  # fmt: skip


def test_source_rollups_are_not_changed_by_a_view() -> None:
    r = rollup(["a"], utterances=1)
    rows = [(key(JAN5), r), (key(JAN5 + H), rollup(["b"], utterances=1))]
    overview(frame(rows))
    assert (r.utterances, r.customers.count()) == (1, 1)


# --- friction, endpoint time, invocation types -------------------------------------------------------


def test_friction_rate_per_point_and_prompts_ranked_by_customers_lost() -> None:
    # Given two hours: 10:00 with 10 utterances, 2 unhandled, 1 termination, 1 no-response end;
    # 12:00 with 5 utterances and nothing wrong
    from alexa_skill_metrics.reporting.views.friction import friction

    ten = rollup(utterances=10, unhandled=2, terminations=1, retries=1, sessions_started=4,
                 session_ends={"no_response": 1},
                 unhandled_after={"LaunchRequest": 1, "RollDiceIntent": 1},
                 terminated_after={"AMAZON.HelpIntent": 1},
                 no_response_after={"RollDiceIntent": 1})  # fmt: skip
    twelve = rollup(utterances=5, sessions_started=1)
    view = friction(frame([(key(JAN5 + 10 * H), ten), (key(JAN5 + 12 * H), twelve)], period="PT1H"))
    # Then each point has its own rate, the range the rate of the sums
    by_start = {p.start: p for p in view.series}
    assert by_start["2026-01-05T10:00:00Z"].friction_rate == 0.4  # (2 + 1 + 1) / 10
    assert by_start["2026-01-05T12:00:00Z"].friction_rate == 0.0
    assert (view.totals.friction_events, view.totals.friction_rate) == (4, round(4 / 15, 4))
    assert view.totals.retry_share == 0.5
    # And the Alexa.SkillQuality figures follow our definitions
    quality = view.totals.quality
    assert (quality.unhandled_requests, quality.unhandled_request_rate) == (2, round(2 / 15, 4))
    assert (quality.defective_terminations, quality.defective_termination_rate) == (2, 0.4)
    # And the prompt that lost customers comes first, then friction that lost none
    assert [(p.intent, p.lost, p.friction_events) for p in view.prompts] == [
        ("RollDiceIntent", 1, 2),
        ("AMAZON.HelpIntent", 1, 1),
        ("LaunchRequest", 0, 1),
    ]
    assert sum(p.share for p in view.prompts) == 1.0


def test_exits_at_prompts_are_not_friction_and_the_worst_question_comes_first() -> None:
    # Given friction at the welcome, and exits after two ordinary prompts, one in silence
    from alexa_skill_metrics.reporting.views.friction import friction

    hour = rollup(utterances=20, terminations=1, sessions_started=6, session_ends={"no_response": 3},
                  terminated_after={"LaunchRequest": 1}, no_response_after={"LaunchRequest": 1},
                  exited_after={"RollDiceIntent": 2, "AMAZON.HelpIntent": 1},
                  no_response_exits_after={"RollDiceIntent": 2},
                  kept_open={"LaunchRequest": 6, "RollDiceIntent": 10, "AMAZON.HelpIntent": 2})  # fmt: skip
    view = friction(frame([(key(JAN5 + 10 * H), hour)], period="PT1H"))
    # Then only the welcome's leaves are friction; the exits are counted on their own
    assert (view.totals.terminations, view.totals.no_response, view.totals.exits) == (1, 1, 5)
    assert view.totals.friction_rate == 0.1  # (0 + 1 + 1) / 20
    assert view.totals.quality.defective_terminations == 2
    # And each prompt intent has its exit rate, highest first
    assert [(e.intent, e.exits, e.left, e.no_response, e.prompts, e.exit_rate) for e in view.exits] == [
        ("AMAZON.HelpIntent", 1, 1, 0, 2, 0.5),
        ("RollDiceIntent", 4, 2, 2, 10, 0.4),
        ("LaunchRequest", 0, 0, 0, 6, 0.0),
    ]


def test_endpoint_percentiles_and_cold_start_share() -> None:
    warm = rollup(latency=[10.0, 20.0, 30.0, 40.0], utterances=4)
    cold = rollup(latency=[10.0, 20.0], utterances=2, cold_starts=1)
    cold.endpoint = ExactLatency()
    for ms in (10.0, 820.0):
        cold.endpoint.add(ms)
    hours = [(key(JAN5 + 10 * H), warm), (key(JAN5 + 11 * H), cold)]
    totals = utterances(frame(hours)).totals
    # Endpoint time merges warm handler times with the cold start's handler + start-up
    assert totals.cold_starts == 1 and totals.cold_start_share == round(1 / 6, 4)
    assert totals.latency_ms.p99 == 40.0 and totals.endpoint_ms.p99 == 820.0
    assert totals.endpoint_ms.p50 == 20.0
    # Per intent too
    per_intent = [(key(JAN5, "P1D", intent="RollDiceIntent"), cold)]
    (row,) = intents(frame(per_intent)).intents
    assert (row.endpoint_ms.p99, row.cold_start_share, row.latency_ms.p99) == (820.0, 0.5, 20.0)


def test_sessions_view_counts_invocation_types() -> None:
    r = rollup(sessions_started=4, launches=3, one_shots=1, requests_by_type={"CanFulfillIntentRequest": 7})
    inv = sessions(frame([(key(JAN5 + 10 * H), r)])).totals.invocations
    assert (inv.launch, inv.one_shot, inv.one_shot_share, inv.can_fulfill) == (3, 1, 0.25, 7)
