"""The friction view: unhandled utterances, terminations, retries, silence, and the prompts customers leave.

Every figure follows METRICS.md's "Friction". A customer *leaves at a prompt* with Stop, Cancel,
a ``USER_INITIATED`` end or silence (``no_response``) right after a reply that kept the session
open. Only leaving at the skill's welcome (the ``LaunchRequest``'s reply) or right after an
unhandled reply is friction (a *termination*, or *no response*); leaving at any other prompt is an
*exit at a prompt*, the normal way a satisfied customer ends, reported per prompt intent with its
exit rate (exits after that intent's prompts / that intent's prompts) so that the questions
customers walk away from stand out. Unhandled utterances (``AMAZON.FallbackIntent`` or failed),
terminations and exits count at their own time, no-response ends at the session's start, like
every session figure. The friction rate of a point is ``(unhandled + terminations + noResponse) /
utterances``. Each friction event is attributed to the intent answered before it (``start`` when
none, ``unknown`` in a session whose start was not recorded).

``skill_quality`` is the reporter-level computation of the four quality figures Amazon's Metrics
API v2 names in ``Alexa.SkillQuality`` (see ``SkillQuality``); the view serves them per point.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> r = new_rollup(exact=True)
>>> r.utterances, r.unhandled, r.terminations, r.sessions_started = 20, 2, 1, 5
>>> r.no_response_after = {"LaunchRequest": 1}
>>> r.exited_after, r.kept_open = {"RollDiceIntent": 3}, {"RollDiceIntent": 6, "LaunchRequest": 5}
>>> q = skill_quality(r)
>>> q.unhandled_requests, q.unhandled_request_rate, q.defective_terminations, q.defective_termination_rate
(2, 0.1, 2, 0.4)
>>> friction_figures(r)["friction_rate"], friction_figures(r)["exits"]
(0.2, 3)
>>> [(row.intent, row.exits, row.prompts, row.exit_rate) for row in prompts_customers_leave(r)]
[('RollDiceIntent', 3, 6, 0.5), ('LaunchRequest', 0, 5, 0.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.model import Rollup
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import Frame, Timed, ViewHeader, header, ratio


@dataclass(frozen=True)
class SkillQuality:
    """Amazon's ``Alexa.SkillQuality`` figures, by our definitions (Amazon never published theirs).

    ``UNHANDLED_REQUEST`` = ``unhandled_requests``, ``UNHANDLED_REQUEST_RATE`` =
    ``unhandled_request_rate``, ``DEFECTIVE_TERMINATION`` = ``defective_terminations``,
    ``DEFECTIVE_TERMINATION_RATE`` = ``defective_termination_rate``.
    """

    unhandled_requests: int = field(
        metadata=doc("Unhandled utterances: AMAZON.FallbackIntent or failed (UNHANDLED_REQUEST)")
    )
    unhandled_request_rate: float = field(
        metadata=doc("unhandledRequests / utterances (UNHANDLED_REQUEST_RATE)")
    )
    defective_terminations: int = field(
        metadata=doc(
            "Sessions lost at the welcome or after an unhandled reply: terminations + noResponse "
            "(DEFECTIVE_TERMINATION)"
        )
    )
    defective_termination_rate: float = field(
        metadata=doc("defectiveTerminations / sessions started (DEFECTIVE_TERMINATION_RATE)")
    )


def no_response_friction(rollup: Rollup) -> int:
    """Sessions ended ``no_response`` at the welcome or after an unhandled reply (friction)."""
    return sum(rollup.no_response_after.values())


def exits(rollup: Rollup) -> int:
    """Exits at a prompt: leaving at a prompt that was neither the welcome nor an unhandled reply."""
    return sum(rollup.exited_after.values()) + sum(rollup.no_response_exits_after.values())


def skill_quality(rollup: Rollup) -> SkillQuality:
    """The ``Alexa.SkillQuality`` figures of one all-intents rollup (a point or a whole range).

    The two unhandled figures hold for one intent's rollup too (its unhandled / its utterances);
    terminations and session figures are kept in all-intents rollups only.
    """
    defective = rollup.terminations + no_response_friction(rollup)
    return SkillQuality(
        unhandled_requests=rollup.unhandled,
        unhandled_request_rate=ratio(rollup.unhandled, rollup.utterances),
        defective_terminations=defective,
        defective_termination_rate=ratio(defective, rollup.sessions_started),
    )


@dataclass(frozen=True)
class FrictionFigures:
    """Friction of a point (or the range): what went wrong for customers, and how often."""

    utterances: int = field(metadata=doc("Utterances (the friction rate's denominator)"))
    unhandled: int = field(metadata=doc("Unhandled utterances: AMAZON.FallbackIntent or failed"))
    terminations: int = field(
        metadata=doc(
            "AMAZON.StopIntent, AMAZON.CancelIntent or a USER_INITIATED end right after the welcome "
            "(the LaunchRequest's reply) or an unhandled reply (tracked sessions only)"
        )
    )
    retries: int = field(
        metadata=doc("Utterances right after an unhandled one in the same session (tracked sessions only)")
    )
    no_response: int = field(
        metadata=doc(
            "Sessions started in the point that ended because the customer did not respond to the "
            "welcome or to an unhandled reply"
        )
    )
    exits: int = field(
        metadata=doc(
            "Exits at a prompt (not friction): Stop, Cancel, USER_INITIATED or no response after any "
            "other prompt; no-response ends of sessions started in the point"
        )
    )
    friction_events: int = field(metadata=doc("unhandled + terminations + noResponse"))
    friction_rate: float = field(metadata=doc("frictionEvents / utterances; 0 without utterances"))
    retry_share: float = field(
        metadata=doc("retries / unhandled: how often customers tried again after an unhandled utterance")
    )
    quality: SkillQuality = field(metadata=doc("The Metrics API v2 Alexa.SkillQuality figures"))


@dataclass(frozen=True)
class FrictionPoint(FrictionFigures, Timed):
    """Friction in one point of the series."""


@dataclass(frozen=True)
class PromptFriction:
    """Friction after one prompt: the intent the skill answered right before the friction events."""

    intent: str = field(
        metadata=doc(
            "The intent (or LaunchRequest) answered before; 'start' before any answer, 'unknown' in "
            "sessions whose start was not recorded"
        )
    )
    lost: int = field(
        metadata=doc("terminations + noResponse after it: sessions lost there (not distinct customers)")
    )
    terminations: int = field(metadata=doc("Terminations right after it"))
    no_response: int = field(metadata=doc("Sessions ended no_response right after it"))
    unhandled: int = field(metadata=doc("Unhandled utterances right after it"))
    friction_events: int = field(metadata=doc("lost + unhandled"))
    share: float = field(metadata=doc("Its friction events / all friction events in the range"))


@dataclass(frozen=True)
class PromptExits:
    """Exits at one prompt intent: how often customers walked away from that question."""

    intent: str = field(metadata=doc("The intent whose reply kept the session open (the prompt)"))
    prompts: int = field(
        metadata=doc("Its replies that kept the session open (the exit rate's denominator), in every session")
    )
    exits: int = field(metadata=doc("left + noResponse: exits right after its prompts (tracked sessions)"))
    left: int = field(metadata=doc("AMAZON.StopIntent, AMAZON.CancelIntent or USER_INITIATED right after it"))
    no_response: int = field(
        metadata=doc("Sessions ended no_response right after it (at the session's start)")
    )
    exit_rate: float = field(metadata=doc("exits / prompts; 0 without prompts"))


@dataclass(frozen=True)
class FrictionView(ViewHeader):
    """Friction (our customer-satisfaction figures) per point and the prompts that lose customers."""

    totals: FrictionFigures = field(metadata=doc("Over the whole range"))
    series: list[FrictionPoint] = field(metadata=doc("Per point of the period"))
    prompts: list[PromptFriction] = field(
        metadata=doc("Friction by the prompt before it, most sessions lost first (then most friction)")
    )
    exits: list[PromptExits] = field(
        metadata=doc(
            "Exits at a prompt by prompt intent, the questions customers walk away from: highest exit "
            "rate first (then most exits)"
        )
    )


def friction_figures(rollup: Rollup) -> dict[str, Any]:
    """The ``FrictionFigures`` fields of an all-intents rollup."""
    no_response = no_response_friction(rollup)
    events = rollup.unhandled + rollup.terminations + no_response
    return {
        "utterances": rollup.utterances,
        "unhandled": rollup.unhandled,
        "terminations": rollup.terminations,
        "retries": rollup.retries,
        "no_response": no_response,
        "exits": exits(rollup),
        "friction_events": events,
        "friction_rate": ratio(events, rollup.utterances),
        "retry_share": ratio(rollup.retries, rollup.unhandled),
        "quality": skill_quality(rollup),
    }


def prompts_that_lose_customers(rollup: Rollup) -> list[PromptFriction]:
    """Friction by the prompt before it, ranked: most sessions lost, then most friction, then name."""
    total = (
        sum(rollup.unhandled_after.values())
        + sum(rollup.terminated_after.values())
        + sum(rollup.no_response_after.values())
    )
    intents = rollup.unhandled_after.keys() | rollup.terminated_after.keys() | rollup.no_response_after.keys()
    rows = []
    for intent in intents:
        terminations = rollup.terminated_after.get(intent, 0)
        no_response = rollup.no_response_after.get(intent, 0)
        unhandled = rollup.unhandled_after.get(intent, 0)
        events = terminations + no_response + unhandled
        rows.append(
            PromptFriction(
                intent=intent,
                lost=terminations + no_response,
                terminations=terminations,
                no_response=no_response,
                unhandled=unhandled,
                friction_events=events,
                share=ratio(events, total),
            )
        )
    return sorted(rows, key=lambda row: (-row.lost, -row.friction_events, row.intent))


def prompts_customers_leave(rollup: Rollup) -> list[PromptExits]:
    """Exits at a prompt by prompt intent, worst first: highest exit rate, then most exits, then name."""
    intents = rollup.kept_open.keys() | rollup.exited_after.keys() | rollup.no_response_exits_after.keys()
    rows = []
    for intent in intents:
        prompts = rollup.kept_open.get(intent, 0)
        left = rollup.exited_after.get(intent, 0)
        no_response = rollup.no_response_exits_after.get(intent, 0)
        rows.append(
            PromptExits(
                intent=intent,
                prompts=prompts,
                exits=left + no_response,
                left=left,
                no_response=no_response,
                exit_rate=ratio(left + no_response, prompts),
            )
        )
    return sorted(rows, key=lambda row: (-row.exit_rate, -row.exits, row.intent))


def friction(frame: Frame) -> FrictionView:
    """Build the friction view from all-intents rollups."""
    points = frame.points()
    total = frame.merge(rollup for _, rollup in points)
    return FrictionView(
        **header(frame, "friction"),
        totals=FrictionFigures(**friction_figures(total)),
        series=[
            FrictionPoint(start=format_time(start), **friction_figures(point)) for start, point in points
        ],
        prompts=prompts_that_lose_customers(total),
        exits=prompts_customers_leave(total),
    )
