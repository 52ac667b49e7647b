"""The sessions view: sessions started and how they ended, per point and over the range, and drop-off.

Session figures belong to the point in which the session started, so for every point
``started = skillEnded + userEnded + noResponse + failed + unknown + incomplete + active``.
Whether an open session is still ``active`` or already ``incomplete`` is decided at the report's
time (``asOf``). Sessions cannot be filtered by intent.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> r = new_rollup(exact=True)
>>> r.sessions_started, r.session_ends, r.open_sessions = 4, {"skill_ended": 2, "no_response": 1}, {0: 1}
>>> f = session_figures(r, now_ms=2 * 3_600_000)
>>> f["started"], f["successful"], f["incomplete"], f["active"], f["share_by_end_type"].skill_ended
(4, 2, 1, 0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.model import EndType, Rollup
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import Frame, Timed, ViewHeader, header, ratio

CAN_FULFILL = "CanFulfillIntentRequest"


@dataclass(frozen=True)
class EndTypeShares:
    """Each end state's share of the sessions started (0 when none started); they sum to 1."""

    skill_ended: float = field(metadata=doc("Share ended by the skill (shouldEndSession true)"))
    user_ended: float = field(
        metadata=doc("Share ended by the customer (SessionEndedRequest USER_INITIATED)")
    )
    no_response: float = field(
        metadata=doc("Share where the customer did not respond (EXCEEDED_MAX_REPROMPTS)")
    )
    failed: float = field(metadata=doc("Share ended by an error (SessionEndedRequest ERROR)"))
    unknown: float = field(metadata=doc("Share ended by a SessionEndedRequest with no or an unknown reason"))
    incomplete: float = field(metadata=doc("Share with no end signal an hour after its last event"))
    active: float = field(metadata=doc("Share still open, last event less than an hour before asOf"))


@dataclass(frozen=True)
class InvocationTypes:
    """How sessions started (METRICS.md, Invocation type), and name-free CanFulfill requests."""

    launch: int = field(metadata=doc("Sessions started by a LaunchRequest"))
    one_shot: int = field(metadata=doc("Sessions started by an IntentRequest (session.new true)"))
    one_shot_share: float = field(metadata=doc("oneShot / sessions started"))
    can_fulfill: int = field(
        metadata=doc("CanFulfillIntentRequests (name-free candidates), counted at their own time")
    )


def invocation_types(rollup: Rollup) -> InvocationTypes:
    """The ``InvocationTypes`` of an all-intents rollup."""
    return InvocationTypes(
        launch=rollup.launches,
        one_shot=rollup.one_shots,
        one_shot_share=ratio(rollup.one_shots, rollup.sessions_started),
        can_fulfill=rollup.requests_by_type.get(CAN_FULFILL, 0),
    )


@dataclass(frozen=True)
class SessionFigures:
    """Sessions started in a point (or the range), by how they ended, as of the report's time."""

    started: int = field(metadata=doc("Sessions started (SMAPI totalSessions)"))
    successful: int = field(metadata=doc("skillEnded + userEnded (SMAPI successfulSessions)"))
    skill_ended: int = field(metadata=doc("Ended by the skill's response (SMAPI skillEndedSessions)"))
    user_ended: int = field(metadata=doc("Ended by the customer (SMAPI userEndedSessions)"))
    no_response: int = field(metadata=doc("Ended because the customer did not respond"))
    failed: int = field(metadata=doc("Ended by an error"))
    unknown: int = field(metadata=doc("Ended with no or an unknown reason"))
    incomplete: int = field(
        metadata=doc("No end signal an hour after the last event (SMAPI incompleteSessions)")
    )
    active: int = field(metadata=doc("Still open as of asOf, last event within the hour"))
    unique_customers: int = field(
        metadata=doc("Distinct customers with an utterance in the point (or range)")
    )
    sessions_per_customer: float = field(metadata=doc("started / uniqueCustomers; 0 without customers"))
    share_by_end_type: EndTypeShares = field(metadata=doc("Each end state's share of started"))
    invocations: InvocationTypes = field(metadata=doc("Launches and one-shots; CanFulfill requests"))


@dataclass(frozen=True)
class SessionPoint(SessionFigures, Timed):
    """Sessions started in one point of the series."""


@dataclass(frozen=True)
class DropOff:
    """Sessions that ended no_response, user_ended or failed right after the skill answered an intent."""

    last_intent: str = field(
        metadata=doc(
            "The intent (or LaunchRequest) the skill answered last before the end; 'unknown' if not known"
        )
    )
    sessions: int = field(metadata=doc("Sessions that ended after it"))
    share: float = field(
        metadata=doc(
            "Its sessions / all sessions of the range that ended no_response, user_ended or failed "
            "(the drop-off denominator; sessions the skill ended, or still open, are not in it)"
        )
    )


@dataclass(frozen=True)
class SessionsView(ViewHeader):
    """The console's sessions view, with incomplete and active sessions and drop-off by last intent."""

    totals: SessionFigures = field(metadata=doc("Over the whole range"))
    series: list[SessionPoint] = field(metadata=doc("Per point of the period"))
    drop_off: list[DropOff] = field(
        metadata=doc("Drop-off by last intent over the range, most sessions first")
    )


def session_figures(rollup: Rollup, now_ms: int) -> dict[str, Any]:
    """The ``SessionFigures`` fields of an all-intents rollup, as of ``now_ms``."""
    ends = rollup.session_ends
    active, incomplete = rollup.open_split(now_ms)
    started = rollup.sessions_started
    counts = {end.value: ends.get(end.value, 0) for end in EndType}
    counts["incomplete"], counts["active"] = incomplete, active
    customers = rollup.customers.count()
    return {
        "started": started,
        "successful": sum(counts[end.value] for end in EndType if end.successful),
        **counts,
        "unique_customers": customers,
        "sessions_per_customer": ratio(started, customers),
        "share_by_end_type": EndTypeShares(**{name: ratio(n, started) for name, n in counts.items()}),
        "invocations": invocation_types(rollup),
    }


def sessions(frame: Frame) -> SessionsView:
    """Build the sessions view from all-intents rollups."""
    points = frame.points()
    total = frame.merge(rollup for _, rollup in points)
    ended = sum(total.drop_off.values())
    drop_off = [
        DropOff(last_intent=intent, sessions=count, share=ratio(count, ended))
        for intent, count in sorted(total.drop_off.items(), key=lambda item: (-item[1], item[0]))
    ]
    return SessionsView(
        **header(frame, "sessions"),
        totals=SessionFigures(**session_figures(total, frame.now_ms)),
        series=[
            SessionPoint(start=format_time(start), **session_figures(point, frame.now_ms))
            for start, point in points
        ],
        drop_off=drop_off,
    )
