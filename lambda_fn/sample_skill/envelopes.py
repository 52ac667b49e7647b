"""Build Alexa request envelopes shaped like the ones Alexa sends, for the demo and the tests.

Ids are made up (``amzn1.ask.account.DEMO...``); nothing here is real customer data.

Example
-------
>>> env = Envelopes(skill_id="amzn1.ask.skill.00000000-0000-4000-8000-000000000001")
>>> req = env.intent("RollDiceIntent", user="u1", session="s1", at_ms=1_767_607_200_000, new=False,
...                  slots={"sides": "6"})
>>> req["request"]["intent"]["name"], req["session"]["new"], req["request"]["timestamp"]
('RollDiceIntent', False, '2026-01-05T10:00:00Z')
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEMO_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Envelopes:
    """A factory of envelopes for one skill; request ids are unique and deterministic."""

    skill_id: str = DEMO_SKILL_ID
    locale: str = "en-US"
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def launch(
        self, *, user: str, session: str, at_ms: int, attributes: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._envelope({"type": "LaunchRequest"}, user, session, at_ms, True, attributes)

    def intent(
        self,
        name: str,
        *,
        user: str,
        session: str,
        at_ms: int,
        new: bool = False,
        slots: dict[str, str] | None = None,
        attributes: dict[str, Any] | None = None,
        dialog_state: str = "COMPLETED",
        empty: tuple[str, ...] = (),
        confirmation: str = "NONE",
    ) -> dict[str, Any]:
        """An IntentRequest; ``empty`` slots are present without a value, as Alexa sends a dialog's."""
        slot_objects: dict[str, Any] = {k: {"name": k, "confirmationStatus": "NONE"} for k in empty}
        slot_objects.update(
            (k, {"name": k, "value": v, "confirmationStatus": "NONE", "source": "USER"})
            for k, v in (slots or {}).items()
        )
        intent: dict[str, Any] = {"name": name, "confirmationStatus": confirmation, "slots": slot_objects}
        if name == "RollDiceIntent":
            _dice_colour(intent, zlib.crc32(f"{session}{at_ms}".encode()), self.skill_id)
        request = {"type": "IntentRequest", "dialogState": dialog_state, "intent": intent}
        return self._envelope(request, user, session, at_ms, new, attributes)

    def session_ended(
        self,
        reason: str | None,
        *,
        user: str,
        session: str,
        at_ms: int,
        attributes: dict[str, Any] | None = None,
        error_type: str | None = None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"type": "SessionEndedRequest"}
        if reason is not None:
            request["reason"] = reason
        if error_type is not None:
            request["error"] = {"type": error_type, "message": "An exception occurred while dispatching"}
        return self._envelope(request, user, session, at_ms, False, attributes)

    def skill_event(self, event_type: str, *, user: str, at_ms: int) -> dict[str, Any]:
        """``AlexaSkillEvent.*`` (enable, disable, permission changes): no session, no locale."""
        envelope = self._envelope({"type": event_type, "body": {}}, user, None, at_ms, False, None)
        envelope["request"].pop("locale")
        envelope["request"]["eventCreationTime"] = iso(at_ms)
        envelope["request"]["eventPublishingTime"] = iso(at_ms)
        return envelope

    def can_fulfill(self, name: str, *, user: str, at_ms: int) -> dict[str, Any]:
        request = {"type": "CanFulfillIntentRequest", "intent": {"name": name, "slots": {}}}
        return self._envelope(request, user, f"cfir-{next(self._ids)}", at_ms, True, None)

    def audio_player(self, event_type: str, *, user: str, at_ms: int) -> dict[str, Any]:
        request = {"type": event_type, "token": "track-1", "offsetInMilliseconds": 0}
        return self._envelope(request, user, None, at_ms, False, None)

    def _envelope(
        self,
        request: dict[str, Any],
        user: str,
        session: str | None,
        at_ms: int,
        new: bool,
        attributes: dict[str, Any] | None,
    ) -> dict[str, Any]:
        user_id = f"amzn1.ask.account.DEMO{user}"
        application = {"applicationId": self.skill_id}
        envelope: dict[str, Any] = {
            "version": "1.0",
            "context": {
                "System": {
                    "application": application,
                    "user": {"userId": user_id},
                    "device": {"deviceId": "amzn1.ask.device.DEMO", "supportedInterfaces": {}},
                    "apiEndpoint": "https://api.amazonalexa.com",
                    "apiAccessToken": "DEMO-ACCESS-TOKEN",
                }
            },
            "request": {
                "requestId": f"amzn1.echo-api.request.demo-{next(self._ids):08d}",
                "timestamp": iso(at_ms),
                "locale": self.locale,
                **request,
            },
        }
        if session is not None:
            envelope["session"] = {
                "new": new,
                "sessionId": f"amzn1.echo-api.session.demo-{session}",
                "application": application,
                "attributes": dict(attributes or {}),
                "user": {"userId": user_id},
            }
        return envelope


# The dice's colour: a custom slot type with static values and per-session dynamic entities, in the
# shapes of Amazon's entity-resolution reference. Chosen by a hash of the request (not the traffic's
# random generator), so every other figure of a seeded simulation stays as it was.
_STATIC = "amzn1.er-authority.echo-sdk.{skill}.DiceColour"
_DYNAMIC = "amzn1.er-authority.echo-sdk.dynamic.{skill}.DiceColour"
_COLOURS = ("red", "red", "blue", "green", "lucky one", "my usual", "sparkly", "sparkly", "", "")
# What customers say for "sparkly", which no value or synonym matches: the demo opts the colour slot
# in (``app.SLOT_VALUES``), so these are the unresolved values it reports, case-folded ("Sparkly "
# and "sparkly" are one); the last is said so rarely that fewer than k customers say it.
_UNMATCHED = ("sparkly", "Sparkly ", "glittery", "rainbow")
_RARE = "zq purple polka dots"


def _dice_colour(intent: dict[str, Any], digest: int, skill: str) -> None:
    said = _COLOURS[digest % len(_COLOURS)]
    slot: dict[str, Any] = {"name": "colour", "confirmationStatus": "NONE"}
    if said:
        static = "ER_SUCCESS_MATCH" if said in ("red", "blue", "green") else "ER_SUCCESS_NO_MATCH"
        dynamic = "ER_SUCCESS_MATCH" if said in ("lucky one", "my usual") else "ER_SUCCESS_NO_MATCH"
        if digest % 31 == 0:
            static = "ER_ERROR_TIMEOUT"
        authorities: list[dict[str, Any]] = [
            {"authority": _STATIC.format(skill=skill), "status": {"code": static}}
        ]
        if static == "ER_SUCCESS_MATCH":
            authorities[0]["values"] = [{"value": {"name": said.upper(), "id": said}}]
        if said != "green":  # dynamic entities exist only where the skill set some for the session
            authorities.insert(0, {"authority": _DYNAMIC.format(skill=skill), "status": {"code": dynamic}})
        if said == "sparkly":
            said = _RARE if digest % 37 == 0 else _UNMATCHED[(digest // 10) % len(_UNMATCHED)]
        slot.update(value=said, source="USER", resolutions={"resolutionsPerAuthority": authorities})
    slot["confirmationStatus"] = {3: "DENIED", 4: "CONFIRMED"}.get(digest % 20, "NONE")
    intent["confirmationStatus"] = {7: "DENIED", 8: "CONFIRMED"}.get(digest % 25, "NONE")
    intent["slots"]["colour"] = slot
