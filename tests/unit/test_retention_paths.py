"""Retention counters and the path tree: the pure rules, held to brute force; their API bodies to OpenAPI.

The aggregator applies ``retention.changes`` once per customer and new active day, in whatever
order the days arrive; the properties below check that any arrival order ends at the counters of
the final set of days, and that those counters answer "on" and "on or after" exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alexa_skill_metrics.aggregation.retention import (
    changes,
    contributions,
    parse_key,
    week_of,
)
from alexa_skill_metrics.aggregation.rollup import fold
from alexa_skill_metrics.model import Event
from alexa_skill_metrics.pathtree import MAX_DEPTH, ROOT, child_of, depth_of
from alexa_skill_metrics.reporting.openapi import openapi_document
from alexa_skill_metrics.reporting.reporter import Reporter
from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
MONDAY = 20_458  # 2026-01-05
DAY_MS = 86_400_000

day_sets = st.lists(st.integers(MONDAY, MONDAY + 90), min_size=1, max_size=25, unique=True)


@given(days=day_sets, order=st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_changes_in_any_arrival_order_end_at_the_final_counters(days: list[int], order: Any) -> None:
    arrival = list(days)
    order.shuffle(arrival)
    counters: Counter[tuple[int, str]] = Counter()
    seen: list[int] = []
    for day in arrival:  # one new active day at a time, as batches bring them
        for key, delta in changes(seen, [*seen, day]).items():
            counters[key] += delta
        seen.append(day)
    assert +counters == contributions(days)


def answer(
    counters: Counter[tuple[int, str]], kind: str, cohort: int, period: int, end: int
) -> tuple[int, int]:
    """(on, on or after) at ``period`` for ``cohort`` from the counters, as the view reads them."""
    on = after = 0
    for (day, key), count in counters.items():
        k, c, previous = parse_key(key)
        p = day if kind == "d" else week_of(day)
        if k != kind or c != cohort:
            continue
        if p == period:
            on += count
        if period <= p < end and (previous is None or previous < period):
            after += count
    return on, after


@given(customers=st.lists(day_sets, min_size=1, max_size=8), end_offset=st.integers(1, 100))
@settings(max_examples=150, deadline=None)
def test_counters_answer_on_and_on_or_after_exactly(customers: list[list[int]], end_offset: int) -> None:
    counters: Counter[tuple[int, str]] = Counter()
    for days in customers:
        counters.update(contributions(days))
    for kind, period_of in (("d", lambda d: d), ("w", week_of)):
        end = period_of(MONDAY) + end_offset
        for cohort in {period_of(min(days)) for days in customers}:
            members = [{period_of(d) for d in days} for days in customers if period_of(min(days)) == cohort]
            for period in range(cohort, end):
                expected_on = sum(period in periods for periods in members)
                expected_after = sum(any(period <= p < end for p in periods) for periods in members)
                assert answer(counters, kind, cohort, period, end) == (expected_on, expected_after)


def test_path_nodes_are_stable_distinct_and_fold_at_the_depth_limit() -> None:
    node, seen = ROOT, {ROOT}
    for step in range(MAX_DEPTH):
        node = child_of(node, "RollDiceIntent")
        assert node not in seen and depth_of(node) == step + 1
        seen.add(node)
    assert child_of(node, "RollDiceIntent") == node  # deeper steps fold into the depth-limit node
    assert child_of(ROOT, "A") != child_of(ROOT, "B") and child_of(ROOT, "A") == child_of(ROOT, "A")


# --- the API bodies against the OpenAPI document ------------------------------------------------------------


def validator(schema_name: str) -> Any:
    from jsonschema import Draft202012Validator

    document = openapi_document()
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    )


def sample_events() -> list[Event]:
    t = MONDAY * DAY_MS + 19 * 3_600_000
    common: dict[str, Any] = {"skill_id": SKILL, "customer": "c1", "session_id": "s1", "locale": "en-US"}
    launch = Event(
        request_id="r1", request_type="LaunchRequest", timestamp_ms=t, received_ms=t, new_session=True,
        should_end_session=False, session_start_ms=t, **common,
    )  # fmt: skip
    stop = Event(
        request_id="r2", request_type="IntentRequest", intent="AMAZON.StopIntent", timestamp_ms=t + 9000,
        received_ms=t, new_session=False, should_end_session=True, session_start_ms=t, previous_ms=t,
        last_intent="LaunchRequest", path_node=child_of(ROOT, "LaunchRequest"), **common,
    )  # fmt: skip
    back = Event(
        request_id="r3", request_type="LaunchRequest", timestamp_ms=t + 8 * DAY_MS, received_ms=t,
        new_session=True, should_end_session=False, session_start_ms=t + 8 * DAY_MS,
        **{**common, "session_id": "s2"},
    )  # fmt: skip
    return [launch, stop, back]


def test_retention_and_paths_bodies_conform_to_the_document() -> None:
    reporter = Reporter(RecomputedRollups(EventList(sample_events())), clock=lambda: (MONDAY + 10) * DAY_MS)
    window = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-15T00:00:00Z"}
    for params in (window, {**window, "cohort": "day"}, {}):
        body = reporter.retention(SKILL, params)
        validator("RetentionView").validate(body)
    paths = reporter.paths(SKILL, window)
    validator("PathsView").validate(paths)
    assert paths["sessions"] == 2 and paths["tree"]["children"][0]["node"]["children"]
    weekly = reporter.retention(SKILL, window)
    assert [c["customers"] for c in weekly["cohorts"]] == [1, 0]
    assert [(x["on"], x["onOrAfter"]) for x in weekly["cohorts"][0]["retention"]] == [(1, 1), (1, 1)]
    assert fold(sample_events())  # the events fold without errors at every granularity


def test_the_routes_are_documented() -> None:
    paths = openapi_document()["paths"]
    for route, operation in (("retention", "getRetention"), ("paths", "getPaths")):
        get = paths[f"/v1/skills/{{skillId}}/views/{route}"]["get"]
        assert get["operationId"] == operation
        assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("View")


@given(value=st.one_of(st.none(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=3)))
def test_a_stamped_path_is_read_defensively(value: Any) -> None:
    from alexa_skill_metrics.recording.classify import STAMP_KEY, Stamp

    stamp = Stamp.from_attributes({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "p": value}})
    assert stamp is not None
    assert stamp.path is None or (stamp.path == value and stamp.path[0].isdigit() and len(stamp.path) <= 16)


@given(
    params=st.dictionaries(
        st.sampled_from(["startTime", "endTime", "cohort", "stage", "locale", "period", "x"]),
        st.one_of(st.text(max_size=30), st.sampled_from(["week", "day", "live", "2026-01-05T00:00:00Z"])),
        max_size=5,
    )
)
@settings(max_examples=150, deadline=None)
def test_retention_parameters_give_a_report_or_a_400_naming_one(params: dict[str, str]) -> None:
    from alexa_skill_metrics.reporting.api import build_app, http_event

    app = build_app(Reporter(RecomputedRollups(EventList([])), clock=lambda: (MONDAY + 10) * DAY_MS))
    response = app.resolve(http_event(f"/v1/skills/{SKILL}/views/retention", params), {})
    body = json.loads(response["body"])
    assert response["statusCode"] in (200, 400), body
    if response["statusCode"] == 400:
        assert body["parameter"] in {*params, "endTime", "startTime"}
    else:
        validator("RetentionView").validate(body)
        assert not params.get("locale")
