"""The voice-model view's dialogs: started, completed, abandoned, turns, and the question customers left at.

Every figure follows METRICS.md's "Slots, confirmations and dialogs" (Dialogs), counted from the
per-intent rollups of the bucket where each dialog started (``aggregation.rollup``). A dialog
still open is **active** while its session is, and counts as **abandoned** once the session is
incomplete (no end signal an hour after its last answered utterance, as the sessions view says);
a dialog ended because another one started is abandoned too (``switched``). **Turns to
completion** are exact at any count (a count per number of turns, not a sketch), with the
quantile rule of every percentile here (``sketches.rank``). ``abandonedAt`` names the question
the skill asked last in each abandoned dialog: the slot of ``Dialog.ElicitSlot`` or
``Dialog.ConfirmSlot``, the intent's confirmation (``Dialog.ConfirmIntent``), ``delegated`` when
Alexa asked (``Dialog.Delegate``), or ``none`` when no Dialog directive asked anything.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> r = new_rollup(exact=True)
>>> r.dialogs_started, r.dialogs_completed, r.dialog_turns = 5, 3, {"3": 2, "5": 1}
>>> r.dialogs_abandoned = {"e:dish": 1}
>>> r.dialogs_open = {"d@29460120": 1}          # its session's last utterance: 2026-01-05T10:00Z
>>> f = dialog_figures(r, now_ms=1_767_607_200_000 + 2 * 3_600_000)
>>> f.abandoned, f.incomplete, f.active, f.completion_rate, (f.turns.p50, f.turns.p90)
(2, 1, 0, 0.6, (3, 5))
>>> [(a.question, a.slot, a.dialogs) for a in abandoned_at("OrderIntent", r, 1_767_607_200_000 + 7_200_000)]
[('delegated', None, 1), ('elicit_slot', 'dish', 1)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.model import CONFIRM_INTENT, CONFIRM_SLOT, DELEGATED, ELICIT, NOT_ASKED, Rollup
from alexa_skill_metrics.periods import MINUTE_MS
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import Frame, Timed, ratio
from alexa_skill_metrics.sketches import rank

INCOMPLETE_MS = 3_600_000  # as sessions: no end signal an hour after the last answered utterance
QUESTIONS = {CONFIRM_INTENT: "confirm_intent", DELEGATED: "delegated", NOT_ASKED: "none"}
_SLOT_QUESTIONS = {ELICIT: "elicit_slot", CONFIRM_SLOT: "confirm_slot"}


@dataclass(frozen=True)
class Turns:
    """Turns to completion of the completed dialogs: exact percentiles (null without completions)."""

    p50: int | None = field(
        metadata=doc("Median utterances of the intent from STARTED to COMPLETED, both in")
    )
    p90: int | None = field(metadata=doc("90th percentile of the same"))


@dataclass(frozen=True)
class DialogFigures:
    """Dialogs that started in a point (or the range): how they ended, or that they are still open."""

    started: int = field(
        metadata=doc("Dialogs started: utterances with dialogState STARTED (tracked sessions)")
    )
    completed: int = field(metadata=doc("... completed by a later utterance of the intent with COMPLETED"))
    abandoned: int = field(
        metadata=doc(
            "... ended before COMPLETED: the session ended, another dialog started, or it is incomplete"
        )
    )
    switched: int = field(
        metadata=doc("Abandoned because another dialog started (Alexa does not resume one)")
    )
    incomplete: int = field(
        metadata=doc("Abandoned in sessions with no end signal an hour after their last utterance")
    )
    active: int = field(metadata=doc("Still open, in sessions still active"))
    completion_rate: float = field(metadata=doc("completed / (completed + abandoned); 0 when none ended"))
    turns: Turns = field(metadata=doc("Turns to completion"))


@dataclass(frozen=True)
class DialogsPoint(DialogFigures, Timed):
    """The dialogs of every intent that started in one point of the series."""


@dataclass(frozen=True)
class AbandonedAt:
    """Abandoned dialogs of one intent by the question the skill asked last in them."""

    intent: str = field(metadata=doc("The dialog's intent"))
    question: str = field(
        metadata=doc(
            "elicit_slot (Dialog.ElicitSlot), confirm_slot (Dialog.ConfirmSlot), confirm_intent "
            "(Dialog.ConfirmIntent), delegated (Dialog.Delegate: Alexa asked), none (no Dialog directive)"
        )
    )
    slot: str | None = field(metadata=doc("The slot asked for or to confirm; null for the other questions"))
    dialogs: int = field(metadata=doc("Dialogs abandoned there"))
    share: float = field(metadata=doc("dialogs / the intent's abandoned dialogs"))


@dataclass(frozen=True)
class DialogIntent(DialogFigures):
    """One intent's dialogs over the range."""

    intent: str = field(metadata=doc("The intent"))


@dataclass(frozen=True)
class Dialogs:
    """Dialogs (request.dialogState) per intent, counted at each dialog's start."""

    totals: DialogFigures = field(metadata=doc("Every intent's dialogs that started in the range"))
    series: list[DialogsPoint] = field(metadata=doc("Every intent's dialogs by the point they started in"))
    intents: list[DialogIntent] = field(
        metadata=doc("Intents with dialogs, most abandoned first, then lowest completionRate, then by intent")
    )
    abandoned_at: list[AbandonedAt] = field(
        metadata=doc("Where customers left dialogs: per intent and question, most dialogs first")
    )


def _open_split(rollup: Rollup, now_ms: int) -> tuple[dict[str, int], int]:
    """``(incomplete dialogs by question, active dialogs)`` of a rollup's open dialogs at ``now_ms``."""
    incomplete: dict[str, int] = {}
    active = 0
    for key, count in rollup.dialogs_open.items():
        asked, _, minute = key.rpartition("@")
        if now_ms - (int(minute) + 1) * MINUTE_MS >= INCOMPLETE_MS:
            incomplete[asked] = incomplete.get(asked, 0) + count
        else:
            active += count
    return incomplete, active


def _turn(turns: dict[str, int], q: float) -> int | None:
    counts = sorted((int(k), v) for k, v in turns.items() if v > 0)
    total = sum(v for _, v in counts)
    if not total:
        return None
    wanted, seen = rank(q, total), 0
    for value, count in counts:
        seen += count
        if seen >= wanted:
            return value
    return counts[-1][0]


def _figures(rollup: Rollup, now_ms: int) -> dict[str, Any]:
    incomplete, active = _open_split(rollup, now_ms)
    lapsed = sum(incomplete.values())
    abandoned = sum(rollup.dialogs_abandoned.values()) + lapsed
    completed = rollup.dialogs_completed
    return {
        "started": rollup.dialogs_started,
        "completed": completed,
        "abandoned": abandoned,
        "switched": rollup.dialogs_switched,
        "incomplete": lapsed,
        "active": active,
        "completion_rate": ratio(completed, completed + abandoned),
        "turns": Turns(_turn(rollup.dialog_turns, 0.5), _turn(rollup.dialog_turns, 0.9)),
    }


def dialog_figures(rollup: Rollup, now_ms: int) -> DialogFigures:
    """The dialog figures of one rollup (a point, an intent or the range) as seen at ``now_ms``."""
    return DialogFigures(**_figures(rollup, now_ms))


def question(code: str) -> tuple[str, str | None]:
    """``(question, slot)`` of a question code (``model.Dialog.asked``)."""
    prefix = code[:2]
    if prefix in _SLOT_QUESTIONS:
        return _SLOT_QUESTIONS[prefix], code[2:]
    return QUESTIONS.get(code, "none"), None


def abandoned_at(intent: str, rollup: Rollup, now_ms: int) -> list[AbandonedAt]:
    """One intent's abandoned dialogs by question, incomplete ones included, most first."""
    counts = dict(rollup.dialogs_abandoned)
    for asked, count in _open_split(rollup, now_ms)[0].items():
        counts[asked] = counts.get(asked, 0) + count
    total = sum(counts.values())
    rows = [
        AbandonedAt(intent, *question(asked), dialogs=count, share=ratio(count, total))
        for asked, count in counts.items()
        if count > 0
    ]
    rows.sort(key=lambda a: (-a.dialogs, a.question, a.slot or ""))
    return rows


def dialogs(frame: Frame) -> Dialogs:
    """The dialogs section of the voice-model view, from per-intent rollups."""
    now = frame.now_ms
    points = frame.points()
    by_intent = frame.by_intent()
    rows = [
        DialogIntent(**_figures(rollup, now), intent=intent)
        for intent, rollup in by_intent.items()
        if rollup.dialogs_started
        or rollup.dialogs_completed
        or rollup.dialogs_abandoned
        or rollup.dialogs_open
    ]
    rows.sort(key=lambda r: (-r.abandoned, r.completion_rate, r.intent))
    where = [a for intent, rollup in sorted(by_intent.items()) for a in abandoned_at(intent, rollup, now)]
    where.sort(key=lambda a: (-a.dialogs, a.intent, a.question, a.slot or ""))
    return Dialogs(
        totals=dialog_figures(frame.merge(rollup for _, rollup in points), now),
        series=[DialogsPoint(start=format_time(start), **_figures(p, now)) for start, p in points],
        intents=rows,
        abandoned_at=where,
    )
