"""Read what METRICS.md records from a raw request envelope, tolerating anything Alexa may send.

Works on the Lambda event dict, not on ask_sdk_model objects, so that envelopes the SDK cannot
parse are still recorded. Never raises on bad input.

Example
-------
>>> f = read_envelope({"request": {"type": "LaunchRequest", "requestId": "r1",
...                    "timestamp": "2026-01-05T10:00:00Z", "locale": "en-US"},
...                    "session": {"new": True, "sessionId": "s1",
...                                "application": {"applicationId": "amzn1.ask.skill.x"}}},
...                   received_ms=1_767_607_200_500)
>>> f.skill_id, f.request_type, f.timestamp_ms, f.new_session
('amzn1.ask.skill.x', 'LaunchRequest', 1767607200000, True)
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeGuard

from alexa_skill_metrics.model import RELEASE_PATTERN, UNKNOWN_SKILL, Dialog
from alexa_skill_metrics.recording import dialogs
from alexa_skill_metrics.recording.slots import read_slots

# The recorder's reserved session-attribute key (METRICS.md: session start, last intent answered).
STAMP_KEY = "_skill_metrics"
_MAX_TEXT = 100  # longer identifiers are cut so one event always fits one write unit
# Epoch ms the storage keys can hold (13 digits, up to the year 2286); anything else is not a time.
_MAX_EPOCH_MS = 10**13
RELEASE = re.compile(RELEASE_PATTERN)
_MAX_NODE = 16  # pathtree node ids are 9 characters; anything much longer is not one of ours


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the recorder keeps in the session attributes between requests of one session."""

    start_ms: int
    last_ms: int
    intent: str | None
    prompt: bool = False  # the answered utterance was a prompt (METRICS.md, Friction)
    unhandled: bool = False  # ... was unhandled: AMAZON.FallbackIntent or failed
    path: str | None = None  # pathtree node id of the answered utterances so far
    release: str | None = None  # the release that started the session (METRICS.md, Releases)
    dialog: Dialog | None = None  # the dialog still open after the answered utterance (METRICS.md, Dialogs)

    def to_attribute(self) -> dict[str, Any]:
        attribute: dict[str, Any] = {"s": self.start_ms, "t": self.last_ms, "i": self.intent}
        if self.prompt:  # left out when false: the attribute travels with every reply
            attribute["p"] = True
        if self.unhandled:
            attribute["u"] = True
        if self.path is not None:
            attribute["n"] = self.path
        if self.release is not None:
            attribute["r"] = self.release
        if self.dialog is not None:
            attribute["g"] = dialogs.to_attribute(self.dialog)
        return attribute

    def answered(self, *, prompt: bool, unhandled: bool, asked: str | None = None) -> Stamp:
        """This stamp once the reply is known (``asked``: the question its Dialog directive asked)."""
        dialog = self.dialog
        if dialog is not None and asked is not None and asked != dialog.asked:
            dialog = Dialog(dialog.intent, dialog.start_ms, dialog.turns, asked)
        return replace(self, prompt=prompt, unhandled=unhandled, dialog=dialog)

    @classmethod
    def from_attributes(cls, attributes: Any) -> Stamp | None:
        raw = attributes.get(STAMP_KEY) if isinstance(attributes, dict) else None
        if not isinstance(raw, dict):
            return None
        start, last = raw.get("s"), raw.get("t")
        if not (is_epoch_ms(start) and is_epoch_ms(last)):
            return None
        return cls(
            start,
            last,
            _text(raw.get("i")),
            raw.get("p") is True,
            raw.get("u") is True,
            _path_node(raw.get("n")),
            _release(raw.get("r")),
            dialogs.from_attribute(raw.get("g")),
        )


@dataclass(frozen=True, slots=True)
class EnvelopeFields:
    """The recordable fields of one envelope; raw user ids stay in ``user_id`` only in memory."""

    skill_id: str
    request_id: str
    request_type: str
    timestamp_ms: int
    timestamp_from_alexa: bool
    user_id: str | None
    session_id: str | None
    new_session: bool | None
    intent: str | None
    locale: str | None
    end_reason: str | None
    error_type: str | None
    stamp: Stamp | None
    slots: str | None = None  # slot status codes (``recording.slots``), never values
    confirmation: str | None = None
    dialog_state: str | None = None  # request.dialogState's code (``model.DIALOG_STATES``)


def _release(value: Any) -> str | None:
    """A release the stamp carries back; anything else (a stamp edited on the way) is none."""
    return value if isinstance(value, str) and RELEASE.fullmatch(value) else None


def read_envelope(event: Any, received_ms: int) -> EnvelopeFields:
    """Extract the recordable fields from a raw Lambda event; missing parts become ``None``."""
    envelope = event if isinstance(event, dict) else {}
    request = _dict(envelope.get("request"))
    session = _dict(envelope.get("session"))
    system = _dict(_dict(envelope.get("context")).get("System"))

    skill_id = _text(_dict(system.get("application")).get("applicationId")) or _text(
        _dict(session.get("application")).get("applicationId")
    )
    user_id = _text(_dict(system.get("user")).get("userId"), limit=None) or _text(
        _dict(session.get("user")).get("userId"), limit=None
    )
    timestamp_ms = parse_timestamp(request.get("timestamp"))
    request_type = _text(request.get("type")) or "unknown"
    new = session.get("new")
    slots, confirmation = (
        read_slots(request.get("intent")) if request_type == "IntentRequest" else (None, None)
    )
    return EnvelopeFields(
        skill_id=skill_id or UNKNOWN_SKILL,
        # A random suffix: two id-less requests in one millisecond must not collapse into one event.
        request_id=_text(request.get("requestId")) or f"unidentified-{received_ms}-{os.urandom(4).hex()}",
        request_type=request_type,
        timestamp_ms=timestamp_ms if timestamp_ms is not None else received_ms,
        timestamp_from_alexa=timestamp_ms is not None,
        user_id=user_id,
        session_id=_text(session.get("sessionId")),
        new_session=new if isinstance(new, bool) else None,
        intent=_text(_dict(request.get("intent")).get("name")) if request_type == "IntentRequest" else None,
        locale=_text(request.get("locale")),
        end_reason=_text(request.get("reason")),
        error_type=_text(_dict(request.get("error")).get("type")),
        stamp=Stamp.from_attributes(session.get("attributes")),
        slots=slots,
        confirmation=confirmation,
        dialog_state=dialogs.read_state(request) if request_type == "IntentRequest" else None,
    )


def parse_timestamp(value: Any) -> int | None:
    """Alexa's ``request.timestamp`` as epoch ms: ISO 8601, or epoch seconds/ms as some tools send."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        # Epoch seconds until the year 2286, milliseconds above that.
        ms = int(value if value > 1e10 else value * 1000)
        return ms if is_epoch_ms(ms) else None
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    if value.isascii() and value.isdigit():  # str.isdigit alone accepts "²", which int() refuses
        return parse_timestamp(int(value))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return None
        ms = int(parsed.timestamp() * 1000)
    except (ValueError, OverflowError):  # an offset pushing year 1 or 9999 out of range
        return None
    return ms if is_epoch_ms(ms) else None


def is_epoch_ms(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is an int the event keys can hold as a time (0 to 13 digits).

    >>> is_epoch_ms(1_767_607_200_000), is_epoch_ms(10**30), is_epoch_ms(True)
    (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_EPOCH_MS


def _path_node(value: Any) -> str | None:
    """A path node id as ``pathtree`` makes them (a depth digit and a short hash), else ``None``."""
    if isinstance(value, str) and 0 < len(value) <= _MAX_NODE and value[0].isdigit():
        return value
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int | None = _MAX_TEXT) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    text: str = value
    if not text.isascii():
        # JSON may carry lone surrogates (a "\ud800" escape): no UTF-8 encoder (HMAC, HTTP body) takes them.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text if limit is None else text[:limit]
