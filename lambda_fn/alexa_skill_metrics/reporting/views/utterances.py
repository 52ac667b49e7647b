"""The utterances view: utterances, their success, responses and handler latency per point and range.

Filterable by intent. Figures that need sessions (``perSession``, ``notResponded``) are null
then, because sessions are not per intent.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> r = new_rollup(exact=True)
>>> r.utterances, r.failed_utterances, r.tracked_utterances, r.sessions_started = 6, 1, 6, 2
>>> for c in "abc":
...     r.customers.add(c)
>>> f = utterance_figures(r, sessions=True)
>>> f["successful"], f["per_customer"], f["per_session"], f["latency_ms"].p50
(5, 2.0, 3.0, None)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.model import EndType, Rollup
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import (
    EndpointMs,
    Frame,
    LatencyMs,
    Timed,
    ViewHeader,
    cold_start_share,
    endpoint,
    header,
    latency,
    ratio,
)


@dataclass(frozen=True)
class UtteranceFigures:
    """Utterances (LaunchRequest and IntentRequest) of a point or of the whole range."""

    utterances: int = field(metadata=doc("Utterances (SMAPI totalUtterances)"))
    successful: int = field(
        metadata=doc("Utterances whose dispatch raised nothing (SMAPI successfulUtterances)")
    )
    failed: int = field(
        metadata=doc(
            "Utterances whose dispatch raised, whether an exception handler answered or not "
            "(SMAPI failedUtterances)"
        )
    )
    unique_customers: int = field(metadata=doc("Distinct customers with an utterance"))
    per_customer: float = field(metadata=doc("utterances / uniqueCustomers; 0 without customers"))
    per_session: float | None = field(
        metadata=doc("Utterances of tracked sessions / sessions started; null when filtered by intent")
    )
    prompts: int = field(
        metadata=doc(
            "Successful responses with shouldEndSession false: the skill opened the microphone and "
            "waited. Each is answered (responded), or its session ends without an answer "
            "(notResponded, once per session), by the customer or an error, or is still open: so "
            "prompts need not equal responded + notResponded"
        )
    )
    responded: int = field(
        metadata=doc(
            "Utterances of a tracked session with session.new false: the customer spoke again "
            "after a prompt (answers, 'stop' and 'help' included)"
        )
    )
    not_responded: int | None = field(
        metadata=doc(
            "Sessions that ended because the customer did not respond to a prompt and its reprompt "
            "(EXCEEDED_MAX_REPROMPTS): counted per session, not per prompt; null when filtered by intent"
        )
    )
    latency_ms: LatencyMs = field(metadata=doc("Handler time percentiles"))
    endpoint_ms: EndpointMs = field(
        metadata=doc("Endpoint time percentiles: handler time + start-up on cold starts")
    )
    cold_starts: int = field(metadata=doc("Utterances that were the first request of a skill container"))
    cold_start_share: float = field(metadata=doc("coldStarts / utterances with a handler time"))


@dataclass(frozen=True)
class UtterancePoint(UtteranceFigures, Timed):
    """Utterances of one point of the series."""


@dataclass(frozen=True)
class UtterancesView(ViewHeader):
    """The console's utterances view, with prompts, responses and handler latency."""

    totals: UtteranceFigures = field(metadata=doc("Over the whole range"))
    series: list[UtterancePoint] = field(metadata=doc("Per point of the period"))


def utterance_figures(rollup: Rollup, *, sessions: bool) -> dict[str, Any]:
    """The ``UtteranceFigures`` fields of a rollup; session figures only from all-intents rollups."""
    customers = rollup.customers.count()
    return {
        "utterances": rollup.utterances,
        "successful": rollup.utterances - rollup.failed_utterances,
        "failed": rollup.failed_utterances,
        "unique_customers": customers,
        "per_customer": ratio(rollup.utterances, customers),
        "per_session": ratio(rollup.tracked_utterances, rollup.sessions_started) if sessions else None,
        "prompts": rollup.prompts,
        "responded": rollup.responded,
        "not_responded": rollup.session_ends.get(EndType.NO_RESPONSE.value, 0) if sessions else None,
        "latency_ms": latency(rollup.latency),
        "endpoint_ms": endpoint(rollup),
        "cold_starts": rollup.cold_starts,
        "cold_start_share": cold_start_share(rollup),
    }


def utterances(frame: Frame) -> UtterancesView:
    """Build the utterances view from all-intents rollups, or the intent's own when filtered."""
    with_sessions = frame.request.intent is None
    points = frame.points()
    total = frame.merge(rollup for _, rollup in points)
    return UtterancesView(
        **header(frame, "utterances"),
        totals=UtteranceFigures(**utterance_figures(total, sessions=with_sessions)),
        series=[
            UtterancePoint(start=format_time(start), **utterance_figures(point, sessions=with_sessions))
            for start, point in points
        ],
    )
