"""What every view shares: the rollups it reads (``Frame``), its header, points, ratios, percentiles.

Views are pure: rollups in, a frozen dataclass out. A point with no traffic is zeros (an empty
rollup), never a missing point; ratios are 0 when their denominator is 0; unique customers of
any point or range come from merged sketches (a union), never from a sum.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> from alexa_skill_metrics.model import RollupKey
>>> from alexa_skill_metrics.reporting.params import ReportRequest
>>> hour = 1_767_607_200_000
>>> r = new_rollup(exact=True); r.utterances = 4
>>> frame = Frame(ReportRequest("amzn1.ask.skill.1", hour, hour + 2 * 3_600_000, "PT1H"), now_ms=hour,
...               exact=True, rollups=[(RollupKey("amzn1.ask.skill.1", "live", "PT1H", hour, "en-US"), r)])
>>> [(start - hour, point.utterances) for start, point in frame.points()]
[(0, 4), (3600000, 0)]
>>> ratio(1, 3), ratio(5, 0)
(0.3333, 0.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.aggregation.rollup import new_rollup
from alexa_skill_metrics.model import Rollup, RollupKey
from alexa_skill_metrics.periods import BUCKET_MS, floor_ms
from alexa_skill_metrics.reporting.params import ReportRequest, format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.sketches import QuantileSummary

RATIO_DIGITS = 4
LATENCY_DIGITS = 3


@dataclass(frozen=True, slots=True)
class Frame:
    """The rollups one view reads, with the request (its range already aligned) and the report time."""

    request: ReportRequest
    now_ms: int
    exact: bool
    rollups: Sequence[tuple[RollupKey, Rollup]]

    def empty(self) -> Rollup:
        return new_rollup(exact=self.exact)

    def merge(self, rollups: Iterable[Rollup]) -> Rollup:
        """A new rollup holding all of ``rollups`` (which are left unchanged)."""
        merged = self.empty()
        for rollup in rollups:
            merged.merge(rollup)
        return merged

    def points(self, granularity: str | None = None) -> list[tuple[int, Rollup]]:
        """Every point of the range, in order, merged across locales (and intents, if several).

        ``granularity`` defaults to the request's period; ``SINGLE`` is one point for the range.
        """
        return self.regroup([(key.bucket_ms, rollup) for key, rollup in self.rollups], granularity)

    def regroup(
        self, parts: Iterable[tuple[int, Rollup]], granularity: str | None = None
    ) -> list[tuple[int, Rollup]]:
        """Merge ``(bucket start, rollup)`` parts into every point of the range at ``granularity``."""
        period = granularity or self.request.period
        start, end = self.request.start_ms, self.request.end_ms
        if period == "SINGLE":
            return [(start, self.merge(rollup for _, rollup in parts))]
        groups: dict[int, list[Rollup]] = {p: [] for p in range(start, end, BUCKET_MS[period])}
        for bucket_ms, rollup in parts:
            groups[floor_ms(bucket_ms, period)].append(rollup)
        return [(p, self.merge(group)) for p, group in groups.items()]

    def by_intent(self) -> dict[str, Rollup]:
        """Per-intent rollups merged over the range and locales, by intent key."""
        groups: dict[str, list[Rollup]] = {}
        for key, rollup in self.rollups:
            groups.setdefault(key.intent, []).append(rollup)
        return {intent: self.merge(group) for intent, group in groups.items()}


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` to 4 decimals; 0 when the denominator is 0 (METRICS.md)."""
    return round(numerator / denominator, RATIO_DIGITS) if denominator else 0.0


@dataclass(frozen=True)
class LatencyMs:
    """Handler latency percentiles in milliseconds; null when there were no utterances."""

    p50: float | None = field(metadata=doc("Median handler time of utterances, ms"))
    p90: float | None = field(metadata=doc("90th percentile handler time of utterances, ms"))
    p99: float | None = field(metadata=doc("99th percentile handler time of utterances, ms"))


def latency(summary: QuantileSummary) -> LatencyMs:
    def q(rank: float) -> float | None:
        value = summary.quantile(rank)
        return None if value is None else round(value, LATENCY_DIGITS)

    return LatencyMs(q(0.5), q(0.9), q(0.99))


@dataclass(frozen=True)
class EndpointMs:
    """Endpoint time percentiles in milliseconds (handler time plus start-up on cold starts)."""

    p50: float | None = field(metadata=doc("Median endpoint time of utterances, ms"))
    p90: float | None = field(metadata=doc("90th percentile endpoint time of utterances, ms"))
    p99: float | None = field(metadata=doc("99th percentile endpoint time of utterances, ms"))


def endpoint(rollup: Rollup) -> EndpointMs:
    """Endpoint-time percentiles of a rollup (its handler latency where it holds no cold start)."""
    handler = latency(rollup.endpoint_summary())
    return EndpointMs(handler.p50, handler.p90, handler.p99)


def cold_start_share(rollup: Rollup) -> float:
    """Cold starts / utterances with a handler time (METRICS.md, Cold starts and endpoint time)."""
    return ratio(rollup.cold_starts, rollup.latency.total())


@dataclass(frozen=True)
class Timed:
    """A point of a series."""

    start: str = field(
        metadata=doc(
            "Start of the point's bucket (UTC, ISO 8601); for period SINGLE the start of the range",
            fmt="date-time",
        )
    )


@dataclass(frozen=True)
class ViewHeader:
    """What every view echoes: which report this is, over which effective range, as of when."""

    view: str = field(metadata=doc("The view's name"))
    skill_id: str = field(metadata=doc("The skill (amzn1.ask.skill.<uuid>)"))
    stage: str = field(metadata=doc("live or development"))
    locale: str | None = field(metadata=doc("The locale filter, or null for every locale"))
    intent: str | None = field(metadata=doc("The intent filter, or null for every intent"))
    release: str | None = field(
        metadata=doc(
            "The release filter (METRICS_RELEASE's label, a Lambda function version, or - for requests "
            "recorded without one), or null for every release"
        )
    )
    period: str = field(
        metadata=doc(
            "SINGLE, PT15M, PT1H, P1D or P1W (ISO weeks from Monday 00:00 UTC): the size of each point"
        )
    )
    start_time: str = field(
        metadata=doc("Effective start (inclusive): startTime floored to the report's bucket", fmt="date-time")
    )
    end_time: str = field(
        metadata=doc("Effective end (exclusive): endTime ceiled to the report's bucket", fmt="date-time")
    )
    as_of: str = field(
        metadata=doc(
            "The report's time: open sessions whose last utterance is an hour older are incomplete, "
            "the others active",
            fmt="date-time",
        )
    )


def header(frame: Frame, view: str) -> dict[str, Any]:
    """The ``ViewHeader`` fields of ``frame``, as keyword arguments."""
    request = frame.request
    return {
        "view": view,
        "skill_id": request.skill_id,
        "stage": request.stage,
        "locale": request.locale,
        "intent": request.intent,
        "release": request.release,
        "period": request.period,
        "start_time": format_time(request.start_ms),
        "end_time": format_time(request.end_ms),
        "as_of": format_time(frame.now_ms),
    }
