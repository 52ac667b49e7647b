"""Retention and paths from stored rollups equal the same figures computed straight from raw events.

Five weeks of seeded traffic (customers returning over the weeks, one-shot starts, reprompts,
failures, silences, exits) go through the real sample skill and recorder, then through the
aggregator's Lambda entry point into moto. The references below implement METRICS.md's
"Retention (cohorts)" and "Interaction paths" directly over the events, independently of the
aggregator's counters; the recomputation path (``RecomputedRollups``) is checked against them too.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from alexa_skill_metrics.config import DEFAULT_ROLLUP_PARTS as ROLLUP_PARTS
from alexa_skill_metrics.model import SESSION_ENDED, EndType, Event, Outcome
from alexa_skill_metrics.pathtree import MAX_DEPTH
from alexa_skill_metrics.reporting import BadRequest
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.storage.rollups import RollupStore
from tests.functional.reporting_fixtures import (
    DAY_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    events_of,
    moto_table,
    record,
)

DAYS = 35
END_MS = START_MS + DAYS * DAY_MS
WEEK_MS = 7 * DAY_MS
TABLE = "retention-paths"
NOW_MS = END_MS - 5 * 3_600_000  # the last day is still in progress; its late sessions still open
_ANSWERED = (Outcome.RESPONSE, Outcome.HANDLED)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    items = record(customers=50, days=DAYS, seed=31) + record(
        customers=8, days=DAYS, seed=32, stage="development"
    )
    # Recorded up to "now", late on the last day
    items = [item for item, event in zip(items, events_of(items), strict=True) if event.timestamp_ms < NOW_MS]
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, items)
        yield Deployment(client, TABLE, events_of(items), now_ms=NOW_MS)


# --- the references, straight from METRICS.md ---------------------------------------------------------


def reference_retention(
    events: list[Event], period_ms: int, start_ms: int, end_ms: int
) -> list[dict[str, Any]]:
    """Per cohort period in the range: customers, and per offset (up to now) "on" and "on or after"."""
    active: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.is_utterance and e.customer is not None and e.stage == "live":
            active[e.customer].add((e.timestamp_ms - START_MS) // period_ms)  # START_MS is a Monday
    first, last = (start_ms - START_MS) // period_ms, (end_ms - START_MS) // period_ms
    current = (NOW_MS - START_MS) // period_ms
    cohorts = []
    for cohort in range(first, min(last, current + 1)):
        members = [periods for periods in active.values() if min(periods) == cohort]
        cells = [
            {
                "on": sum(1 for periods in members if offset in periods),
                "onOrAfter": sum(1 for periods in members if any(offset <= p < last for p in periods)),
            }
            for offset in range(cohort, min(last, current + 1))
        ]
        cohorts.append({"customers": len(members), "cells": cells})
    return cohorts


def observed_retention(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "customers": c["customers"],
            "cells": [{"on": x["on"], "onOrAfter": x["onOrAfter"]} for x in c["retention"]],
        }
        for c in view["cohorts"]
    ]


def session_paths(
    events: list[Event], start_ms: int, end_ms: int, locale: str | None
) -> list[tuple[list[str], str]]:
    """Each tracked session started in the range: its answered steps and its exit."""
    sessions: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.session_id is not None and e.stage == "live" and e.session_start_ms is not None:
            sessions[e.session_id].append(e)
    out = []
    for session in sessions.values():
        session.sort(key=lambda e: (e.timestamp_ms, e.request_id))
        start = session[0]
        if not start.starts_session or not start_ms <= start.timestamp_ms < end_ms:
            continue
        if locale is not None and start.locale != locale:
            continue
        steps: list[str] = []
        exit_: str | None = None
        last_ms = start.timestamp_ms
        for e in session:
            if e.is_utterance and e.outcome in _ANSWERED:
                steps.append(e.intent_key or "unknown")
                last_ms = e.timestamp_ms
                if e.should_end_session is True:
                    exit_ = EndType.SKILL_ENDED.value
            elif e.is_utterance and e is start:
                exit_ = EndType.FAILED.value  # the first reply never went out
            elif e.request_type == SESSION_ENDED:
                exit_ = e.end_type.value if e.end_type else EndType.UNKNOWN.value
            if exit_ is not None:
                break
        if exit_ is None:
            idle = NOW_MS - (last_ms // 60_000 + 1) * 60_000
            exit_ = "incomplete" if idle >= 3_600_000 else "active"
        out.append((steps, exit_))
    return out


def reference_tree(paths: list[tuple[list[str], str]]) -> dict[tuple[str, ...], Counter[str]]:
    """Prefix (to depth MAX_DEPTH) -> next steps and exits, counted."""
    tree: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for steps, exit_ in paths:
        kept = steps[:MAX_DEPTH]
        for depth, step in enumerate(kept):
            tree[tuple(kept[:depth])][step] += 1
        tree[tuple(kept)]["exit:" + exit_] += 1
    return tree


def reference_transitions(paths: list[tuple[list[str], str]]) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for steps, exit_ in paths:
        chain = ["start", *steps]
        found.update(itertools.pairwise(chain))
        if exit_ not in ("active", "incomplete"):
            found[(chain[-1], "exit:" + exit_)] += 1
    return found


def observed_tree(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Counter[str]]:
    tree: dict[tuple[str, ...], Counter[str]] = {prefix: Counter()}
    assert node["sessions"] == sum(c["sessions"] for c in node["children"]), prefix
    for child in node["children"]:
        tree[prefix][child["step"]] = child["sessions"]
        if child["node"] is not None:
            assert child["node"]["sessions"] == child["sessions"]
            tree.update(observed_tree(child["node"], (*prefix, child["step"])))
    return tree


def times(start_ms: int, end_ms: int, **params: str) -> dict[str, str]:
    return {"startTime": format_time(start_ms), "endTime": format_time(end_ms), **params}


# --- retention -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cohort", "period_ms"), [("week", WEEK_MS), ("day", DAY_MS)])
def test_retention_from_rollups_equals_the_reference(
    deployment: Deployment, cohort: str, period_ms: int
) -> None:
    # Given the five weeks' cohorts asked from both sources
    params = times(START_MS, END_MS, cohort=cohort)
    stored = deployment.stored().retention(SKILL, params)
    recomputed = deployment.recomputed().retention(SKILL, params)
    # Then both equal the figures computed from the events, exactly
    expected = reference_retention(deployment.events, period_ms, START_MS, END_MS)
    assert observed_retention(stored) == expected
    assert stored == recomputed
    # And the traffic really exercises retention: customers came back weeks later
    assert stored["customers"] > 20
    if cohort == "week":
        assert len(stored["cohorts"]) == 5
        assert stored["cohorts"][0]["retention"][3]["on"] > 0


def test_retention_from_a_later_start_counts_only_later_cohorts(deployment: Deployment) -> None:
    params = times(
        START_MS + 2 * WEEK_MS + DAY_MS, END_MS - 2 * DAY_MS
    )  # floored to week 3, ceiled to week 5
    view = deployment.stored().retention(SKILL, params)
    assert view["startTime"] == format_time(START_MS + 2 * WEEK_MS)
    assert observed_retention(view) == reference_retention(
        deployment.events, WEEK_MS, START_MS + 2 * WEEK_MS, END_MS
    )


def test_periods_in_progress_are_marked_not_dropped(deployment: Deployment) -> None:
    view = deployment.stored().retention(SKILL, times(START_MS, END_MS))
    last = view["cohorts"][-1]
    assert last["inProgress"] and last["retention"][-1]["inProgress"]
    assert not view["cohorts"][0]["inProgress"]
    assert [c["inProgress"] for c in view["cohorts"][0]["retention"]] == [False] * 4 + [True]
    for cohort in view["cohorts"]:
        cells = cohort["retention"]
        assert cells[0]["on"] == cells[0]["onOrAfter"] == cohort["customers"]
        assert cells[0]["onShare"] == (1.0 if cohort["customers"] else 0.0)
        # "on or after" never grows with the offset, and is at least "on"
        assert all(a["onOrAfter"] >= b["onOrAfter"] for a, b in itertools.pairwise(cells))
        assert all(c["onOrAfter"] >= c["on"] for c in cells)


def test_retention_reads_items_per_day_not_per_customer(deployment: Deployment) -> None:
    reporter = deployment.stored()
    reporter.retention(SKILL, times(START_MS, END_MS))
    day_rollups = RollupStore(TABLE, deployment.client)
    buckets = len(day_rollups.query(SKILL, "live", "P1D", START_MS, END_MS))
    # Each day rollup of the range once (a rollup is stored in up to ROLLUP_PARTS parts), nothing more
    assert reporter.source.items_read == day_rollups.items_read <= buckets * ROLLUP_PARTS
    assert buckets <= DAYS * 4  # days x (3 locales and "-")


def test_retention_is_per_stage_and_refuses_a_locale(deployment: Deployment) -> None:
    development = deployment.stored().retention(SKILL, times(START_MS, END_MS, stage="development"))
    live = deployment.stored().retention(SKILL, times(START_MS, END_MS))
    assert 0 < development["customers"] < live["customers"]
    with pytest.raises(BadRequest) as raised:
        deployment.stored().retention(SKILL, times(START_MS, END_MS, locale="en-US"))
    assert raised.value.parameter == "locale"


# --- paths -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", [None, "de-DE"])
@pytest.mark.parametrize("span", [(0, DAYS), (8, 9)])
def test_path_tree_from_rollups_equals_the_reference(
    deployment: Deployment, locale: str | None, span: tuple[int, int]
) -> None:
    start, end = START_MS + span[0] * DAY_MS, START_MS + span[1] * DAY_MS
    params = times(start, end, **({"locale": locale} if locale else {}))
    stored = deployment.stored().paths(SKILL, params)
    recomputed = deployment.recomputed().paths(SKILL, params)
    expected = session_paths(deployment.events, start, end, locale)
    assert stored["sessions"] == len(expected) > 0
    assert observed_tree(stored["tree"]) == {k: v for k, v in reference_tree(expected).items()}
    got = Counter({(t["source"], t["target"]): t["sessions"] for t in stored["transitions"]})
    assert got == reference_transitions(expected)
    assert stored == recomputed


def test_paths_exercise_depth_exits_and_one_shots(deployment: Deployment) -> None:
    view = deployment.stored().paths(SKILL, times(START_MS, END_MS))
    first_steps = {c["step"] for c in view["tree"]["children"]}
    assert {"LaunchRequest", "RollDiceIntent"} <= first_steps  # launches and one-shot starts
    exits = {t["target"] for t in view["transitions"] if t["target"].startswith("exit:")}
    assert {"exit:skill_ended", "exit:user_ended", "exit:no_response", "exit:failed"} <= exits

    def depth(node: dict[str, Any]) -> int:
        return max([depth(c["node"]) for c in node["children"] if c["node"]], default=node["depth"])

    assert depth(view["tree"]) == MAX_DEPTH
    shares = [c["share"] for c in view["tree"]["children"]]
    assert sum(shares) == pytest.approx(1.0, abs=0.001)
