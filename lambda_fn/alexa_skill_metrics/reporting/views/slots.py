"""The voice-model view: per intent and slot, how often it was filled and how its values resolved.

Every figure follows METRICS.md's "Slots, confirmations and dialogs", counted over utterances at
their own time from the per-intent rollups' ``slot_counts`` (statuses only: no slot value is ever
recorded for these). A slot's **unresolved rate** is (unresolved + errored) / its filled
utterances that had a resolution: the share of what customers said that the voice model could
not map to a value; the view lists the slots worst first, so the synonyms to add come first.
Static slot type values and dynamic entities are reported on their own (``static``, ``dynamic``).
``unresolvedValues`` lists what customers said for the slots a developer opted in
(``SkillMetrics(slot_values=...)``) that did not resolve, over the whole range, only where at least
``minCustomers`` (k, default 5, at least 2) distinct customers said it; read from the value index
(``storage.slot_values``) or, recomputed, from the raw events (``unresolved_values``).

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> r = new_rollup(exact=True)
>>> r.slot_counts = {"dish|filled": 4, "dish|resolved": 1, "dish|unresolved": 3, "dish|denied": 1,
...                  "dish|dynamic.unresolved": 3, "size|empty": 4}
>>> rows = slot_rows("OrderIntent", r)
>>> [(row.slot, row.filled, row.unresolved, row.unresolved_rate, row.dynamic.unresolved) for row in rows]
[('dish', 4, 3, 0.75, 3), ('size', 0, 0, 0.0, 0)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.model import (
    AUTHORITY_KINDS,
    DEFAULT_MIN_CUSTOMERS,
    NO_RELEASE,
    Rollup,
    ValueSighting,
)
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import Frame, Timed, ViewHeader, header, ratio
from alexa_skill_metrics.reporting.views.dialogs import Dialogs, dialogs


@dataclass(frozen=True)
class Resolutions:
    """Resolution outcomes of one authority kind's resolutions alone (static or dynamic)."""

    resolved: int = field(metadata=doc("Filled utterances with an ER_SUCCESS_MATCH of this kind"))
    unresolved: int = field(metadata=doc("... else ER_SUCCESS_NO_MATCH of this kind"))
    errored: int = field(metadata=doc("... else ER_ERROR_TIMEOUT or ER_ERROR_EXCEPTION of this kind"))


@dataclass(frozen=True)
class SlotFigures:
    """Slot figures of a slot, a point or the range: counted utterances, statuses only."""

    filled: int = field(metadata=doc("Utterances in which the slot had a value"))
    empty: int = field(metadata=doc("Utterances in which the slot was present without a value"))
    resolved: int = field(metadata=doc("Filled, and an authority's status was ER_SUCCESS_MATCH"))
    unresolved: int = field(metadata=doc("Filled, no match, and an authority said ER_SUCCESS_NO_MATCH"))
    errored: int = field(
        metadata=doc("Filled, else the resolution errored (ER_ERROR_TIMEOUT, ER_ERROR_EXCEPTION)")
    )
    no_resolution: int = field(metadata=doc("Filled without resolutions (most built-in slot types)"))
    unresolved_rate: float = field(
        metadata=doc("(unresolved + errored) / (resolved + unresolved + errored); 0 without resolutions")
    )
    confirmed: int = field(metadata=doc("Utterances in which the slot's confirmationStatus was CONFIRMED"))
    denied: int = field(metadata=doc("Utterances in which the slot's confirmationStatus was DENIED"))


@dataclass(frozen=True)
class SlotName:
    """Which slot a row is about."""

    intent: str = field(metadata=doc("The intent the slot belongs to"))
    slot: str = field(metadata=doc("The slot's name (never a value)"))


@dataclass(frozen=True)
class SlotRow(SlotFigures, SlotName):
    """One slot of one intent over the range, with its resolutions per authority kind."""

    static: Resolutions = field(
        metadata=doc("Static slot type values (amzn1.er-authority.echo-sdk.<skill>.<type>) alone")
    )
    dynamic: Resolutions = field(
        metadata=doc("Dynamic entities (amzn1.er-authority.echo-sdk.dynamic...) alone")
    )


@dataclass(frozen=True)
class SlotsPoint(SlotFigures, Timed):
    """Slot figures of every slot in one point of the series."""


@dataclass(frozen=True)
class IntentConfirmations:
    """An intent's confirmations over the range (its confirmationStatus)."""

    intent: str = field(metadata=doc("The intent"))
    utterances: int = field(metadata=doc("Its utterances"))
    confirmed: int = field(metadata=doc("Its utterances whose intent confirmationStatus was CONFIRMED"))
    denied: int = field(metadata=doc("Its utterances whose intent confirmationStatus was DENIED"))
    denied_share: float = field(metadata=doc("denied / (confirmed + denied); 0 without confirmations"))


@dataclass(frozen=True)
class UnresolvedValue:
    """A value customers said for an opted-in slot that did not resolve, said by k or more of them."""

    intent: str = field(metadata=doc("The intent"))
    slot: str = field(metadata=doc("The opted-in slot"))
    value: str = field(metadata=doc("What was said, case-folded, surrounding space removed"))
    utterances: int = field(metadata=doc("Utterances in the range in which it was said and did not resolve"))
    customers: int = field(
        metadata=doc("Distinct customers who said it in the range (at least minCustomers)")
    )


@dataclass(frozen=True)
class UnresolvedValues:
    """Unresolved values of the slots the developer opted in (none unless ``slot_values`` is set)."""

    min_customers: int = field(
        metadata=doc("k: a value is listed only when at least this many distinct customers said it")
    )
    values: list[UnresolvedValue] = field(
        metadata=doc("Values said by at least minCustomers customers, most customers first")
    )
    withheld: int = field(metadata=doc("Distinct values said by fewer customers: counted, never shown"))


@dataclass(frozen=True)
class SlotsView(ViewHeader):
    """The voice model's view: slots filled, resolved or not, confirmations; worst slots first."""

    totals: SlotFigures = field(metadata=doc("Every slot of every intent over the range"))
    series: list[SlotsPoint] = field(metadata=doc("Every slot of every intent per point of the period"))
    slots: list[SlotRow] = field(
        metadata=doc(
            "One row per intent and slot, worst first: highest unresolvedRate, then most unresolved + "
            "errored, then most denied, then by intent and slot"
        )
    )
    confirmations: list[IntentConfirmations] = field(
        metadata=doc("Intents with confirmations, most denied first")
    )
    dialogs: Dialogs = field(
        metadata=doc("Dialogs per intent (dialogState): started, completed, abandoned and where, turns")
    )
    unresolved_values: UnresolvedValues = field(
        default_factory=lambda: UnresolvedValues(DEFAULT_MIN_CUSTOMERS, [], 0),
        metadata=doc(
            "Unresolved values of opted-in slots over the whole range (period and series do not "
            "apply), only those at least minCustomers distinct customers said"
        ),
    )


def _figures(counts: dict[str, int], prefix: str = "") -> dict[str, Any]:
    def get(figure: str) -> int:
        return counts.get(prefix + figure, 0)

    resolved, unresolved, errored = get("resolved"), get("unresolved"), get("errored")
    return {
        "filled": get("filled"),
        "empty": get("empty"),
        "resolved": resolved,
        "unresolved": unresolved,
        "errored": errored,
        "no_resolution": get("none"),
        "unresolved_rate": ratio(unresolved + errored, resolved + unresolved + errored),
        "confirmed": get("confirmed"),
        "denied": get("denied"),
    }


def _all_slots(rollup: Rollup) -> dict[str, int]:
    """``slot_counts`` summed over slots: figure -> utterances."""
    totals: dict[str, int] = {}
    for key, value in rollup.slot_counts.items():
        figure = key.rpartition("|")[2]
        totals[figure] = totals.get(figure, 0) + value
    return totals


def slot_rows(intent: str, rollup: Rollup) -> list[SlotRow]:
    """The rows of one intent's rollup, one per slot it holds figures for (in slot order)."""
    by_slot: dict[str, dict[str, int]] = {}
    for key, value in rollup.slot_counts.items():
        slot, _, figure = key.rpartition("|")
        by_slot.setdefault(slot, {})[figure] = value
    rows = []
    for slot in sorted(by_slot):
        counts = by_slot[slot]
        static, dynamic = (
            Resolutions(*(counts.get(f"{kind}.{f}", 0) for f in ("resolved", "unresolved", "errored")))
            for kind in AUTHORITY_KINDS
        )
        rows.append(SlotRow(**_figures(counts), intent=intent, slot=slot, static=static, dynamic=dynamic))
    return rows


def unresolved_values(
    sightings: Iterable[ValueSighting],
    min_customers: int = DEFAULT_MIN_CUSTOMERS,
    *,
    intent: str | None = None,
    locale: str | None = None,
    release: str | None = None,
) -> UnresolvedValues:
    """Group sightings by intent, slot and value; keep those ``min_customers`` customers said.

    >>> from alexa_skill_metrics.model import ValueSighting
    >>> seen = [ValueSighting("OrderIntent", "dish", "larb", f"c{n % 3}", "en-US", None, 0) for n in range(4)]
    >>> found = unresolved_values(seen, 2)
    >>> [(v.value, v.utterances, v.customers) for v in found.values], found.withheld
    ([('larb', 4, 3)], 0)
    >>> unresolved_values(seen, 4).withheld
    1
    """
    utterances: dict[tuple[str, str, str], int] = {}
    customers: dict[tuple[str, str, str], set[str]] = {}
    for s in sightings:
        if (intent is not None and s.intent != intent) or (locale is not None and s.locale != locale):
            continue
        if release is not None and (s.release or NO_RELEASE) != release:
            continue
        key = (s.intent, s.slot, s.value)
        utterances[key] = utterances.get(key, 0) + 1
        who = customers.setdefault(key, set())
        if s.customer is not None:  # a value said by no known customer counts towards no k
            who.add(s.customer)
    shown = [
        UnresolvedValue(i, slot, value, utterances[(i, slot, value)], len(who))
        for (i, slot, value), who in customers.items()
        if len(who) >= min_customers
    ]
    shown.sort(key=lambda v: (-v.customers, -v.utterances, v.intent, v.slot, v.value))
    return UnresolvedValues(min_customers, shown, len(customers) - len(shown))


def slots(frame: Frame) -> SlotsView:
    """Build the voice-model view from per-intent rollups."""
    points = frame.points()
    rows = [row for intent, rollup in sorted(frame.by_intent().items()) for row in slot_rows(intent, rollup)]
    rows.sort(key=lambda r: (-r.unresolved_rate, -(r.unresolved + r.errored), -r.denied, r.intent, r.slot))
    confirmations = [
        IntentConfirmations(
            intent=intent,
            utterances=rollup.utterances,
            confirmed=rollup.intents_confirmed,
            denied=rollup.intents_denied,
            denied_share=ratio(rollup.intents_denied, rollup.intents_confirmed + rollup.intents_denied),
        )
        for intent, rollup in frame.by_intent().items()
        if rollup.intents_confirmed or rollup.intents_denied
    ]
    confirmations.sort(key=lambda c: (-c.denied, -c.denied_share, c.intent))
    total = frame.merge(rollup for _, rollup in points)
    return SlotsView(
        **header(frame, "slots"),
        totals=SlotFigures(**_figures(_all_slots(total))),
        series=[SlotsPoint(start=format_time(start), **_figures(_all_slots(p))) for start, p in points],
        slots=rows,
        confirmations=confirmations,
        dialogs=dialogs(frame),
    )
