"""The customers view: unique and new customers per point and over the range, and enablements.

Filterable by intent (METRICS.md: customer metrics are): unique customers of an intent are those
with an utterance of it; new customers of an intent are those whose first utterance ever was it.

Example
-------
>>> from alexa_skill_metrics.reporting.params import ReportRequest
>>> from alexa_skill_metrics.reporting.views.common import Frame
>>> day = 1_767_571_200_000
>>> view = customers(Frame(ReportRequest("amzn1.ask.skill.1", day, day + 2 * 86_400_000), day, True, []))
>>> [(p.unique_customers, p.new_customers, p.enablements) for p in view.series]
[(0, 0, 0), (0, 0, 0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import Frame, Timed, ViewHeader, header


@dataclass(frozen=True)
class CustomerFigures:
    """Customers of a point or of the whole range."""

    unique_customers: int = field(
        metadata=doc(
            "Distinct customers with at least one utterance (of the intent, if filtered); over the range a "
            "union of the points, not their sum"
        )
    )
    new_customers: int = field(
        metadata=doc(
            "Customers whose first utterance ever recorded falls here (and was of the intent, if filtered)"
        )
    )
    enablements: int | None = field(
        metadata=doc(
            "AlexaSkillEvent.SkillEnabled events (SMAPI totalEnablements); null when filtered by locale or "
            "intent, which skill events do not carry"
        )
    )


@dataclass(frozen=True)
class CustomerPoint(CustomerFigures, Timed):
    """Customers of one point of the series."""


@dataclass(frozen=True)
class CustomersView(ViewHeader):
    """The console's customers view, with new customers and enablements beside unique customers."""

    totals: CustomerFigures = field(metadata=doc("Over the whole range"))
    series: list[CustomerPoint] = field(metadata=doc("Per point of the period"))


def customers(frame: Frame) -> CustomersView:
    """Build the customers view from all-intents rollups, or the intent's own when filtered."""
    unfiltered = frame.request.locale is None and frame.request.intent is None
    points = frame.points()
    total = frame.merge(rollup for _, rollup in points)
    return CustomersView(
        **header(frame, "customers"),
        totals=CustomerFigures(
            unique_customers=total.customers.count(),
            new_customers=total.new_customers,
            enablements=total.enablements if unfiltered else None,
        ),
        series=[
            CustomerPoint(
                start=format_time(start),
                unique_customers=point.customers.count(),
                new_customers=point.new_customers,
                enablements=point.enablements if unfiltered else None,
            )
            for start, point in points
        ],
    )
