"""Reports from stored rollups equal reports recomputed from raw events, for every view and metric.

Three days of seeded traffic (live, plus a little on the development stage) go through the real
sample skill and recorder, then through the aggregator's Lambda entry point into moto. Every
view and SMAPI metric is then built twice: from the stored rollups (what the API serves) and by
folding the raw events again with exact summaries (the reference).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from alexa_skill_metrics.config import DEFAULT_ROLLUP_PARTS as ROLLUP_PARTS
from alexa_skill_metrics.model import ALL_INTENTS, LEAVING_INTENTS, DialogStep, Event, Outcome
from alexa_skill_metrics.reporting.metrics import METRICS
from alexa_skill_metrics.reporting.v2 import MetricsV2Request
from alexa_skill_metrics.sketches import rank
from alexa_skill_metrics.storage.rollups import RollupStore
from tests.functional.reporting_fixtures import (
    DAY_MS,
    HOUR_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    assert_latency_close,
    assert_reports_match,
    events_of,
    metric_pages,
    moto_table,
    record,
    view_request,
)

DAYS = 3
END_MS = START_MS + DAYS * DAY_MS
TABLE = "reporting-equivalence"
VIEWS = ("overview", "customers", "sessions", "utterances", "intents", "friction", "slots")


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    # Release 2 takes over from release 1 halfway, after a canary (sessions served by both)
    live = record(customers=160, days=DAYS, seed=11, rollout_at_ms=START_MS + DAY_MS + 12 * HOUR_MS)
    development = record(customers=25, days=DAYS, seed=12, stage="development")
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, live + development)
        # Reported half an hour after the last day: late sessions are still active, older ones incomplete
        yield Deployment(client, TABLE, events_of(live + development), now_ms=END_MS + 30 * 60_000)


RANGES = {
    "three days": (START_MS, END_MS),
    "unaligned": (START_MS + 10 * HOUR_MS + 20 * 60_000, START_MS + 2 * DAY_MS + 3 * HOUR_MS + 10 * 60_000),
}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("period", ["SINGLE", "PT1H", "P1D"])
@pytest.mark.parametrize("span", sorted(RANGES))
def test_views_from_rollups_equal_views_from_events(
    deployment: Deployment, view: str, period: str, span: str
) -> None:
    # Given the same request to both sources
    request = view_request(*RANGES[span], period=period)
    # When each builds the view
    stored = deployment.stored().view(view, request)
    recomputed = deployment.recomputed().view(view, request)
    # Then every figure agrees (customers exactly: fewer than 1,000 here)
    assert_reports_match(stored, recomputed)


@pytest.mark.parametrize("view", VIEWS)
def test_quarter_hour_views_agree(deployment: Deployment, view: str) -> None:
    request = view_request(START_MS + DAY_MS + 17 * HOUR_MS, START_MS + DAY_MS + 23 * HOUR_MS, period="PT15M")
    assert_reports_match(deployment.stored().view(view, request), deployment.recomputed().view(view, request))


@pytest.mark.parametrize(
    ("view", "filters"),
    [
        ("overview", {"locale": "de-DE"}),
        ("sessions", {"locale": "en-GB"}),
        ("friction", {"locale": "en-GB"}),
        ("friction", {"stage": "development"}),
        ("slots", {"locale": "de-DE"}),
        ("slots", {"intent": "RollDiceIntent", "locale": "en-GB"}),
        ("slots", {"intent": "SetUpGameIntent"}),  # the dialogs of one intent
        ("slots", {"intent": "SetUpGameIntent", "locale": "de-DE", "stage": "development"}),
        ("intents", {"locale": "en-US"}),
        ("overview", {"stage": "development"}),
        ("sessions", {"stage": "development"}),
        ("customers", {"intent": "RollDiceIntent"}),
        ("customers", {"intent": "LaunchRequest", "locale": "de-DE"}),
        ("utterances", {"intent": "AMAZON.FallbackIntent"}),
        ("utterances", {"intent": "CheckScoreIntent", "stage": "development"}),
    ],
)
def test_filtered_views_agree(deployment: Deployment, view: str, filters: dict[str, str]) -> None:
    request = view_request(START_MS, END_MS, period="P1D", **filters)
    stored = deployment.stored().view(view, request)
    assert_reports_match(stored, deployment.recomputed().view(view, request))
    # And the filter really narrowed the report
    unfiltered = deployment.stored().view(view, view_request(START_MS, END_MS, period="P1D"))
    assert stored != {**unfiltered, **{k: stored[k] for k in ("locale", "intent", "stage")}}


@pytest.mark.parametrize(
    ("view", "filters"),
    [
        ("overview", {"release": "1"}),
        ("customers", {"release": "2"}),
        ("sessions", {"release": "2"}),
        ("utterances", {"release": "2", "intent": "RollDiceIntent"}),
        ("intents", {"release": "1", "locale": "en-US"}),
        ("friction", {"release": "2"}),
        ("slots", {"release": "2", "locale": "en-US"}),
    ],
)
def test_release_filtered_views_agree(deployment: Deployment, view: str, filters: dict[str, str]) -> None:
    request = view_request(START_MS, END_MS, period="PT1H" if view != "intents" else "P1D", **filters)
    stored = deployment.stored().view(view, request)
    assert_reports_match(stored, deployment.recomputed().view(view, request))
    assert stored["release"] == filters["release"]


def test_paths_of_a_release_agree_and_add_up(deployment: Deployment) -> None:
    params = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-08T00:00:00Z"}
    stored = {r: deployment.stored().paths(SKILL, {**params, "release": r}) for r in ("1", "2")}
    for release, body in stored.items():
        assert_reports_match(body, deployment.recomputed().paths(SKILL, {**params, "release": release}))
    # Sessions count under the release that started them: the two releases' trees add up to all
    assert sum(b["sessions"] for b in stored.values()) == deployment.stored().paths(SKILL, params)["sessions"]


@pytest.mark.parametrize(
    "metric", ["totalUtterances", "uniqueCustomers", "totalSessions", "successfulUtterances"]
)
def test_release_filtered_metrics_agree(deployment: Deployment, metric: str) -> None:
    params = {"period": "PT1H", "metric": metric, "release": "2"}
    stored = metric_pages(deployment.stored(), START_MS, END_MS, **params)
    assert stored == metric_pages(deployment.recomputed(), START_MS, END_MS, **params)
    unfiltered = metric_pages(deployment.stored(), START_MS, END_MS, **{**params, "release": ""})
    assert sum(stored["values"]) < sum(unfiltered["values"])


def releases_params(**more: str) -> dict[str, str]:
    return {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-08T00:00:00Z", **more}


@pytest.mark.parametrize("params", [{}, {"locale": "en-GB"}, {"baseline": "2", "candidate": "1"}])
def test_releases_view_from_rollups_equals_the_view_from_events(
    deployment: Deployment, params: dict[str, str]
) -> None:
    stored = deployment.stored().releases(SKILL, releases_params(**params))
    assert_reports_match(stored, deployment.recomputed().releases(SKILL, releases_params(**params)))


def test_releases_view_counts_what_the_raw_events_say(deployment: Deployment) -> None:
    # Given the raw events of the live stage, by the release that served them and their hour
    events = [e for e in deployment.events if e.stage == "live" and START_MS <= e.timestamp_ms < END_MS]
    hours = {
        r: {e.timestamp_ms // HOUR_MS * HOUR_MS for e in events if e.release_key == r} for r in ("1", "2")
    }
    shared = hours["1"] & hours["2"]
    # When the stored rollups give the releases view
    view = deployment.stored().releases(SKILL, releases_params())
    # Then each release's requests and share are the events', its first and last hour too
    listed = {r["release"]: r for r in view["releases"]}
    assert set(listed) == {"1", "2"}
    for release in ("1", "2"):
        assert listed[release]["requests"] == sum(e.release_key == release for e in events)
        assert listed[release]["trafficShare"] == round(listed[release]["requests"] / len(events), 4)
    assert listed["2"]["firstSeen"] == "2026-01-06T12:00:00Z"
    # And the comparison (2 against 1, by default) counts the canary's hours for both
    comparison = view["comparison"]
    assert comparison["comparedOn"] == "same hours" and comparison["candidate"]["hours"] == len(shared)
    for release, side in (("1", "baseline"), ("2", "candidate")):
        mine = [
            e for e in events if e.release_key == release and e.timestamp_ms // HOUR_MS * HOUR_MS in shared
        ]
        rate = comparison["failedUtteranceRate"]
        assert rate[f"{side}Of"] == sum(e.is_utterance for e in mine)
        assert rate[f"{side}Count"] == sum(e.failed for e in mine)
    # Release 2 fails on big dice, but a 10% canary of this little traffic cannot show it yet: said so
    rate = comparison["failedUtteranceRate"]
    assert rate["ciLow"] < rate["difference"] < rate["ciHigh"] and rate["ciLow"] < 0 < rate["ciHigh"]
    assert rate["verdict"] == "too little traffic to tell" and rate["candidateOf"] < 100


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize(("period", "max_results"), [("SINGLE", "200"), ("P1D", "2"), ("PT1H", "50")])
def test_metrics_from_rollups_equal_metrics_from_events(
    deployment: Deployment, metric: str, period: str, max_results: str
) -> None:
    params = {"period": period, "metric": metric, "maxResults": max_results}
    stored = metric_pages(deployment.stored(), START_MS, END_MS, **params)
    recomputed = metric_pages(deployment.recomputed(), START_MS, END_MS, **params)
    assert stored == recomputed
    assert stored["pages"] == {"SINGLE": 1, "P1D": 2, "PT1H": 2}[period]


def test_the_traffic_exercises_every_figure(deployment: Deployment) -> None:
    # Guards the tests above against agreeing on zeros
    totals = deployment.stored().view("sessions", view_request(START_MS, END_MS, period="SINGLE"))["totals"]
    for end in ("skillEnded", "userEnded", "noResponse", "failed", "started"):
        assert totals[end] > 0, end
    utterances = deployment.stored().view("utterances", view_request(START_MS, END_MS))["totals"]
    assert utterances["failed"] > 0 and utterances["prompts"] > 0 and utterances["responded"] > 0
    customers = deployment.stored().view("customers", view_request(START_MS, END_MS))
    daily = [p["uniqueCustomers"] for p in customers["series"]]
    # Unique customers of the range are a union: fewer than the sum of the days
    assert customers["totals"]["uniqueCustomers"] < sum(daily)
    assert customers["totals"]["newCustomers"] == sum(p["newCustomers"] for p in customers["series"])


def test_invariants_hold_at_every_point(deployment: Deployment) -> None:
    view = deployment.stored().view("sessions", view_request(START_MS, END_MS, period="PT1H"))
    for point in view["series"]:
        ends = ("skillEnded", "userEnded", "noResponse", "failed", "unknown", "incomplete", "active")
        assert point["started"] == sum(point[e] for e in ends), point["start"]
        assert point["successful"] == point["skillEnded"] + point["userEnded"]
    utterances = deployment.stored().view("utterances", view_request(START_MS, END_MS, period="PT1H"))
    for point in utterances["series"]:
        assert point["successful"] + point["failed"] == point["utterances"]


def test_latency_percentiles_are_within_the_sketch_accuracy(deployment: Deployment) -> None:
    # Given every utterance's handler time in the range, exactly
    values = [
        e.handler_ms
        for e in deployment.events
        if e.is_utterance
        and e.stage == "live"
        and e.handler_ms is not None
        and START_MS <= e.timestamp_ms < END_MS
    ]
    assert len(values) > 500  # so the sketch (exact up to 200 values) really estimates
    # When the stored rollups report the range's percentiles
    latency = deployment.stored().view("utterances", view_request(START_MS, END_MS, period="SINGLE"))[
        "totals"
    ]["latencyMs"]
    # Then each is the exact quantile, within the sketch's relative accuracy (1%)
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert_latency_close(latency[name], values, q)


def test_report_cost_follows_buckets_not_events(deployment: Deployment) -> None:
    # Given the stored day rollups of the range, counted directly (each in up to ROLLUP_PARTS items)
    store = RollupStore(TABLE, deployment.client)
    day_rollups = len(store.query(SKILL, "live", "P1D", START_MS, END_MS))
    day_items = store.items_read
    # When the customers view is read per day
    reporter = deployment.stored()
    reporter.view("customers", view_request(START_MS, END_MS, period="P1D"))
    # Then it read exactly those items: days x locales x releases x parts, nothing per event
    source_read = reporter.source.items_read
    day_releases = 1 + 2 + 2  # release 1, both on the rollout's day, then 2 (and its sessions' tails)
    assert day_rollups <= day_releases * 4  # three locales, and "-" for skill events
    assert source_read == day_items <= day_rollups * ROLLUP_PARTS
    # (a bound set by days, locales, releases and parts: at this small traffic a fifth of the events)
    assert source_read <= day_releases * 4 * ROLLUP_PARTS < len(deployment.events) / 5


def test_recomputation_reads_every_event(deployment: Deployment) -> None:
    reporter = deployment.recomputed()
    reporter.view("customers", view_request(START_MS, END_MS, period="P1D"))
    assert reporter.source.items_read == len(deployment.events)


def stored_intents(client: Any) -> set[str]:
    return {
        key.intent
        for key, _ in RollupStore(TABLE, client).query(SKILL, "live", "P1D", START_MS, END_MS, intents=True)
        if key.intent != ALL_INTENTS
    }


def test_intents_view_lists_every_intent_the_skill_answered(deployment: Deployment) -> None:
    view = deployment.stored().view("intents", view_request(START_MS, END_MS))
    assert {row["intent"] for row in view["intents"]} == stored_intents(deployment.client)
    assert sum(row["share"] for row in view["intents"]) == pytest.approx(1.0, abs=0.001)
    assert view["fallbackRate"] > 0


def test_the_traffic_exercises_friction_endpoint_time_and_invocation_types(deployment: Deployment) -> None:
    # Guards the equivalence above against agreeing on zeros for the quality figures
    request = view_request(START_MS, END_MS, period="SINGLE")
    friction = deployment.stored().view("friction", request)
    for name in ("unhandled", "terminations", "retries", "noResponse"):
        assert friction["totals"][name] > 0, name
    assert friction["prompts"] and friction["prompts"][0]["lost"] > 0
    assert sum(p["frictionEvents"] for p in friction["prompts"]) == friction["totals"]["frictionEvents"]
    invocations = deployment.stored().view("sessions", request)["totals"]["invocations"]
    assert invocations["launch"] > 0 and invocations["oneShot"] > 0
    utterances = deployment.stored().view("utterances", request)["totals"]
    assert 0 < utterances["coldStartShare"] < 0.2
    assert utterances["endpointMs"]["p99"] > utterances["latencyMs"]["p99"]


def test_endpoint_percentiles_are_within_the_sketch_accuracy(deployment: Deployment) -> None:
    # Given every utterance's endpoint time (handler + start-up on cold starts), exactly
    values = [
        e.endpoint_ms
        for e in deployment.events
        if e.is_utterance and e.stage == "live" and e.endpoint_ms is not None
        and START_MS <= e.timestamp_ms < END_MS
    ]  # fmt: skip
    assert any(e.cold_start for e in deployment.events) and len(values) > 500
    # When the stored rollups report them for the range and for one intent
    totals = deployment.stored().view("utterances", view_request(START_MS, END_MS, period="SINGLE"))["totals"]
    # Then each is the exact quantile, within the sketch's relative accuracy (1%)
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert_latency_close(totals["endpointMs"][name], values, q)
    rolls = [
        e.endpoint_ms
        for e in deployment.events
        if e.intent_key == "RollDiceIntent" and e.stage == "live" and e.endpoint_ms is not None
        and START_MS <= e.timestamp_ms < END_MS
    ]  # fmt: skip
    row = next(
        r for r in deployment.stored().view("intents", view_request(START_MS, END_MS))["intents"]
        if r["intent"] == "RollDiceIntent"
    )  # fmt: skip
    assert_latency_close(row["endpointMs"]["p90"], rolls, 0.9)


def _leaves_walked_from_raw_events(events: list[Event], start_ms: int, end_ms: int) -> dict[str, Any]:
    """Friction's leaves and exits recomputed by walking each session's raw events in time order.

    Independent of the recorder's stamps and of the fold: the previous answered utterance is the
    session's own last event whose reply went out. A session counts only when its start is among
    the events (tracked); Stop/Cancel and USER_INITIATED count at their own time, silence at the
    session's start, every reply that kept a session open at its own time (METRICS.md, Friction).
    """
    figures: dict[str, Any] = {"terminations": 0, "noResponse": 0, "left": Counter(),
                               "silent": Counter(), "prompts": Counter()}  # fmt: skip
    sessions: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.stage != "live":
            continue
        answered = event.outcome in (Outcome.RESPONSE, Outcome.HANDLED)
        in_range = start_ms <= event.timestamp_ms < end_ms
        if event.is_utterance and answered and event.should_end_session is False and in_range:
            figures["prompts"][event.intent_key] += 1
        if event.session_id is not None:
            sessions[event.session_id].append(event)
    for session in sessions.values():
        session.sort(key=lambda e: (e.timestamp_ms, e.request_id))
        if not (session[0].is_utterance and session[0].new_session):
            continue  # untracked: its start was not recorded
        started = session[0].timestamp_ms
        previous: Event | None = None  # the last answered utterance
        for event in session:
            kept_open = previous is not None and previous.should_end_session is False
            if previous is not None and (kept_open or event.end_reason == "EXCEEDED_MAX_REPROMPTS"):
                left = (event.is_utterance and event.intent_key in LEAVING_INTENTS) or (
                    event.request_type == "SessionEndedRequest" and event.end_reason == "USER_INITIATED"
                )
                silent = event.end_reason == "EXCEEDED_MAX_REPROMPTS"  # only SessionEndedRequests have one
                at = event.timestamp_ms if left else started
                if (left or silent) and start_ms <= at < end_ms:
                    welcome_or_unhandled = previous.intent_key == "LaunchRequest" or previous.unhandled
                    if welcome_or_unhandled:
                        figures["terminations" if left else "noResponse"] += 1
                    else:
                        figures["left" if left else "silent"][previous.intent_key] += 1
            if event.is_utterance and event.outcome in (Outcome.RESPONSE, Outcome.HANDLED):
                previous = event
                if event.should_end_session is True:
                    break  # the skill ended the session: nothing later belongs to it
    return figures


@pytest.mark.parametrize("span", sorted(RANGES))
def test_exits_and_terminations_equal_a_walk_over_the_raw_events(deployment: Deployment, span: str) -> None:
    # Given the raw events, walked session by session without the recorder's stamps
    start_ms, end_ms = RANGES[span]
    request = view_request(start_ms, end_ms, period="SINGLE")
    aligned = request.aligned(request.bucket)
    walked = _leaves_walked_from_raw_events(deployment.events, aligned.start_ms, aligned.end_ms)
    # When the stored rollups report friction over the range
    view = deployment.stored().view("friction", request)
    # Then terminations and no response are the leaves at the welcome or after an unhandled reply
    totals = view["totals"]
    assert (totals["terminations"], totals["noResponse"]) == (walked["terminations"], walked["noResponse"])
    assert totals["exits"] == sum(walked["left"].values()) + sum(walked["silent"].values())
    # And each prompt intent's exits, prompts and exit rate are the walk's, worst first
    rows = {row["intent"]: row for row in view["exits"]}
    assert {i: r["left"] for i, r in rows.items() if r["left"]} == dict(walked["left"])
    assert {i: r["noResponse"] for i, r in rows.items() if r["noResponse"]} == dict(walked["silent"])
    assert {i: r["prompts"] for i, r in rows.items() if r["prompts"]} == dict(walked["prompts"])
    for row in rows.values():
        assert row["exitRate"] == round(row["exits"] / row["prompts"], 4) if row["prompts"] else 0.0
    rates = [row["exitRate"] for row in view["exits"]]
    assert rates == sorted(rates, reverse=True)


def test_the_traffic_exercises_exits_at_prompts(deployment: Deployment) -> None:
    # Guards the walk above against agreeing on zeros: every kind of leave is in the traffic
    walked = _leaves_walked_from_raw_events(deployment.events, START_MS, END_MS)
    assert walked["terminations"] > 0 and walked["noResponse"] > 0
    assert sum(walked["left"].values()) > 0 and sum(walked["silent"].values()) > 0
    friction = deployment.stored().view("friction", view_request(START_MS, END_MS, period="SINGLE"))
    # An ordinary prompt's exits are no longer friction: most leaves are exits in this traffic
    assert friction["totals"]["exits"] > friction["totals"]["terminations"]


def test_slot_figures_equal_a_count_over_the_raw_events(deployment: Deployment) -> None:
    # Given each live utterance's recorded slot codes in the range, counted directly
    expected: Counter[tuple[str, str, str]] = Counter()
    letters = {"r": "resolved", "u": "unresolved", "x": "errored", "n": "noResolution"}
    for event in deployment.events:
        if event.stage != "live" or not (START_MS <= event.timestamp_ms < END_MS) or not event.slots:
            continue
        for code in event.slots.split():
            slot, _, (fill, overall, static, dynamic, confirmation) = code.partition(":")
            key = (str(event.intent_key), slot)
            expected[(*key, "filled" if fill == "f" else "empty")] += 1
            if fill == "f":
                expected[(*key, letters[overall])] += 1
                for kind, letter in (("static", static), ("dynamic", dynamic)):
                    if letter in "rux":
                        expected[(*key, f"{kind}.{letters[letter]}")] += 1
            if confirmation in "cd":
                expected[(*key, {"c": "confirmed", "d": "denied"}[confirmation])] += 1
    # When the stored rollups report the voice model over the range
    view = deployment.stored().view("slots", view_request(START_MS, END_MS, period="SINGLE"))
    got: Counter[tuple[str, str, str]] = Counter()
    for row in view["slots"]:
        for figure in (
            "filled",
            "empty",
            "resolved",
            "unresolved",
            "errored",
            "noResolution",
            "confirmed",
            "denied",
        ):
            got[(row["intent"], row["slot"], figure)] += row[figure]
        for kind in ("static", "dynamic"):
            for figure in ("resolved", "unresolved", "errored"):
                got[(row["intent"], row["slot"], f"{kind}.{figure}")] += row[kind][figure]
    # Then every slot's figures are the count's
    assert +got == +expected
    for figure in ("resolved", "unresolved", "errored", "confirmed", "denied"):
        assert view["totals"][figure] > 0, figure  # the traffic exercises every status
    assert any(row["dynamic"]["resolved"] for row in view["slots"])
    assert sum(c["denied"] for c in view["confirmations"]) > 0
    rates = [row["unresolvedRate"] for row in view["slots"]]
    assert rates == sorted(rates, reverse=True)


def _dialogs_walked_from_raw_events(
    events: list[Event], start_ms: int, end_ms: int, now_ms: int
) -> dict[str, Counter[Any]]:
    """Dialog figures recomputed by walking each session's raw events in time order (METRICS.md, Dialogs).

    Independent of the stamps and of the fold: it reads only each event's own ``dialogState`` and
    the question its reply asked (``DialogStep.state``/``asked``), never the open dialog the stamp
    carried. One dialog at a time; a reply that never went out moves nothing; the session's end
    (a reply that ended it, a SessionEndedRequest) abandons the open dialog; with no end an hour
    after the last answered utterance it is abandoned as incomplete, else active. Counted at each
    dialog's start, live stage, sessions whose start is among the events.
    """
    names = ("started", "completed", "abandoned", "incomplete", "active", "turns", "at")
    figures: dict[str, Counter[Any]] = {name: Counter() for name in names}
    sessions: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.stage == "live" and event.session_id is not None:
            sessions[event.session_id].append(event)

    def close(dialog: list[Any], how: str) -> None:
        intent, started, turns, asked = dialog
        if not start_ms <= started < end_ms:
            return
        figures[how][intent] += 1
        if how == "completed":
            figures["turns"][(intent, turns)] += 1
        elif how != "active":
            figures["abandoned"][intent] += how == "incomplete"  # incomplete dialogs are abandoned too
            figures["at"][(intent, asked)] += 1

    for session in sessions.values():
        session.sort(key=lambda e: (e.timestamp_ms, e.request_id))
        if session[0].is_utterance and session[0].new_session:
            _walk_dialogs(session, close, figures["started"], (start_ms, end_ms), now_ms)
    return figures


def _walk_dialogs(
    session: list[Event], close: Any, started: Counter[Any], span: tuple[int, int], now_ms: int
) -> None:
    dialog: list[Any] | None = None  # [intent, start ms, turns, question asked last]
    last_answered, ended = session[0].timestamp_ms, False
    for event in session:
        if event.request_type == "SessionEndedRequest":
            ended = True
            break
        if not event.is_utterance or event.outcome not in (Outcome.RESPONSE, Outcome.HANDLED):
            continue
        step, intent, last_answered = DialogStep.decode(event.dialog), event.intent_key, event.timestamp_ms
        if step.state == "s":
            if dialog is not None:
                close(dialog, "abandoned")
            started[intent] += span[0] <= event.timestamp_ms < span[1]
            dialog = [intent, event.timestamp_ms, 1, "-"]
        elif dialog is not None and intent == dialog[0]:
            dialog[2] += 1
            if step.state == "c":
                close(dialog, "completed")
                dialog = None
        if dialog is not None and step.asked is not None:
            dialog[3] = step.asked
        if event.should_end_session is True:
            ended = True
            break
    if dialog is not None:
        lapsed = now_ms - (last_answered // 60_000 + 1) * 60_000 >= HOUR_MS
        close(dialog, "abandoned" if ended else "incomplete" if lapsed else "active")


@pytest.mark.parametrize("span", sorted(RANGES))
def test_dialog_figures_equal_a_walk_over_the_raw_events(deployment: Deployment, span: str) -> None:
    # Given the raw events, walked session by session without the recorder's stamps
    start_ms, end_ms = RANGES[span]
    request = view_request(start_ms, end_ms, period="SINGLE")
    aligned = request.aligned(request.bucket)
    walked = _dialogs_walked_from_raw_events(
        deployment.events, aligned.start_ms, aligned.end_ms, deployment.now_ms
    )
    # When the stored rollups report the voice model's dialogs over the range
    dialogs = deployment.stored().view("slots", request)["dialogs"]
    # Then each intent's dialogs, how they ended, their turns and where customers left are the walk's
    rows = {row["intent"]: row for row in dialogs["intents"]}
    for figure in ("started", "completed", "abandoned", "incomplete", "active"):
        assert {i: r[figure] for i, r in rows.items() if r[figure]} == dict(+walked[figure]), figure
    for intent, row in rows.items():
        turns = sorted(t for (i, t), n in walked["turns"].items() if i == intent for _ in range(n))
        expected = (
            (turns[rank(0.5, len(turns)) - 1], turns[rank(0.9, len(turns)) - 1]) if turns else (None, None)
        )
        assert (row["turns"]["p50"], row["turns"]["p90"]) == expected
    at = Counter({
        (a["intent"], {"elicit_slot": "e:", "confirm_slot": "c:"}.get(a["question"], "") + (a["slot"] or "")
         or {"confirm_intent": "i", "delegated": "d", "none": "-"}[a["question"]]): a["dialogs"]
        for a in dialogs["abandonedAt"]
    })  # fmt: skip
    assert at == +walked["at"]
    assert dialogs["totals"]["started"] == sum(walked["started"].values())


def test_the_traffic_exercises_dialogs(deployment: Deployment) -> None:
    # Guards the walk above against agreeing on zeros: dialogs complete, and are left at several questions
    dialogs = deployment.stored().view("slots", view_request(START_MS, END_MS, period="SINGLE"))["dialogs"]
    totals = dialogs["totals"]
    assert totals["started"] > 20 and totals["completed"] > 0 and totals["abandoned"] > 0
    assert {(a["question"], a["slot"]) for a in dialogs["abandonedAt"]} >= {
        ("elicit_slot", "players"),
        ("delegated", None),
    }
    assert totals["turns"]["p90"] >= totals["turns"]["p50"] >= 3  # STARTED, the dice, COMPLETED at least
    # Every dialog that started ended one way or is still open
    assert totals["started"] == totals["completed"] + totals["abandoned"] + totals["active"]


def _values_counted_from_raw_events(
    events: list[Event], start_ms: int, end_ms: int, k: int, **filters: str
) -> tuple[list[tuple[str, str, str, int, int]], int]:
    """Unresolved values straight from the events' ``uv``: (intent, slot, value, utterances, customers)."""
    said: Counter[tuple[str, str, str]] = Counter()
    who: dict[tuple[str, str, str], set[str]] = {}
    for event in events:
        if event.stage != "live" or not (start_ms <= event.timestamp_ms < end_ms) or not event.uv:
            continue
        if any(getattr(event, name) != wanted for name, wanted in filters.items()):
            continue
        for part in event.uv.split("\x1e"):
            slot, _, value = part.partition("\x1f")
            key = (str(event.intent), slot, value)
            said[key] += 1
            who.setdefault(key, set()).add(str(event.customer))
    shown = [(*key, said[key], len(who[key])) for key in said if len(who[key]) >= k]
    return sorted(shown), len(said) - len(shown)


@pytest.mark.parametrize("k", [2, 5, 40])
@pytest.mark.parametrize(
    "filters", [{}, {"locale": "en-GB"}, {"intent": "RollDiceIntent"}, {"intent": "AMAZON.HelpIntent"}]
)
def test_unresolved_values_equal_a_count_over_the_raw_events(
    deployment: Deployment, k: int, filters: dict[str, str]
) -> None:
    # Given the opted-in colour slot's unresolved values, counted straight from the raw events
    start, end = RANGES["unaligned"]
    view_start, view_end = (
        START_MS + 10 * HOUR_MS + 15 * 60_000,
        START_MS + 2 * DAY_MS + 3 * HOUR_MS + 15 * 60_000,
    )
    expected, withheld = _values_counted_from_raw_events(
        deployment.events, view_start, view_end, k, **filters
    )
    # When both sources report them with that k
    request = view_request(start, end, period="SINGLE", minCustomers=str(k), **filters)
    stored = deployment.stored().view("slots", request)["unresolvedValues"]
    recomputed = deployment.recomputed().view("slots", request)["unresolvedValues"]
    # Then the value index gives exactly what the raw events say, k applied, most customers first
    assert stored == recomputed
    got = [(v["intent"], v["slot"], v["value"], v["utterances"], v["customers"]) for v in stored["values"]]
    assert sorted(got) == expected and stored["withheld"] == withheld and stored["minCustomers"] == k
    assert [v["customers"] for v in stored["values"]] == sorted(
        (v["customers"] for v in stored["values"]), reverse=True
    )
    if filters.get("intent") != "AMAZON.HelpIntent" and k < 40:
        assert got, "the traffic's customers say unresolved colours often enough"
    if filters.get("intent") == "AMAZON.HelpIntent":
        assert got == [] and withheld == 0  # an intent not opted in has no values at all


def test_unresolved_values_are_case_folded_and_below_k_withheld(deployment: Deployment) -> None:
    # When the whole range is reported with the default k
    view = deployment.stored().view("slots", view_request(START_MS, END_MS, period="SINGLE"))
    values = view["unresolvedValues"]
    # Then "Sparkly " and "sparkly" count as one value, and the rare phrase is withheld, not shown
    shown = {v["value"] for v in values["values"]}
    assert {"sparkly", "glittery", "rainbow"} <= shown and "Sparkly " not in shown
    assert values["minCustomers"] == 5 and all(v["customers"] >= 5 for v in values["values"])
    said_rarely = {e.customer for e in deployment.events if e.uv and "zq purple polka dots" in e.uv}
    assert 0 < len(said_rarely) < 5, "the traffic says the rare phrase, by fewer than k customers"
    assert "zq purple polka dots" not in json.dumps(view) and values["withheld"] >= 1


@pytest.mark.parametrize(
    ("namespace", "name", "stat", "v1_metric"),
    [
        ("Alexa.Custom", "UTTERANCES", "count", "totalUtterances"),
        ("Alexa.Custom", "CUSTOMERS", "count", "uniqueCustomers"),
        ("Alexa.Custom", "ACTIVE_SESSIONS", "count", "totalSessions"),
        ("Alexa.Custom", "SKILL_LATENCY", "p90", None),
        ("Alexa.SkillQuality", "UNHANDLED_REQUEST_RATE", "avg", None),
    ],
)
def test_release_filtered_v2_metrics_agree(
    deployment: Deployment, namespace: str, name: str, stat: str, v1_metric: str | None
) -> None:
    # Given a v2 body filtered to release 2 by the SkillMetrics.Release dimension, hour by hour
    def body(release: str | None) -> str:
        dimensions = [{"name": "SkillMetrics.Release", "value": release}] if release else []
        query = {"id": "q", "name": name, "metricNamespace": namespace, "stat": stat,
                 "aggregationPeriod": "BY_HOUR", "dimensions": dimensions}  # fmt: skip
        return json.dumps({"startTime": START_MS, "endTime": END_MS, "metricQueries": [query]})

    def answer(reporter: Any, release: str | None) -> list[Any]:
        data = reporter.metrics_v2(MetricsV2Request.from_body(SKILL, body(release)))["results"][0]["data"]
        return list(data[0]["values"])

    # When the stored rollups and the raw events answer it
    stored = answer(deployment.stored(), "2")
    # Then they agree point by point, and so does v1 filtered the same way
    assert stored == answer(deployment.recomputed(), "2")
    if v1_metric is not None:
        v1 = metric_pages(deployment.stored(), START_MS, END_MS, period="PT1H", metric=v1_metric, release="2")
        assert stored == list(v1["values"])
    # And the filter narrowed it: release 2 served none of the first day's hours, but some later
    hours = DAY_MS // HOUR_MS
    assert all(v in (None, 0) for v in stored[:hours])
    assert any(v not in (None, 0) for v in stored[hours:])
    unfiltered = answer(deployment.stored(), None)
    assert any(v not in (None, 0) for v in unfiltered[:hours])
