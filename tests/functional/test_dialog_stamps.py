"""The dialog a reply's stamp carries is the one the fold derives from that request's event, on every path.

The recorder moves a dialog along in the skill (the stamp it leaves in the session) and the
aggregation's fold moves it along from the recorded event; both apply ``model.dialog_after``, but
to what each saw. These tests run sessions with dialogs through the wrapper and through the
interceptors registered by hand, with replies from the skill's handlers and from an exception
handler (which skips the response interceptors), and check, request by request, that the next
request's event says the dialog open is exactly the one the previous event's fold left open.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import AbstractResponseInterceptor
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_model.dialog.confirm_slot_directive import ConfirmSlotDirective
from ask_sdk_model.response import Response

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.model import Dialog, DialogStep, Event
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill import app
from sample_skill.envelopes import Envelopes
from tests.conftest import KEY
from tests.functional.reporting_fixtures import CapturingClient

T0 = 1_767_607_200_000
GAME = "SetUpGameIntent"


class Unlucky(Exception):
    """Thirteen players: the skill's handler fails, the exception handler asks to confirm them."""


class UnluckyGame(app.SetUpGameHandler):
    def handle(self, handler_input: HandlerInput) -> Response:
        slot = (handler_input.request_envelope.request.intent.slots or {}).get("players")  # type: ignore[attr-defined]
        if slot is not None and slot.value == "13":
            raise Unlucky
        return super().handle(handler_input)


class AskAgain(AbstractExceptionHandler):
    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return isinstance(exception, (Unlucky, Late))

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        intent = handler_input.request_envelope.request.intent  # type: ignore[attr-defined]
        directive = ConfirmSlotDirective(updated_intent=intent, slot_to_confirm="players")
        builder = handler_input.response_builder
        return builder.speak("Thirteen, really?").ask("Really?").add_directive(directive).response


class Late(Exception):
    """A response interceptor registered after the recorder's failed on the reply."""


class FailsOnDelegate(AbstractResponseInterceptor):
    def process(self, handler_input: HandlerInput, response: Response) -> None:
        if any(d.object_type == "Dialog.Delegate" for d in response.directives or ()):
            raise Late


def skill(metrics: SkillMetrics, path: str) -> Any:
    sb = SkillBuilder()
    if path.startswith("by hand"):
        sb.add_global_request_interceptor(metrics.request_interceptor)
        sb.add_exception_handler(metrics.exception_handler)
    for handler in (app.LaunchHandler(), UnluckyGame(), app.HelpHandler(), app.StopHandler(),
                    app.SessionEndedHandler()):  # fmt: skip
        sb.add_request_handler(handler)
    sb.add_exception_handler(AskAgain())
    if path.startswith("by hand"):
        sb.add_exception_handler(metrics.escape_handler)
        sb.add_global_response_interceptor(metrics.response_interceptor)
        if path == "by hand, a late interceptor":
            sb.add_global_response_interceptor(FailsOnDelegate())
        return sb.lambda_handler()
    return metrics.lambda_handler(sb)


def play(handler: Any) -> None:
    env = Envelopes()
    steps: list[tuple[str, dict[str, Any]]] = [
        ("STARTED", {"empty": ("players", "dice")}),  # the skill elicits the players
        ("IN_PROGRESS", {"slots": {"players": "13"}, "empty": ("dice",)}),  # raises: asked to confirm
        ("HELP", {}),  # an interjection: no turn
        ("IN_PROGRESS", {"slots": {"players": "3"}, "empty": ("dice",)}),  # the skill delegates
        ("COMPLETED", {"slots": {"players": "3", "dice": "6"}, "confirmation": "CONFIRMED"}),
        ("STARTED", {"slots": {"players": "2"}, "empty": ("dice",)}),  # a second game, left
    ]
    for session in ("s1", "s2"):
        reply = handler(env.launch(user="u1", session=session, at_ms=T0), None)
        t = T0
        for state, fields in steps[:-1] if session == "s1" else steps[-1:]:
            t += 5_000
            attributes = reply["sessionAttributes"]
            if state == "HELP":
                request = env.intent(
                    "AMAZON.HelpIntent", user="u1", session=session, at_ms=t, attributes=attributes
                )
            else:
                request = env.intent(GAME, user="u1", session=session, at_ms=t, attributes=attributes,
                                     dialog_state=state, **fields)  # fmt: skip
            reply = handler(request, None)
        end = env.session_ended("USER_INITIATED", user="u1", session=session, at_ms=t + 5_000,
                                attributes=reply["sessionAttributes"])  # fmt: skip
        handler(end, None)


@pytest.mark.parametrize("path", ["wrapper", "by hand", "by hand, a late interceptor"])
def test_each_stamp_carries_the_dialog_the_fold_leaves_open(path: str) -> None:
    client = CapturingClient()
    metrics = SkillMetrics(table_name="captured", pseudonym_key=KEY, client=client)  # type: ignore[arg-type]
    play(skill(metrics, path))
    events = [item_to_event(item) for item in client.items]
    by_session: dict[str, list[Event]] = {}
    for event in events:
        by_session.setdefault(str(event.session_id), []).append(event)
    asked = []
    for session in by_session.values():
        session.sort(key=lambda e: e.timestamp_ms)
        for previous, event in itertools.pairwise(session):
            change = previous.dialog_change
            left_open = change.after if change is not None else None
            assert DialogStep.decode(event.dialog).open == left_open, (previous, event)
            asked.append(DialogStep.decode(event.dialog).asked)
    # The exception handler's question (no response interceptor saw its reply) reached the stamp
    # through the wrapper; by hand nothing of ours runs after that reply, so the question stays
    # the one asked before (the recorder's exception handler runs before the skill's)
    help_request = next(e for e in events if e.intent == "AMAZON.HelpIntent")
    question = "c:players" if path == "wrapper" else "e:players"
    assert DialogStep.decode(help_request.dialog).open == Dialog(GAME, T0 + 5_000, 2, question)
    # (By hand, a response interceptor failing after ours is not seen: the event was written as our
    # interceptor saw the reply, and the stamp it put stays in the attributes that go out: both "d".)
    assert {"e:players", question, "d"} <= set(asked)
    changes = [e.dialog_change for e in events if e.dialog_change is not None]
    completed = [c.completed for c in changes if c.completed is not None]
    assert [(d.intent, d.turns) for d in completed] == [(GAME, 4)]  # STARTED, 13, 3, COMPLETED; help no turn
    abandoned = [c.abandoned for c in changes if c.abandoned is not None]
    assert [(d.intent, d.asked) for d in abandoned] == [(GAME, "d")]
