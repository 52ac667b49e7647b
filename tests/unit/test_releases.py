"""The releases view's statistics and rules: Newcombe's interval, verdicts, same hours, defaults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alexa_skill_metrics.aggregation.rollup import new_rollup
from alexa_skill_metrics.model import Rollup, RollupKey
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.views.releases import (
    Rate,
    ReleasesRequest,
    releases,
    two_proportion_interval,
    verdict,
    wilson_interval,
)

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
HOUR = 3_600_000
T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z


# Newcombe, "Interval estimation for the difference between independent proportions: comparison of
# eleven methods", Statistics in Medicine 17 (1998), Table II, method 10 (score, no continuity
# correction): the textbook cases, zero counts and tiny samples among them.
NEWCOMBE = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
    ((10, 10, 0, 10), (0.6075, 1.0)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE)
def test_interval_matches_newcombes_table(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    _, low, high = two_proportion_interval(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_interval_of_zero_and_all_successes_is_not_a_point() -> None:
    assert [round(v, 4) for v in wilson_interval(0, 10)] == [0.0, 0.2775]
    assert [round(v, 4) for v in wilson_interval(10, 10)] == [0.7225, 1.0]
    assert wilson_interval(0, 0) == (0.0, 1.0)  # no trials: nothing is known


@given(
    st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_interval_holds_the_difference_and_stays_in_bounds(a: tuple[int, int], b: tuple[int, int]) -> None:
    difference, low, high = two_proportion_interval(*a, *b)
    assert -1.0 <= low <= difference <= high <= 1.0


def test_a_clear_rise_is_worse_and_a_clear_fall_better() -> None:
    worse = verdict(Rate(30, 1000), Rate(90, 1000), "failed-utterance rate")
    assert worse.verdict == "worse" and worse.ci_low > 0 and worse.difference == 0.06
    assert worse.summary.startswith(
        "worse: failed-utterance rate 9.0% (90 of 1,000) vs 3.0% (30 of 1,000), +6.0 pts"
    )
    assert verdict(Rate(90, 1000), Rate(30, 1000)).verdict == "better"


def test_equal_rates_over_plenty_of_traffic_show_no_evidence_of_a_change() -> None:
    result = verdict(Rate(50, 2000), Rate(52, 2000))
    assert result.verdict == "no evidence of a change" and result.ci_low < 0 < result.ci_high


def test_tiny_samples_and_zero_counts_are_too_little_traffic() -> None:
    assert verdict(Rate(0, 5), Rate(1, 6)).verdict == "too little traffic to tell"
    assert verdict(Rate(0, 0), Rate(3, 40)).verdict == "too little traffic to tell"  # nothing to compare with
    assert verdict(Rate(0, 40), Rate(0, 40)).verdict == "too little traffic to tell"  # interval too wide
    # A canary's first hour: few utterances, but every one failed: the interval excludes zero
    assert verdict(Rate(3, 1000), Rate(12, 12)).verdict == "worse"
    assert verdict(Rate(0, 0), Rate(0, 0)).summary.endswith(
        "n/a (none) vs n/a (none), +0.0 pts (95% CI -100.0 pts to +100.0 pts)"
    )


def hour_rollup(requests: int, failed: int = 0, customer: str = "c") -> Rollup:
    rollup = new_rollup(exact=True)
    rollup.requests_by_type = {"IntentRequest": requests}
    rollup.utterances, rollup.failed_utterances, rollup.unhandled = requests, failed, failed
    rollup.customers.add(customer)
    return rollup


def key(hour: int, release: str) -> RollupKey:
    return RollupKey(SKILL, "live", "PT1H", T0 + hour * HOUR, "en-US", "*", release)


def request(**params: str) -> ReleasesRequest:
    return ReleasesRequest.from_params(
        SKILL, {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z", **params}
    )


def test_two_releases_serving_at_once_are_compared_on_the_same_hours_only() -> None:
    # Given release 7 all day, and release 8 as a canary from 10:00 to 12:00
    found = [(key(h, "7"), hour_rollup(100, 1, f"c{h}")) for h in range(24)]
    found += [(key(h, "8"), hour_rollup(10, 3, f"d{h}")) for h in (10, 11)]
    view = releases(request(), found, T0, exact=True)
    # Then both are listed, the newer last, with their hours and shares
    assert [(r.release, r.first_seen, r.last_seen, r.requests) for r in view.releases] == [
        ("7", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", 2400),
        ("8", "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z", 20),
    ]
    assert view.releases[1].traffic_share == round(20 / 2420, 4)
    # And the comparison (defaults: 8 against 7) counts release 7 in hours 10 and 11 only
    comparison = view.comparison
    assert comparison is not None and comparison.compared_on == "same hours"
    assert (comparison.baseline.release, comparison.baseline.hours, comparison.baseline.utterances) == (
        "7",
        2,
        200,
    )
    assert (comparison.candidate.customers, comparison.failed_utterance_rate.candidate_count) == (2, 6)
    assert comparison.failed_utterance_rate.verdict == "worse" and comparison.verdict == "worse"


def test_releases_one_after_the_other_are_compared_over_their_own_hours() -> None:
    found = [(key(h, "7"), hour_rollup(100, 2)) for h in range(12)]
    found += [(key(h, "8"), hour_rollup(100, 2)) for h in range(12, 24)]
    comparison = releases(request(), found, T0, exact=True).comparison
    assert comparison is not None and comparison.compared_on == "own hours"
    assert (comparison.baseline.hours, comparison.candidate.hours) == (12, 12)
    assert comparison.failed_utterance_rate.verdict == "no evidence of a change"


def test_exit_rates_are_compared_per_prompt_and_over_all_prompts() -> None:
    # Given release 7 and then 8, whose customers walk away from the dice's question far more often
    def with_exits(rollup: Rollup, rolls: tuple[int, int], scores: tuple[int, int]) -> Rollup:
        rollup.kept_open = {"RollDiceIntent": rolls[1], "CheckScoreIntent": scores[1]}
        rollup.exited_after = {"RollDiceIntent": rolls[0], "CheckScoreIntent": scores[0]}
        return rollup

    found = [(key(h, "7"), with_exits(hour_rollup(200), (5, 100), (10, 100))) for h in range(12)]
    found += [(key(h, "8"), with_exits(hour_rollup(200), (40, 100), (10, 100))) for h in range(12, 24)]
    comparison = releases(request(), found, T0, exact=True).comparison
    assert comparison is not None
    # Then each prompt has both sides' exits and prompts, the largest rise first
    rows = [
        (r.intent, r.exit_rate.baseline_count, r.exit_rate.candidate_count)
        for r in comparison.prompt_exit_rates
    ]
    assert rows == [("RollDiceIntent", 60, 480), ("CheckScoreIntent", 120, 120)]
    dice, score = (r.exit_rate for r in comparison.prompt_exit_rates)
    assert (dice.baseline_of, dice.verdict, score.verdict) == (1200, "worse", "no evidence of a change")
    assert dice.summary.startswith("worse: exit rate after RollDiceIntent 40.0%")
    # And the exit rate over all prompts is (5 + 10) of 200 an hour against (40 + 10), and decides the verdict
    overall = comparison.exit_rate
    assert (overall.baseline_count, overall.baseline_of, overall.candidate_count) == (180, 2400, 600)
    assert overall.verdict == "worse" and comparison.failed_utterance_rate.verdict != "worse"
    assert comparison.verdict == "worse"


def test_baseline_and_candidate_can_be_named_and_must_exist() -> None:
    found = [(key(h, r), hour_rollup(50)) for h, r in ((0, "-"), (3, "7"), (6, "8"))]
    named = releases(request(baseline="-", candidate="8"), found, T0, exact=True).comparison
    assert named is not None and (named.baseline.release, named.candidate.release) == ("-", "8")
    by_default = releases(request(candidate="7"), found, T0, exact=True).comparison
    assert by_default is not None and by_default.baseline.release == "-"  # the one seen before it
    missing = releases(request(candidate="9"), found, T0, exact=True)
    assert missing.comparison is None and missing.note == "release 9 served no request in this range"
    alone = releases(request(), found[:1], T0, exact=True)
    assert alone.comparison is None and alone.note == "fewer than two releases served requests in this range"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"baseline": "7", "candidate": "7"}, "candidate"), ({"candidate": "a#b"}, "candidate"),
     ({"release": "7"}, "release"), ({"endTime": "2026-06-05T00:00:00Z"}, "endTime")],
)  # fmt: skip
def test_bad_parameters_name_themselves(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(BadRequest) as raised:
        request(**params)
    assert raised.value.parameter == parameter
