"""Unresolved values of the slots a developer opted in: the one place the recorder keeps what was said.

METRICS.md's "Unresolved values": for an (intent, slot) pair in ``Settings.slot_values`` only, a
slot whose resolution is **unresolved** (no authority matched, one said ``ER_SUCCESS_NO_MATCH``:
the rule ``recording.slots`` applies) gives its value, case-folded and stripped of surrounding
space, into the event's ``uv``. A ``List`` slot gives each of its values that is itself
unresolved. Nothing else is ever read for a value.

The slot type is not in the request, but every resolution authority names it
(``amzn1.er-authority.echo-sdk[.dynamic].<skill id>.<slot type>``), and an unresolved slot always
has one. The rule is default-deny: a value is kept only when every authority of the slot names a
type and none is a personal one (``PERSONAL_TYPES``), whatever the developer declared. A
declared personal type is refused when the recorder is configured, with one warning; a type only
the envelope shows is refused the first time it is seen, with one warning per slot.

Values longer than ``MAX_VALUE_BYTES`` are not kept (a cut value could merge phrases that differ),
and an event keeps at most ``MAX_VALUES_BYTES`` of them, so it stays one write unit (the codec
drops whole values first should the slot statuses leave less room).

Example
-------
>>> policy = ValuePolicy((("OrderIntent", "dish", None),))
>>> authority = "amzn1.er-authority.echo-sdk.amzn1.ask.skill.1.Dish"
>>> policy.read({"name": "OrderIntent", "slots": {"dish": {"name": "dish", "value": " Pad SEE ew ",
...     "resolutions": {"resolutionsPerAuthority": [
...         {"authority": authority, "status": {"code": "ER_SUCCESS_NO_MATCH"}}]}}}})
'dish\\x1fpad see ew'
>>> slot_type("amzn1.er-authority.echo-sdk.dynamic.amzn1.ask.skill.1.AMAZON.Actor")
'AMAZON.Actor'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.model import UNRESOLVED, encode_values, has_separator
from alexa_skill_metrics.recording.slots import slot_status

if TYPE_CHECKING:
    from alexa_skill_metrics.config import SlotOptIn

MAX_VALUE_BYTES = 64  # UTF-8 bytes of one value (a dish, a city: a few words)
MAX_VALUES_BYTES = 160  # of ``uv`` in one event: two long values, or many short ones

# Built-in types whose values are, or can be, personal data: names of people (first names, and
# the people catalogues, whose values a customer also says of themselves and their family),
# addresses and phone numbers, free-form phrases (AMAZON.SearchQuery takes anything said), and
# dates, times, numbers and digit strings (birthdays, PINs, account and card numbers). Most of
# these have no entity resolution at all, so are never unresolved; they are listed so that an
# extended one (AMAZON.Actor with custom values) or a future resolution cannot let a value in.
# AMAZON.EmailAddress is not a type Amazon documents; it is refused should one appear.
PERSONAL_TYPES = frozenset({
    "AMAZON.SearchQuery", "AMAZON.FirstName", "AMAZON.US_FIRST_NAME", "AMAZON.GB_FIRST_NAME",
    "AMAZON.DE_FIRST_NAME", "AMAZON.Person", "AMAZON.Actor", "AMAZON.Artist", "AMAZON.Author",
    "AMAZON.Athlete", "AMAZON.Director", "AMAZON.Musician", "AMAZON.Professional",
    "AMAZON.PhoneNumber", "AMAZON.PostalAddress", "AMAZON.StreetAddress", "AMAZON.StreetName",
    "AMAZON.EmailAddress", "AMAZON.DATE", "AMAZON.TIME", "AMAZON.DURATION", "AMAZON.NUMBER",
    "AMAZON.FOUR_DIGIT_NUMBER", "AMAZON.Ordinal", "AMAZON.AlphaNumeric",
})  # fmt: skip
# Locale variants Amazon added or may add (AMAZON.FR_FIRST_NAME ...), and any *Name/*Address type.
_PERSONAL_PATTERN = re.compile(
    r"AMAZON\.(?:[A-Z]{2}_FIRST_NAME|\w*(?:Name|NAME|Address|ADDRESS|Phone|PHONE)\w*)"
)
_AUTHORITY = re.compile(
    r"amzn1\.er-authority\.echo-sdk\.(?:dynamic\.)?"
    r"(?:amzn1\.ask\.skill\.[^.]+|amzn1\.echo-sdk-ams\.app\.[^.]+)\.([A-Za-z][A-Za-z0-9_.]{0,99})"
)


def is_personal(slot_type: str) -> bool:
    """Whether values of ``slot_type`` may be personal data, so are never recorded.

    >>> is_personal("AMAZON.FirstName"), is_personal("AMAZON.IT_FIRST_NAME"), is_personal("Dish")
    (True, True, False)
    """
    return slot_type in PERSONAL_TYPES or bool(_PERSONAL_PATTERN.fullmatch(slot_type))


def slot_type(authority: Any) -> str | None:
    """The slot type a resolution authority names, or ``None`` when it names none we can read."""
    match = _AUTHORITY.fullmatch(authority) if isinstance(authority, str) else None
    return match.group(1) if match else None


class ValuePolicy:
    """Which slots' unresolved values the recorder reads, and reading them from ``request.intent``.

    ``opt_ins``: ``Settings.slot_values``. Declared personal types are refused (one warning each).
    """

    def __init__(self, opt_ins: tuple[SlotOptIn, ...]) -> None:
        self.slots: dict[str, frozenset[str]] = {}
        wanted: dict[str, set[str]] = {}
        for intent, slot, declared in opt_ins:
            if declared is not None and is_personal(declared):
                telemetry.warn(
                    "slot values refused: the slot's type carries personal data",
                    intent=intent, slot=slot, slot_type=declared,
                )  # fmt: skip
                continue
            wanted.setdefault(intent, set()).add(slot)
        self.slots = {intent: frozenset(slots) for intent, slots in wanted.items()}
        self._warned: set[tuple[str, str]] = set()

    def __bool__(self) -> bool:
        return bool(self.slots)

    def read(self, intent: Any) -> str | None:
        """``Event.uv`` for ``request.intent``: its opted-in slots' unresolved values; never raises."""
        if not isinstance(intent, dict):
            return None
        name = intent.get("name")
        wanted = self.slots.get(name) if isinstance(name, str) else None
        slots = intent.get("slots")
        if not wanted or not isinstance(slots, dict):
            return None
        pairs: list[tuple[str, str]] = []
        room = MAX_VALUES_BYTES
        for slot_name in sorted(wanted & slots.keys()):
            slot = slots[slot_name]
            if not isinstance(slot, dict) or slot_status(slot_name, slot).resolution != UNRESOLVED:
                continue
            for value, authorities in _unresolved(slot):
                if not self._allowed(str(name), slot_name, authorities):
                    break
                size = len(slot_name) + len(value.encode()) + 2
                if size <= room:
                    pairs.append((slot_name, value))
                    room -= size
        return encode_values(pairs)

    def _allowed(self, intent: str, slot: str, authorities: list[Any]) -> bool:
        types = {slot_type(a.get("authority")) if isinstance(a, dict) else None for a in authorities}
        if types and None not in types and not any(is_personal(t) for t in types if t):
            return True
        if (intent, slot) not in self._warned:
            self._warned.add((intent, slot))
            shown = sorted(t for t in types if t) or ["unknown"]
            telemetry.warn(
                "slot values refused: the slot's type carries personal data or cannot be told",
                intent=intent, slot=slot, slot_type=", ".join(shown)[:120],
            )  # fmt: skip
        return False


def _unresolved(slot: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """``(folded value, its authorities)`` of each unresolved value of an unresolved slot."""
    holder = slot.get("slotValue")
    if isinstance(holder, dict) and holder.get("type") == "List":
        items = holder.get("values")
        candidates = [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []
    elif isinstance(holder, dict) and isinstance(holder.get("value"), str):
        candidates = [holder]
    else:
        candidates = [slot]
    out = []
    for candidate in candidates:
        value = candidate.get("value")
        if not isinstance(value, str):
            continue
        folded = value.casefold().strip()
        if not folded or has_separator(folded) or len(folded.encode()) > MAX_VALUE_BYTES:
            continue
        if (
            slot_status("v", {"value": value, "resolutions": candidate.get("resolutions")}).resolution
            != UNRESOLVED
        ):
            continue
        resolutions = candidate.get("resolutions")
        found = resolutions.get("resolutionsPerAuthority") if isinstance(resolutions, dict) else None
        out.append((folded, found if isinstance(found, list) else []))
    return out
