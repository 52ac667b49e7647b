"""Dice Coach: the sample skill the demo, the tests and ``sam local invoke`` drive.

Its intents cover every path METRICS.md distinguishes: a launch and a help intent that keep the
session open with a reprompt, ``RollDiceIntent`` that answers and asks again, ``RollDiceIntent``
with a bad number that raises and is answered by the exception handler, ``CheckScoreIntent``
whose backend outage escapes the skill, ``AMAZON.StopIntent`` that ends the session, the
fallback intent, and ``SetUpGameIntent``, a dialog: the skill asks for the players itself
(``Dialog.ElicitSlot``) and lets Alexa ask for the dice and confirm the game (``Dialog.Delegate``).

The integration is the three lines marked below; ``build_handler`` exists so tests and the demo
can build the same skill with or without the recorder.
"""

from __future__ import annotations

import random
from typing import Any

from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name, is_request_type
from ask_sdk_core.utils.request_util import get_dialog_state, get_slot
from ask_sdk_model.dialog.delegate_directive import DelegateDirective
from ask_sdk_model.dialog.elicit_slot_directive import ElicitSlotDirective
from ask_sdk_model.dialog_state import DialogState
from ask_sdk_model.intent_confirmation_status import IntentConfirmationStatus
from ask_sdk_model.intent_request import IntentRequest
from ask_sdk_model.response import Response

from alexa_skill_metrics import SkillMetrics

REPROMPT = "Say roll a die, or ask for help."


class BackendOutage(Exception):
    """The score service is down; the skill lets this escape so Lambda reports an error."""


def _attributes(handler_input: HandlerInput) -> dict[str, Any]:
    manager = handler_input.attributes_manager
    attributes = manager.session_attributes
    if attributes is None:
        attributes = manager.session_attributes = {}
    return attributes


class LaunchHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        _attributes(handler_input)["rolls"] = 0
        speech = "Welcome to Dice Coach. How many sides should your die have?"
        return handler_input.response_builder.speak(speech).ask(REPROMPT).response


class RollDiceHandler(AbstractRequestHandler):
    def __init__(self, *, big_dice_bug: bool = False) -> None:
        self.big_dice_bug = big_dice_bug  # release 2 of the demo (``build_skill``)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("RollDiceIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        slot = get_slot(handler_input, "sides")
        raw = (slot.value if slot is not None else None) or "6"
        sides = int(raw)  # a ValueError here is answered by the exception handler
        if sides < 2:
            raise ValueError("a die needs at least two sides")
        if self.big_dice_bug and sides > 12:
            raise KeyError(f"no face table for a d{sides}")  # answered by the exception handler
        attributes = _attributes(handler_input)
        attributes["rolls"] = int(attributes.get("rolls", 0)) + 1
        request = handler_input.request_envelope.request
        roll = random.Random(request.request_id if request else None).randint(1, sides)
        speech = f"You rolled a {roll}. Roll again?"
        return handler_input.response_builder.speak(speech).ask(REPROMPT).response


class CheckScoreHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("CheckScoreIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        rolls = int(_attributes(handler_input).get("rolls", 0))
        if rolls == 0:
            raise BackendOutage("score service unavailable")
        speech = f"You have rolled {rolls} times. Roll again?"
        return handler_input.response_builder.speak(speech).ask(REPROMPT).response


class SetUpGameHandler(AbstractRequestHandler):
    """A dialog: players (the skill asks), the dice (Alexa asks, as the dialog model says), a confirmation."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("SetUpGameIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        intent = request.intent if isinstance(request, IntentRequest) else None
        builder = handler_input.response_builder
        slot = get_slot(handler_input, "players")
        players = slot.value if slot is not None else None
        if get_dialog_state(handler_input) != DialogState.COMPLETED:
            if not players:
                ask = "How many players?"
                directive = ElicitSlotDirective(updated_intent=intent, slot_to_elicit="players")
                return builder.speak(ask).ask(ask).add_directive(directive).response
            return builder.add_directive(DelegateDirective(updated_intent=intent)).response
        if intent is not None and intent.confirmation_status == IntentConfirmationStatus.DENIED:
            return builder.speak("All right, no game then. " + REPROMPT).ask(REPROMPT).response
        _attributes(handler_input)["players"] = players
        speech = f"Game on for {players} players. Roll the first die?"
        return builder.speak(speech).ask(REPROMPT).response


class HelpHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("AMAZON.HelpIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        speech = "Tell me how many sides your die has, like roll a twenty sided die."
        return handler_input.response_builder.speak(speech).ask(REPROMPT).response


class FallbackHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("AMAZON.FallbackIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak("Sorry, I can only roll dice.").ask(REPROMPT).response


class StopHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(
            is_intent_name("AMAZON.StopIntent")(handler_input)
            or is_intent_name("AMAZON.CancelIntent")(handler_input)
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak("Goodbye!").set_should_end_session(True).response


class SessionEndedHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("SessionEndedRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.response


class ApologyExceptionHandler(AbstractExceptionHandler):
    """Answers every failure except a backend outage, which escapes to Lambda."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return not isinstance(exception, BackendOutage)

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        speech = "Sorry, I had trouble doing that. Please try again."
        return handler_input.response_builder.speak(speech).ask(REPROMPT).response


def build_skill(*, release: int = 1) -> SkillBuilder:
    """The skill as released; ``release=2`` is the demo's bad release: dice above 12 sides fail."""
    sb = SkillBuilder()
    for handler in (
        LaunchHandler(),
        RollDiceHandler(big_dice_bug=release == 2),
        CheckScoreHandler(),
        SetUpGameHandler(),
        HelpHandler(),
        FallbackHandler(),
        StopHandler(),
        SessionEndedHandler(),
    ):
        sb.add_request_handler(handler)
    sb.add_exception_handler(ApologyExceptionHandler())
    return sb


def build_handler(metrics: SkillMetrics | None, *, release: int = 1) -> Any:
    """The Lambda handler of ``release`` (see ``build_skill``), with the recorder if ``metrics`` is given."""
    sb = build_skill(release=release)
    return sb.lambda_handler() if metrics is None else metrics.lambda_handler(sb)


def release_handlers(metrics: SkillMetrics | None) -> dict[str, Any]:
    """Both releases' handlers by Lambda function version, for a ``traffic.Rollout`` to route between."""
    return {"1": build_handler(metrics, release=1), "2": build_handler(metrics, release=2)}


# The dice's colour slot (a custom type): customers' words for a colour the skill does not know are
# worth seeing, so its unresolved values are recorded (only those, and reported only once k
# distinct customers said one).
SLOT_VALUES = {"RollDiceIntent": ["colour"]}

# The integration, exactly as a skill developer writes it: configured from the environment.
metrics = SkillMetrics(slot_values=SLOT_VALUES)
lambda_handler = metrics.lambda_handler(build_skill())
