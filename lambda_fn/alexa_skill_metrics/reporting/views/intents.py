"""The intents view: per intent key, customers, utterances, failures, shares and latency over the range.

Reads the per-intent rollups of the range, tiled with the coarsest buckets (``plan.tiling``); the
period only aligns the range. Shares are 0 when their denominator is 0 (METRICS.md).

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> from alexa_skill_metrics.model import RollupKey
>>> from alexa_skill_metrics.reporting.params import ReportRequest
>>> from alexa_skill_metrics.reporting.views.common import Frame
>>> day = 1_767_571_200_000
>>> stop, fallback = new_rollup(exact=True), new_rollup(exact=True)
>>> stop.utterances, fallback.utterances = 3, 1
>>> key = lambda intent: RollupKey("amzn1.ask.skill.1", "live", "P1D", day, "en-US", intent)
>>> view = intents(Frame(ReportRequest("amzn1.ask.skill.1", day, day + 86_400_000), day, True,
...                      [(key("AMAZON.StopIntent"), stop), (key("AMAZON.FallbackIntent"), fallback)]))
>>> [(row.intent, row.share) for row in view.intents], view.fallback_rate
([('AMAZON.StopIntent', 0.75), ('AMAZON.FallbackIntent', 0.25)], 0.25)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alexa_skill_metrics.model import FALLBACK_INTENT
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import (
    EndpointMs,
    Frame,
    LatencyMs,
    ViewHeader,
    cold_start_share,
    endpoint,
    header,
    latency,
    ratio,
)


@dataclass(frozen=True)
class IntentFigures:
    """One intent key (an intent name, or LaunchRequest) over the range."""

    intent: str = field(metadata=doc("The intent name, or LaunchRequest for launches"))
    unique_customers: int = field(metadata=doc("Distinct customers with an utterance of this intent"))
    utterances: int = field(metadata=doc("Its utterances"))
    failed: int = field(metadata=doc("Its failed utterances (dispatch raised)"))
    share: float = field(metadata=doc("Its utterances / all utterances"))
    failed_share: float = field(
        metadata=doc(
            "Its failed utterances / ALL failed utterances: where the failures are, not how often this "
            "intent fails (that is failureRate)"
        )
    )
    failure_rate: float = field(metadata=doc("Its failed utterances / its utterances: how often it fails"))
    latency_ms: LatencyMs = field(metadata=doc("Handler time percentiles of its utterances"))
    endpoint_ms: EndpointMs = field(metadata=doc("Endpoint time percentiles of its utterances"))
    cold_start_share: float = field(metadata=doc("Its cold starts / its utterances with a handler time"))
    unhandled: int = field(metadata=doc("Its unhandled utterances (AMAZON.FallbackIntent or failed)"))


@dataclass(frozen=True)
class IntentTotals:
    """All intents together over the range."""

    utterances: int = field(metadata=doc("All utterances"))
    failed: int = field(metadata=doc("All failed utterances"))
    unique_customers: int = field(metadata=doc("Distinct customers with any utterance"))


@dataclass(frozen=True)
class IntentsView(ViewHeader):
    """The console's intents view, with latency per intent and the fallback rate."""

    totals: IntentTotals = field(metadata=doc("All intents together"))
    fallback_rate: float = field(
        metadata=doc(
            "AMAZON.FallbackIntent utterances / all utterances: requests the model did not understand"
        )
    )
    intents: list[IntentFigures] = field(metadata=doc("One row per intent key, most utterances first"))


def intents(frame: Frame) -> IntentsView:
    """Build the intents view from per-intent rollups."""
    by_intent = frame.by_intent()
    total = frame.merge(by_intent.values())
    rows = [
        IntentFigures(
            intent=intent,
            unique_customers=rollup.customers.count(),
            utterances=rollup.utterances,
            failed=rollup.failed_utterances,
            share=ratio(rollup.utterances, total.utterances),
            failed_share=ratio(rollup.failed_utterances, total.failed_utterances),
            latency_ms=latency(rollup.latency),
            endpoint_ms=endpoint(rollup),
            cold_start_share=cold_start_share(rollup),
            unhandled=rollup.unhandled,
            failure_rate=ratio(rollup.failed_utterances, rollup.utterances),
        )
        for intent, rollup in sorted(by_intent.items(), key=lambda item: (-item[1].utterances, item[0]))
    ]
    fallback = by_intent.get(FALLBACK_INTENT)
    return IntentsView(
        **header(frame, "intents"),
        totals=IntentTotals(
            utterances=total.utterances,
            failed=total.failed_utterances,
            unique_customers=total.customers.count(),
        ),
        fallback_rate=ratio(fallback.utterances if fallback else 0, total.utterances),
        intents=rows,
    )
