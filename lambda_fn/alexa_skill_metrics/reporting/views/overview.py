"""The overview: customers, sessions and utterances with their total, peak hour and hourly average.

Reads hourly rollups (15-minute ones for a PT15M series) whatever the period, because the peak
and the average are per hour; its range is therefore aligned to at least whole hours.

Example
-------
>>> from alexa_skill_metrics.reporting.params import ReportRequest
>>> from alexa_skill_metrics.reporting.views.common import Frame
>>> day = 1_767_571_200_000
>>> view = overview(Frame(ReportRequest("amzn1.ask.skill.1", day, day + 86_400_000), day, True, []))
>>> view.utterances.total, view.utterances.peak_hour.value, len(view.series)
(0, 0, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import Frame, Timed, ViewHeader, header

RATIO_DIGITS = 4


@dataclass(frozen=True)
class PeakHour:
    """The hour with the largest value (the earliest one on a tie, the first hour when all are 0)."""

    start: str = field(metadata=doc("Start of that hour (UTC)", fmt="date-time"))
    value: int = field(metadata=doc("The value in that hour"))


@dataclass(frozen=True)
class Headline:
    """One figure over the range: its total, peak hour and average per hour."""

    total: int = field(
        metadata=doc(
            "Over the whole range; for customers the distinct customers of the range (a union, not a sum)"
        )
    )
    peak_hour: PeakHour = field(metadata=doc("The busiest hour"))
    average_per_hour: float = field(
        metadata=doc(
            "Mean per hour of the range; for customers the mean of the hourly unique-customer counts"
        )
    )


@dataclass(frozen=True)
class OverviewPoint(Timed):
    """Customers, sessions and utterances of one point of the series."""

    customers: int = field(metadata=doc("Unique customers with at least one utterance in the point"))
    sessions: int = field(metadata=doc("Sessions started in the point"))
    utterances: int = field(metadata=doc("Utterances (LaunchRequest and IntentRequest) in the point"))


@dataclass(frozen=True)
class OverviewView(ViewHeader):
    """The console's overview: customers, sessions and utterances at a glance."""

    customers: Headline = field(metadata=doc("Unique customers"))
    sessions: Headline = field(metadata=doc("Sessions started (attributed to the hour a session started)"))
    utterances: Headline = field(metadata=doc("Utterances"))
    series: list[OverviewPoint] = field(metadata=doc("The three figures per point of the period"))


def overview(frame: Frame) -> OverviewView:
    """Build the overview from hourly (or 15-minute) all-intents rollups."""
    period = frame.request.period
    if period == "PT15M":
        points = frame.points()
        hours = frame.regroup(points, "PT1H")
    else:
        hours = frame.points("PT1H")
        points = hours if period == "PT1H" else frame.regroup(hours, period)
    starts = [start for start, _ in hours]
    customers = [rollup.customers.count() for _, rollup in hours]
    sessions = [rollup.sessions_started for _, rollup in hours]
    utterances = [rollup.utterances for _, rollup in hours]
    total = frame.merge(rollup for _, rollup in points)
    series = [
        OverviewPoint(
            start=format_time(start),
            customers=point.customers.count(),
            sessions=point.sessions_started,
            utterances=point.utterances,
        )
        for start, point in points
    ]
    return OverviewView(
        **header(frame, "overview"),
        customers=_headline(total.customers.count(), customers, starts),
        sessions=_headline(total.sessions_started, sessions, starts),
        utterances=_headline(total.utterances, utterances, starts),
        series=series,
    )


def _headline(total: int, hourly: list[int], starts: list[int]) -> Headline:
    peak = max(range(len(hourly)), key=lambda i: (hourly[i], -i))
    return Headline(
        total=total,
        peak_hour=PeakHour(start=format_time(starts[peak]), value=hourly[peak]),
        average_per_hour=round(sum(hourly) / len(hourly), RATIO_DIGITS),
    )
