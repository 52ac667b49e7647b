"""The views, pure functions from rollups (a ``Frame``) to frozen dataclasses, and how each reads.

Example
-------
>>> sorted(VIEWS)
['customers', 'friction', 'intents', 'overview', 'sessions', 'slots', 'utterances']
>>> VIEW_NAMES[-3:]
('retention', 'paths', 'releases')
>>> VIEWS["overview"].min_bucket, VIEWS["intents"].reads
('PT1H', 'tiling')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from alexa_skill_metrics.reporting.views.common import Frame, ViewHeader
from alexa_skill_metrics.reporting.views.customers import CustomersView, customers
from alexa_skill_metrics.reporting.views.friction import FrictionView, friction
from alexa_skill_metrics.reporting.views.intents import IntentsView, intents
from alexa_skill_metrics.reporting.views.overview import OverviewView, overview
from alexa_skill_metrics.reporting.views.sessions import SessionsView, sessions
from alexa_skill_metrics.reporting.views.slots import SlotsView, slots
from alexa_skill_metrics.reporting.views.utterances import UtterancesView, utterances

__all__ = ["OWN_ROUTE_VIEWS", "VIEWS", "VIEW_NAMES", "Frame", "ViewHeader", "ViewSpec"]


@dataclass(frozen=True)
class ViewSpec:
    """How one view is read and built.

    ``reads``: ``series`` reads the period's rollups (a tiling for ``SINGLE``), ``hourly`` hourly
    ones (15-minute ones for a PT15M series), ``tiling`` the coarsest cover of the range.
    ``per_intent``: reads per-intent rollups always (``True``), when filtered by intent
    (``"filter"``), or never (``False``, and an intent filter is a 400).
    """

    name: str
    build: Callable[[Frame], Any]
    response: type[ViewHeader]
    summary: str
    reads: Literal["series", "hourly", "tiling"] = "series"
    per_intent: bool | Literal["filter"] = False
    min_bucket: str = "PT15M"
    takes_intent: bool = False  # a per-intent view (per_intent True) that an intent filter narrows


VIEWS: dict[str, ViewSpec] = {
    spec.name: spec
    for spec in (
        ViewSpec(
            "overview",
            overview,
            OverviewView,
            "Customers, sessions and utterances: total, peak hour, average per hour, and a series",
            reads="hourly",
            min_bucket="PT1H",
        ),
        ViewSpec(
            "customers",
            customers,
            CustomersView,
            "Unique and new customers and enablements per point and over the range",
            per_intent="filter",
        ),
        ViewSpec(
            "sessions",
            sessions,
            SessionsView,
            "Sessions by end type (incl. incomplete and active), per customer, shares, drop-off",
        ),
        ViewSpec(
            "utterances",
            utterances,
            UtterancesView,
            "Utterances, successful and failed, per customer and session, responses, latency",
            per_intent="filter",
        ),
        ViewSpec(
            "intents",
            intents,
            IntentsView,
            "Per intent over the whole range (period only aligns it): customers, utterances, "
            "failures, shares, latency; fallback rate",
            reads="tiling",
            per_intent=True,
        ),
        ViewSpec(
            "friction",
            friction,
            FrictionView,
            "Unhandled utterances, terminations, retries, no-response ends, the friction rate, "
            "the Alexa.SkillQuality figures, the prompts that lose customers, ranked, and exits at "
            "each prompt with its exit rate, worst first",
        ),
        ViewSpec(
            "slots",
            slots,
            SlotsView,
            "The voice model: per intent and slot, filled, resolved, unresolved or errored (static and "
            "dynamic authorities), slot and intent confirmations; worst slots first",
            per_intent=True,
            takes_intent=True,
        ),
    )
}

# Views with parameters of their own (no period: cohorts, whole days), each served by a route of
# its own; their parameters are the OpenAPI document's (``openapi.route_parameters``).
OWN_ROUTE_VIEWS: dict[str, str] = {
    "retention": "Cohort retention, exact: customers by the week (--cohort day: day) of their first "
    "utterance, and who came back on, or on or after, each later one",
    "paths": "Interaction paths of the sessions started in the range: the path tree and the "
    "transitions A -> B, whole UTC days",
    "releases": "The releases that served the range (first and last hour, traffic share) and two "
    "compared: rates with 95% intervals and a verdict, on the same hours where both served",
}
VIEW_NAMES: tuple[str, ...] = (*VIEWS, *OWN_ROUTE_VIEWS)
