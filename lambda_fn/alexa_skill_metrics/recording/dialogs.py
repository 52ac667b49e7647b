"""Dialogs as the recorder sees them: the request's ``dialogState``, the reply's question, the stamp's part.

What METRICS.md's "Slots, confirmations and dialogs" counts for dialogs needs three things per
request, read here without ever touching a slot value: the ``dialogState`` of an
``IntentRequest`` (``read_state``), the question the skill's reply asked with a Dialog directive
(``question_of``: ``Dialog.ElicitSlot``'s ``slotToElicit``, ``Dialog.ConfirmSlot``'s
``slotToConfirm``, ``Dialog.ConfirmIntent``, or ``Dialog.Delegate`` when Alexa asks), and the
dialog still open in the session, which rides in the recorder's stamp as a short list
(``to_attribute`` / ``from_attribute``). The rule that moves a dialog along is
``model.dialog_after``, which the aggregation's fold applies to the same recorded facts.

Everything here tolerates any input and never raises: what is malformed reads as absent.

Example
-------
>>> read_state({"type": "IntentRequest", "dialogState": "IN_PROGRESS"})
'p'
>>> question_of({"response": {"directives": [{"type": "Dialog.ElicitSlot", "slotToElicit": "dish"}]}})
'e:dish'
>>> from alexa_skill_metrics.model import Dialog
>>> d = Dialog("OrderIntent", 1_767_607_200_000, 2, "e:dish")
>>> to_attribute(d), from_attribute(to_attribute(d)) == d
(['OrderIntent', 1767607200000, 2, 'e:dish'], True)
"""

from __future__ import annotations

from typing import Any

from alexa_skill_metrics.model import (
    CONFIRM_INTENT,
    CONFIRM_SLOT,
    DELEGATED,
    DIALOG_STATES,
    ELICIT,
    MAX_TURNS,
    Dialog,
    is_question,
)
from alexa_skill_metrics.recording.slots import SLOT_NAME

MAX_INTENT = 100  # as the event's own intent name (classify): longer names are cut
MAX_EPOCH_MS = 10**13  # as classify's times: 13 digits, what the event keys hold
_SLOT_FIELDS = {"Dialog.ElicitSlot": ("slotToElicit", "slot_to_elicit", ELICIT),
                "Dialog.ConfirmSlot": ("slotToConfirm", "slot_to_confirm", CONFIRM_SLOT)}  # fmt: skip
_PLAIN = {"Dialog.ConfirmIntent": CONFIRM_INTENT, "Dialog.Delegate": DELEGATED}


def read_state(request: Any) -> str | None:
    """The ``dialogState`` code of a raw ``request`` object (``None``: none, or not one Alexa sends)."""
    state = request.get("dialogState") if isinstance(request, dict) else None
    return DIALOG_STATES.get(state) if isinstance(state, str) else None


def question_of(response: Any) -> str | None:
    """The question code of a reply's last Dialog directive that asks one; ``None``: it asks none.

    ``response`` is what the skill returned: the serialized envelope (``{"response": {...}}``),
    its inner ``response`` dict, or the ASK SDK's ``Response`` object (response interceptors see
    that one). Directives that ask nothing (``Dialog.UpdateDynamicEntities``, APL...) are skipped.
    """
    try:
        if isinstance(response, dict):
            inner = response.get("response")
            directives = (inner if isinstance(inner, dict) else response).get("directives")
        else:
            directives = getattr(response, "directives", None)
        if not isinstance(directives, list):
            return None
        found = None
        for directive in directives:
            code = _question(directive)
            if code is not None:
                found = code
        return found
    except Exception:  # an object whose attributes raise: the reply asked nothing we can tell
        return None


def _question(directive: Any) -> str | None:
    if isinstance(directive, dict):
        kind = directive.get("type")
        fields = _SLOT_FIELDS.get(kind) if isinstance(kind, str) else None
        slot = directive.get(fields[0]) if fields else None
    else:
        kind = getattr(directive, "object_type", None)
        fields = _SLOT_FIELDS.get(kind) if isinstance(kind, str) else None
        slot = getattr(directive, fields[1], None) if fields else None
    if not isinstance(kind, str):
        return None
    if fields is not None:
        # A slot name outside the console's identifiers is not recorded (no value-like text gets in).
        return fields[2] + slot if isinstance(slot, str) and SLOT_NAME.fullmatch(slot) else None
    return _PLAIN.get(kind)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def to_attribute(dialog: Dialog) -> list[Any]:
    """The stamp's ``g``: ``[intent, start ms, turns, question]`` (the stamp travels with every reply)."""
    return [dialog.intent, dialog.start_ms, dialog.turns, dialog.asked]


def from_attribute(raw: Any) -> Dialog | None:
    """The open dialog a stamp's ``g`` carries back, or ``None`` when it is absent or edited on the way."""
    if not isinstance(raw, list) or len(raw) != 4:
        return None
    intent, start, turns, asked = raw
    if not (isinstance(intent, str) and 0 < len(intent) <= MAX_INTENT):
        return None
    if not (_whole(start) and 0 <= start < MAX_EPOCH_MS and _whole(turns) and 0 < turns <= MAX_TURNS):
        return None
    if not isinstance(asked, str) or not is_question(asked):
        return None
    return Dialog(intent, start, turns, asked)
