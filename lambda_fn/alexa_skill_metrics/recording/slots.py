"""Slot statuses and confirmations of an ``IntentRequest``, read from the raw envelope: never values.

What METRICS.md's "Slots, confirmations and dialogs" counts, per slot of ``request.intent.slots``:
filled or empty (``value``, or a ``slotValue`` of type ``Simple`` with a value or ``List`` with at
least one), the resolution status (``ER_SUCCESS_MATCH`` resolved, else ``ER_SUCCESS_NO_MATCH``
unresolved, else ``ER_ERROR_TIMEOUT``/``ER_ERROR_EXCEPTION`` errored, else no resolution), the
same per authority kind (dynamic entities, static slot type values), and the slot's and the
intent's ``confirmationStatus``. Works on plain dicts and never raises: anything malformed is
read as absent. The result is the compact text ``SlotStatus.encode`` writes into the event.

Example
-------
>>> intent = {"name": "OrderIntent", "confirmationStatus": "DENIED", "slots": {
...     "dish": {"name": "dish", "value": "pad thai", "confirmationStatus": "NONE", "resolutions": {
...         "resolutionsPerAuthority": [
...             {"authority": "amzn1.er-authority.echo-sdk.dynamic.amzn1.ask.skill.1.Dish",
...              "status": {"code": "ER_SUCCESS_NO_MATCH"}},
...             {"authority": "amzn1.er-authority.echo-sdk.amzn1.ask.skill.1.Dish",
...              "status": {"code": "ER_SUCCESS_MATCH"}, "values": [{"value": {"name": "Pad Thai"}}]}]}},
...     "size": {"name": "size"}}}
>>> read_slots(intent)
('dish:frru- size:e----', 'd')
"""

from __future__ import annotations

import re
from typing import Any

from alexa_skill_metrics.model import (
    CONFIRMED,
    DENIED,
    ERRORED,
    NO_RESOLUTION,
    RESOLVED,
    UNRESOLVED,
    SlotStatus,
)

DYNAMIC_AUTHORITY = "amzn1.er-authority.echo-sdk.dynamic"
STATIC_AUTHORITY = "amzn1.er-authority.echo-sdk"
# Slot names are the developer's identifiers (letters and underscores in the console); anything else
# is not recorded, so no delimiter or value-like text can get into the event.
SLOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,39}")
MAX_CODES = 400  # characters of slot statuses an event carries at most: it stays one write unit
_CODES = {"ER_SUCCESS_MATCH": RESOLVED, "ER_SUCCESS_NO_MATCH": UNRESOLVED,
          "ER_ERROR_TIMEOUT": ERRORED, "ER_ERROR_EXCEPTION": ERRORED}  # fmt: skip
_RANK = (RESOLVED, UNRESOLVED, ERRORED)  # best first: how statuses combine (METRICS.md)
_CONFIRMATIONS = {"CONFIRMED": CONFIRMED, "DENIED": DENIED}


def read_slots(intent: Any) -> tuple[str | None, str | None]:
    """``(slot status codes, intent confirmation)`` of ``request.intent``; ``None`` where there is none."""
    intent = intent if isinstance(intent, dict) else {}
    confirmation = _confirmation(intent)
    slots = intent.get("slots")
    if not isinstance(slots, dict):
        return None, confirmation
    codes: list[str] = []
    length = 0
    for key in sorted(slots, key=str):
        slot = slots[key]
        if not isinstance(key, str) or not SLOT_NAME.fullmatch(key) or not isinstance(slot, dict):
            continue
        code = slot_status(key, slot).code()
        length += len(code) + 1
        if length > MAX_CODES:
            break
        codes.append(code)
    return (" ".join(codes) or None), confirmation


def slot_status(name: str, slot: dict[str, Any]) -> SlotStatus:
    """The status of one slot object (``request.intent.slots[name]``)."""
    confirmation = _confirmation(slot)
    values = _values(slot)
    if not values:
        return SlotStatus(name, False, confirmation=confirmation)
    # A List counts once, by its best value; a value's authorities decide its status.
    overall = _best([_status(authorities) for authorities in values])
    static = _best([_status(a, kind=STATIC_AUTHORITY) for a in values], absent=None)
    dynamic = _best([_status(a, kind=DYNAMIC_AUTHORITY) for a in values], absent=None)
    return SlotStatus(name, True, overall, static, dynamic, confirmation)


def _confirmation(holder: dict[str, Any]) -> str | None:
    status = holder.get("confirmationStatus")
    return _CONFIRMATIONS.get(status) if isinstance(status, str) else None


def _values(slot: dict[str, Any]) -> list[list[Any]]:
    """The authorities of each value the slot was filled with (one list per value; empty: unfilled)."""
    slot_value = slot.get("slotValue")
    if isinstance(slot_value, dict):
        if slot_value.get("type") == "List":
            items = slot_value.get("values")
            items = [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []
            return [_authorities(v) for v in items if _has_value(v)]
        if _has_value(slot_value):
            return [_authorities(slot_value)]
    if _has_value(slot):
        return [_authorities(slot)]
    return []


def _has_value(holder: dict[str, Any]) -> bool:
    value = holder.get("value")
    return isinstance(value, str) and bool(value.strip())


def _authorities(holder: dict[str, Any]) -> list[Any]:
    resolutions = holder.get("resolutions")
    found = resolutions.get("resolutionsPerAuthority") if isinstance(resolutions, dict) else None
    return found if isinstance(found, list) else []


def _status(authorities: list[Any], kind: str | None = None) -> str | None:
    """Resolved > unresolved > errored over ``authorities`` (of ``kind`` only); no resolution: ``None``."""
    codes = set()
    for authority in authorities:
        if not isinstance(authority, dict):
            continue
        name = authority.get("authority")
        name = name if isinstance(name, str) else ""
        if kind == DYNAMIC_AUTHORITY and not name.startswith(DYNAMIC_AUTHORITY):
            continue
        if kind == STATIC_AUTHORITY and (
            not name.startswith(STATIC_AUTHORITY) or name.startswith(DYNAMIC_AUTHORITY)
        ):
            continue
        status = authority.get("status")
        code = status.get("code") if isinstance(status, dict) else None
        if isinstance(code, str) and code in _CODES:
            codes.add(_CODES[code])
    return next((status for status in _RANK if status in codes), None)


def _best(statuses: list[str | None], absent: str | None = NO_RESOLUTION) -> str | None:
    return next((status for status in _RANK if status in statuses), absent)
