"""The releases view: which releases served a range, and two of them side by side (METRICS.md, Releases).

It reads the hourly all-intents rollups of the range (one item per hour, locale and release).
A release's **requests** are those it served; its session figures are those of the sessions it
started. The list gives each release's first and last hour with a request, its requests and its
traffic share. The comparison (``baseline`` and ``candidate``, by default the two releases seen
first most recently) puts the figures of each side by side; where both served in the same hours
(a weighted alias, a canary), only those hours count for both, so the comparison is not one
release's evening against the other's morning.

Each rate's difference (candidate minus baseline) has a 95% confidence interval by Newcombe's
hybrid score method (his method 10: Wilson score intervals of each proportion, combined), which
stays within [-1, 1] and honest at zero counts and tiny samples, where the textbook Wald interval
collapses to a point. The verdict reads the interval: ``worse`` or ``better`` when it excludes
zero, ``too little traffic to tell`` when it does not and either side has fewer than
``MIN_DENOMINATOR`` in the rate's denominator or the interval is wider than ``MAX_WIDTH``, else
``no evidence of a change``.

Example
-------
>>> diff, low, high = two_proportion_interval(56, 70, 48, 80)  # Newcombe (1998), example (a)
>>> round(diff, 4), round(low, 4), round(high, 4)
(0.2, 0.0524, 0.3339)
>>> verdict(Rate(30, 1000), Rate(90, 1000)).verdict
'worse'
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.periods import HOUR_MS
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.params import (
    LOCALE,
    MAX_VIEW_POINTS,
    RELEASE,
    ceil_ms,
    check_known,
    check_skill_id,
    choice,
    format_time,
    parse_range,
    pattern,
)
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import endpoint, ratio
from alexa_skill_metrics.reporting.views.friction import exits, friction_figures, prompts_customers_leave

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Rollup, RollupKey
    from alexa_skill_metrics.reporting.views.friction import PromptExits

RELEASES_PARAMS = ("startTime", "endTime", "stage", "locale", "baseline", "candidate")
RELEASES_GRANULARITY = "PT1H"
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
MIN_DENOMINATOR = 30  # below this many (utterances) on either side a non-significant result says little
MAX_WIDTH = 0.10  # an interval wider than 10 percentage points cannot rule out a change that matters
Verdict = Literal["worse", "better", "no evidence of a change", "too little traffic to tell"]
SAME_HOURS = "same hours"
OWN_HOURS = "own hours"


@dataclass(frozen=True, slots=True)
class ReleasesRequest:
    """Releases of one skill and stage (and locale) in ``[start_ms, end_ms)``, whole hours."""

    skill_id: str
    stage: str
    locale: str | None
    start_ms: int
    end_ms: int
    baseline: str | None = None
    candidate: str | None = None

    @classmethod
    def from_params(cls, skill_id: str, params: Mapping[str, str]) -> ReleasesRequest:
        """Validate query parameters; the range is widened to whole hours (the view reads hourly rollups)."""
        check_skill_id(skill_id)
        check_known(params, RELEASES_PARAMS)
        start, end = parse_range(params)
        start, end = start - start % HOUR_MS, ceil_ms(end, RELEASES_GRANULARITY)
        if (end - start) // HOUR_MS > MAX_VIEW_POINTS:
            raise BadRequest(
                "endTime",
                f"is more than {MAX_VIEW_POINTS} hours after startTime; compare over a shorter range",
            )
        baseline = pattern("baseline", params.get("baseline"), RELEASE, "7 or v1.4.2")
        candidate = pattern("candidate", params.get("candidate"), RELEASE, "8 or v1.5.0")
        if baseline is not None and baseline == candidate:
            raise BadRequest("candidate", f"is the baseline ({baseline}); compare two different releases")
        return cls(
            skill_id=skill_id,
            stage=choice("stage", params.get("stage"), STAGES, "live"),
            locale=pattern("locale", params.get("locale"), LOCALE, "en-US"),
            start_ms=start,
            end_ms=end,
            baseline=baseline,
            candidate=candidate,
        )


# --- the statistics -------------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; ``(0, 1)`` without trials.

    >>> [round(v, 4) for v in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if trials <= 0:
        return 0.0, 1.0
    p = min(successes, trials) / trials  # a rate of events per trial above 1 is read as 1
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def two_proportion_interval(
    x1: int, n1: int, x2: int, n2: int, z: float = Z_95
) -> tuple[float, float, float]:
    """``(p1 - p2, low, high)``: the difference of two proportions with Newcombe's hybrid score interval.

    Without trials on a side its proportion is unknown: the interval then spans what the other
    side allows (Wilson's ``(0, 1)`` for the empty side).
    """
    p1 = x1 / n1 if n1 else 0.0
    p2 = x2 / n2 if n2 else 0.0
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, max(-1.0, low), min(1.0, high)


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``of``: a rate's numerator and denominator (a proportion: count <= of)."""

    count: int
    of: int

    @property
    def value(self) -> float:
        return ratio(self.count, self.of)


@dataclass(frozen=True)
class RateComparison:
    """A rate of both releases, the candidate's difference, its 95% interval and the verdict."""

    baseline: float = field(metadata=doc("The baseline's rate (0 without traffic)"))
    candidate: float = field(metadata=doc("The candidate's rate"))
    baseline_count: int = field(metadata=doc("The baseline's numerator"))
    baseline_of: int = field(metadata=doc("The baseline's denominator"))
    candidate_count: int = field(metadata=doc("The candidate's numerator"))
    candidate_of: int = field(metadata=doc("The candidate's denominator"))
    difference: float = field(metadata=doc("candidate - baseline (a rate difference, not relative)"))
    ci_low: float = field(metadata=doc("95% confidence interval of the difference, lower end (Newcombe)"))
    ci_high: float = field(metadata=doc("95% confidence interval of the difference, upper end"))
    verdict: str = field(
        metadata=doc(
            "worse or better (the interval excludes 0; higher is worse for every rate here), "
            "too little traffic to tell (it does not, and a side has fewer than 30 in the denominator "
            "or the interval is wider than 10 points), or no evidence of a change"
        )
    )
    summary: str = field(metadata=doc("The verdict with its numbers, in one line"))


def verdict(baseline: Rate, candidate: Rate, label: str = "rate") -> RateComparison:
    """Compare ``candidate`` to ``baseline``; a higher rate is worse."""
    # Newcombe's difference is p1 - p2: the candidate first, so a positive difference is an increase.
    difference, low, high = two_proportion_interval(
        candidate.count, candidate.of, baseline.count, baseline.of
    )
    outcome: Verdict
    if not baseline.of or not candidate.of:
        outcome = "too little traffic to tell"
    elif low > 0:
        outcome = "worse"
    elif high < 0:
        outcome = "better"
    elif min(baseline.of, candidate.of) < MIN_DENOMINATOR or high - low > MAX_WIDTH:
        outcome = "too little traffic to tell"
    else:
        outcome = "no evidence of a change"
    summary = (
        f"{outcome}: {label} {_percent(candidate)} vs {_percent(baseline)}, "
        f"{_points(difference)} (95% CI {_points(low)} to {_points(high)})"
    )
    return RateComparison(
        baseline=baseline.value,
        candidate=candidate.value,
        baseline_count=baseline.count,
        baseline_of=baseline.of,
        candidate_count=candidate.count,
        candidate_of=candidate.of,
        difference=round(difference, 4),
        ci_low=round(low, 4),
        ci_high=round(high, 4),
        verdict=outcome,
        summary=summary,
    )


def _percent(rate: Rate) -> str:
    return f"{100 * rate.count / rate.of:.1f}% ({rate.count:,} of {rate.of:,})" if rate.of else "n/a (none)"


def _points(difference: float) -> str:
    return f"{100 * difference:+.1f} pts"


# --- the view ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseSeen:
    """One release that served requests in the range."""

    release: str = field(
        metadata=doc(
            "The release as recorded: METRICS_RELEASE's label, else the Lambda function version; "
            "- for requests recorded without one"
        )
    )
    first_seen: str = field(metadata=doc("Start of the first hour with a request it served", fmt="date-time"))
    last_seen: str = field(metadata=doc("End of the last hour with a request it served", fmt="date-time"))
    requests: int = field(metadata=doc("Requests it served in the range (every request type)"))
    utterances: int = field(metadata=doc("Utterances it served in the range"))
    traffic_share: float = field(metadata=doc("Its requests / all requests in the range"))


@dataclass(frozen=True)
class ReleaseFigures:
    """One side of a comparison: its figures over the hours compared."""

    release: str = field(metadata=doc("The release"))
    hours: int = field(metadata=doc("Hours compared (with a request it served)"))
    customers: int = field(metadata=doc("Unique customers with an utterance it served"))
    utterances: int = field(metadata=doc("Utterances it served"))
    sessions_started: int = field(metadata=doc("Tracked sessions it started"))
    utterances_per_session: float = field(
        metadata=doc("Utterances of tracked sessions / sessions started (0 without sessions)")
    )
    endpoint_p50_ms: float | None = field(metadata=doc("Median endpoint time of its utterances, ms"))
    endpoint_p90_ms: float | None = field(metadata=doc("90th percentile endpoint time, ms"))
    endpoint_p99_ms: float | None = field(metadata=doc("99th percentile endpoint time, ms"))


@dataclass(frozen=True)
class PromptExitRate:
    """One prompt intent's exit rate, both releases (the friction view's ``exits`` row of each)."""

    intent: str = field(metadata=doc("The intent whose reply kept the session open (the prompt)"))
    exit_rate: RateComparison = field(
        metadata=doc("Exits right after its prompts / its prompts (the friction view's exitRate)")
    )


@dataclass(frozen=True)
class ReleaseComparison:
    """Two releases side by side; rates with a 95% interval of their difference and a verdict."""

    baseline: ReleaseFigures = field(metadata=doc("The release compared against"))
    candidate: ReleaseFigures = field(metadata=doc("The release being judged"))
    compared_on: str = field(
        metadata=doc(
            "same hours: both served in some hours (a weighted alias), and only those hours count for "
            "either; own hours: each release over the hours it served in the range"
        )
    )
    failed_utterance_rate: RateComparison = field(metadata=doc("Failed utterances / utterances"))
    unhandled_rate: RateComparison = field(
        metadata=doc("Unhandled utterances (AMAZON.FallbackIntent or failed) / utterances")
    )
    friction_rate: RateComparison = field(
        metadata=doc("(unhandled + terminations + noResponse) / utterances, as in the friction view")
    )
    cold_start_share: RateComparison = field(metadata=doc("Cold starts / utterances with a handler time"))
    exit_rate: RateComparison = field(
        metadata=doc("Exits at a prompt / prompts (replies that kept the session open), every prompt intent")
    )
    prompt_exit_rates: list[PromptExitRate] = field(
        metadata=doc(
            "The exit rate per prompt intent, largest rise first (then by intent). Each has its verdict; "
            "they do not enter the overall verdict, where among many prompts one would read worse by "
            "chance alone (its exitRate does)"
        )
    )
    verdict: str = field(
        metadata=doc(
            "worse if any of the five rates is worse; else better if any is better; else too little "
            "traffic to tell if any rate says so; else no evidence of a change"
        )
    )


@dataclass(frozen=True)
class ReleasesView:
    """The releases that served a range, and two of them compared."""

    view: str = field(metadata=doc("releases"))
    skill_id: str = field(metadata=doc("The skill (amzn1.ask.skill.<uuid>)"))
    stage: str = field(metadata=doc("live or development"))
    locale: str | None = field(metadata=doc("The locale filter, or null for every locale"))
    start_time: str = field(metadata=doc("Effective start: startTime floored to the hour", fmt="date-time"))
    end_time: str = field(metadata=doc("Effective end: endTime ceiled to the hour", fmt="date-time"))
    as_of: str = field(metadata=doc("The report's time", fmt="date-time"))
    releases: list[ReleaseSeen] = field(
        metadata=doc("Every release with a request in the range, first seen first")
    )
    comparison: ReleaseComparison | None = field(
        metadata=doc("baseline against candidate; null when the range holds fewer than two releases")
    )
    note: str | None = field(metadata=doc("Why there is no comparison, or null"))


Hourly = dict[str, dict[int, list["Rollup"]]]  # release -> hour start -> rollups (locales)


def releases(
    request: ReleasesRequest, found: Sequence[tuple[RollupKey, Rollup]], now_ms: int, *, exact: bool
) -> ReleasesView:
    """Build the view from the hourly all-intents rollups of the range (every release's)."""
    from alexa_skill_metrics.aggregation.rollup import new_rollup

    hourly: Hourly = defaultdict(lambda: defaultdict(list))
    for key, rollup in found:
        if request.start_ms <= key.bucket_ms < request.end_ms:
            hourly[key.release][key.bucket_ms].append(rollup)

    def merged(release: str, hours: Sequence[int]) -> Rollup:
        total = new_rollup(exact=exact)
        for hour in hours:
            for rollup in hourly[release].get(hour, ()):
                total.merge(rollup)
        return total

    served = {
        release: sorted(h for h, parts in by_hour.items() if sum(_requests(p) for p in parts))
        for release, by_hour in hourly.items()
    }
    served = {release: hours for release, hours in served.items() if hours}
    totals = {release: merged(release, hours) for release, hours in served.items()}
    all_requests = sum(_requests(r) for r in totals.values())
    order = sorted(served, key=lambda r: (served[r][0], served[r][-1], r))
    listed = [
        ReleaseSeen(
            release=release,
            first_seen=format_time(served[release][0]),
            last_seen=format_time(served[release][-1] + HOUR_MS),
            requests=_requests(totals[release]),
            utterances=totals[release].utterances,
            traffic_share=ratio(_requests(totals[release]), all_requests),
        )
        for release in order
    ]
    comparison, note = None, None
    baseline, candidate = request.baseline, request.candidate
    if candidate is None:
        candidate = next((r for r in reversed(order) if r != baseline), None)
    if baseline is None and candidate in order:
        earlier = order[: order.index(candidate)]  # by default: the release seen first before it
        baseline = earlier[-1] if earlier else None
    missing = [name for name in (baseline, candidate) if name is not None and name not in served]
    if missing:
        note = f"release {missing[0]} served no request in this range"
    elif baseline is None or candidate is None:
        note = "fewer than two releases served requests in this range"
    else:
        shared = sorted(set(served[baseline]) & set(served[candidate]))
        # hours both served when there are any (a weighted alias), else each release's own
        base_hours, cand_hours = shared or served[baseline], shared or served[candidate]
        comparison = _compare(
            merged(baseline, base_hours),
            merged(candidate, cand_hours),
            (baseline, len(base_hours)),
            (candidate, len(cand_hours)),
            SAME_HOURS if shared else OWN_HOURS,
        )
    return ReleasesView(
        view="releases",
        skill_id=request.skill_id,
        stage=request.stage,
        locale=request.locale,
        start_time=format_time(request.start_ms),
        end_time=format_time(request.end_ms),
        as_of=format_time(now_ms),
        releases=listed,
        comparison=comparison,
        note=note,
    )


def _requests(rollup: Rollup) -> int:
    return sum(rollup.requests_by_type.values())


def _figures(release: str, hours: int, rollup: Rollup) -> ReleaseFigures:
    times = endpoint(rollup)
    return ReleaseFigures(
        release=release,
        hours=hours,
        customers=rollup.customers.count(),
        utterances=rollup.utterances,
        sessions_started=rollup.sessions_started,
        utterances_per_session=ratio(rollup.tracked_utterances, rollup.sessions_started),
        endpoint_p50_ms=times.p50,
        endpoint_p90_ms=times.p90,
        endpoint_p99_ms=times.p99,
    )


def _rates(rollup: Rollup) -> dict[str, Rate]:
    """The compared rates of one side: the friction view's events, every view's cold-start share."""
    friction_events = friction_figures(rollup)["friction_events"]  # the friction view's own rule
    return {
        "failed-utterance rate": Rate(rollup.failed_utterances, rollup.utterances),
        "unhandled rate": Rate(rollup.unhandled, rollup.utterances),
        "friction rate": Rate(friction_events, rollup.utterances),
        "cold-start share": Rate(rollup.cold_starts, rollup.latency.total()),
        "exit rate": Rate(exits(rollup), sum(rollup.kept_open.values())),  # the friction view's rows summed
    }


def _exit_rate(row: PromptExits | None) -> Rate:
    return Rate(row.exits, row.prompts) if row is not None else Rate(0, 0)


def _prompt_exit_rates(base: Rollup, cand: Rollup) -> list[PromptExitRate]:
    """Each prompt intent either release asked, with its exit rate on both sides."""
    before = {row.intent: row for row in prompts_customers_leave(base)}
    after = {row.intent: row for row in prompts_customers_leave(cand)}
    rows = []
    for intent in before.keys() | after.keys():
        was, now = before.get(intent), after.get(intent)
        rate = verdict(_exit_rate(was), _exit_rate(now), f"exit rate after {intent}")
        rows.append(PromptExitRate(intent=intent, exit_rate=rate))
    return sorted(rows, key=lambda row: (-row.exit_rate.difference, row.intent))


def _compare(
    base: Rollup, cand: Rollup, base_side: tuple[str, int], cand_side: tuple[str, int], on: str
) -> ReleaseComparison:
    before, after = _rates(base), _rates(cand)
    rates = {name: verdict(before[name], after[name], name) for name in before}
    verdicts = [r.verdict for r in rates.values()]
    overall: Verdict
    if "worse" in verdicts:
        overall = "worse"
    elif "better" in verdicts:
        overall = "better"
    elif "too little traffic to tell" in verdicts:
        overall = "too little traffic to tell"
    else:
        overall = "no evidence of a change"
    return ReleaseComparison(
        baseline=_figures(*base_side, base),
        candidate=_figures(*cand_side, cand),
        compared_on=on,
        failed_utterance_rate=rates["failed-utterance rate"],
        unhandled_rate=rates["unhandled rate"],
        friction_rate=rates["friction rate"],
        cold_start_share=rates["cold-start share"],
        exit_rate=rates["exit rate"],
        prompt_exit_rates=_prompt_exit_rates(base, cand),
        verdict=overall,
    )
