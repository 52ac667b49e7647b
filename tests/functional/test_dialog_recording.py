"""Dialogs end to end, on real envelope shapes: real ASK SDK dispatch, the recorder, the aggregator, the view.

The requests are the dialog envelopes other projects recorded (``../shared/fixtures/alexa-requests``:
alexa-app's food delivery dialog, STARTED / IN_PROGRESS / COMPLETED, its launch and session end),
given their own ids, times and the session attributes each reply left, as Alexa does; the skill
answers with the Dialog directives Amazon documents (ElicitSlot, ConfirmSlot, Delegate). The events go
through the aggregator's Lambda entry point into moto twice (a redelivery), and the voice-model
view from the stored rollups is compared with what each session did and with the recomputation.
Skipped, with the reason, where the shared fixtures are absent.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name, is_request_type
from ask_sdk_core.utils.request_util import get_dialog_state, get_slot
from ask_sdk_model.dialog import ConfirmSlotDirective, DelegateDirective, ElicitSlotDirective
from ask_sdk_model.dialog_state import DialogState
from ask_sdk_model.response import Response

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.reporting import EventList, RecomputedRollups, Reporter, ReportRequest, StoredRollups
from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.rollups import RollupStore
from tests.conftest import KEY, shared_envelope
from tests.functional.reporting_fixtures import (
    CapturingClient,
    Deployment,
    aggregate,
    assert_reports_match,
    moto_table,
)

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1a1"  # the fixtures' own is not a uuid
INTENT = "deliveryCreationRequest"
T0 = 1_767_607_200_000  # 2026-01-05T10:00:00Z
MINUTE = 60_000


def fixture(name: str) -> dict[str, Any]:
    return shared_envelope(f"alexa-app/{name}")


class DeliveryHandler(AbstractRequestHandler):
    """Asks for the genre itself, has it confirmed, then lets Alexa finish the dialog (Delegate)."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name(INTENT)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        builder = handler_input.response_builder
        intent = handler_input.request_envelope.request.intent  # type: ignore[attr-defined]
        if get_dialog_state(handler_input) == DialogState.COMPLETED:
            return builder.speak("Your order is on its way.").set_should_end_session(True).response
        genre = get_slot(handler_input, "genre")
        if genre is None or not genre.value:
            directive: Any = ElicitSlotDirective(updated_intent=intent, slot_to_elicit="genre")
            return builder.speak("What kind of food?").ask("What kind?").add_directive(directive).response
        if (
            get_dialog_state(handler_input) == DialogState.IN_PROGRESS
            and genre.confirmation_status.value == "NONE"
        ):
            directive = ConfirmSlotDirective(updated_intent=intent, slot_to_confirm="genre")
            return builder.speak("Chinese, right?").ask("Right?").add_directive(directive).response
        return builder.add_directive(DelegateDirective(updated_intent=intent)).response


class Other(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        if is_request_type("SessionEndedRequest")(handler_input):
            return handler_input.response_builder.response
        return handler_input.response_builder.speak("Welcome. What would you like?").ask("Order?").response


class Sessions:
    """Alexa's side: each fixture given its own request id, time, session and the attributes last replied."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.ids = itertools.count()
        self.attributes: dict[str, dict[str, Any]] = {}

    def send(
        self, name: str, session: str, at_ms: int, *, new: bool = False, **request: Any
    ) -> dict[str, Any]:
        from datetime import UTC, datetime

        envelope = copy.deepcopy(fixture(name))
        envelope["request"].update(
            requestId=f"amzn1.echo-api.request.dialog-{next(self.ids)}",
            timestamp=datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            locale="en-US",
            **request,
        )
        for holder in (envelope["session"], envelope.get("context", {}).get("System", {})):
            holder["application"] = {"applicationId": SKILL}
        envelope["session"].update(
            new=new,
            sessionId=f"amzn1.echo-api.session.{session}",
            attributes=self.attributes.get(session, {}),
        )
        reply: dict[str, Any] = self.handler(envelope, None)
        self.attributes[session] = reply.get("sessionAttributes") or {}
        return reply


STARTED = "intent_request_food_delivery_dialog_started.json"
IN_PROGRESS = "intent_request_food_delivery_dialog_in_progress.json"
COMPLETED = "intent_request_food_delivery_dialog_completed.json"


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    client = CapturingClient()
    sb = SkillBuilder()
    sb.add_request_handler(DeliveryHandler())
    sb.add_request_handler(Other())
    metrics = SkillMetrics(table_name="captured", pseudonym_key=KEY, client=client)  # type: ignore[arg-type]
    alexa = Sessions(metrics.lambda_handler(sb))
    # 1. launch, then the dialog: STARTED (the skill elicits the genre), IN_PROGRESS (it has it
    #    confirmed), IN_PROGRESS (it delegates), COMPLETED (it ends the session): completed, 4 turns
    alexa.send("intent_request_launch.json", "a", T0, new=True)
    alexa.send(STARTED, "a", T0 + 5_000)
    alexa.send(IN_PROGRESS, "a", T0 + 10_000)
    confirmed = {"intent": {**fixture(IN_PROGRESS)["request"]["intent"], "slots": {
        "genre": {"name": "genre", "value": "chinese", "confirmationStatus": "CONFIRMED"}}}}  # fmt: skip
    alexa.send(IN_PROGRESS, "a", T0 + 15_000, **confirmed)
    alexa.send(COMPLETED, "a", T0 + 20_000)
    # 2. a one-shot STARTED, the genre given; the customer leaves while asked to confirm it
    alexa.send(STARTED, "b", T0 + MINUTE, new=True, intent=fixture(IN_PROGRESS)["request"]["intent"])
    alexa.send(IN_PROGRESS, "b", T0 + MINUTE + 5_000)
    alexa.send("session_ended_request.json", "b", T0 + MINUTE + 12_000, reason="USER_INITIATED")
    # 3. a STARTED whose session never ends: open, and abandoned once the session is incomplete
    alexa.send("intent_request_launch.json", "c", T0 + 2 * MINUTE, new=True)
    alexa.send(STARTED, "c", T0 + 2 * MINUTE + 4_000)
    with moto_table("dialogs") as dynamodb:
        aggregate(dynamodb, "dialogs", client.items)
        aggregate(dynamodb, "dialogs", client.items)  # Lambda delivers the whole stream again
        yield Deployment(
            dynamodb, "dialogs", [item_to_event(i) for i in client.items], now_ms=T0 + 10 * MINUTE
        )


def reporters(deployment: Deployment, now_ms: int) -> tuple[Reporter, Reporter]:
    stored = Reporter(StoredRollups(RollupStore(deployment.table, deployment.client)), clock=lambda: now_ms)
    recomputed = Reporter(
        RecomputedRollups(EventList(deployment.events), since_ms=T0 - MINUTE), clock=lambda: now_ms
    )
    return stored, recomputed


def request(**params: str) -> ReportRequest:
    return ReportRequest.from_params(
        SKILL, {"startTime": "2026-01-05T10:00:00Z", "endTime": "2026-01-05T11:00:00Z", **params}
    )


def test_each_session_counts_as_what_it_did(deployment: Deployment) -> None:
    stored, recomputed = reporters(deployment, deployment.now_ms)
    view = stored.view("slots", request(period="SINGLE"))
    assert_reports_match(view, recomputed.view("slots", request(period="SINGLE")))
    dialogs = view["dialogs"]
    assert dialogs["totals"] | {"turns": None} == {
        "started": 3, "completed": 1, "abandoned": 1, "switched": 0, "incomplete": 0, "active": 1,
        "completionRate": 0.5, "turns": None,
    }  # fmt: skip
    assert dialogs["totals"]["turns"] == {"p50": 4, "p90": 4}
    assert [(a["intent"], a["question"], a["slot"], a["dialogs"]) for a in dialogs["abandonedAt"]] == [
        (INTENT, "confirm_slot", "genre", 1)
    ]


def test_a_dialog_in_a_session_without_an_end_is_abandoned_once_the_session_is_incomplete(
    deployment: Deployment,
) -> None:
    # An hour and more after session c's last utterance, as the sessions view calls it incomplete
    later = T0 + 2 * MINUTE + 4_000 + 61 * MINUTE
    stored, recomputed = reporters(deployment, later)
    view = stored.view("slots", request(period="PT15M"))
    assert_reports_match(view, recomputed.view("slots", request(period="PT15M")))
    totals = view["dialogs"]["totals"]
    assert (totals["abandoned"], totals["incomplete"], totals["active"]) == (2, 1, 0)
    at = {(a["question"], a["slot"]): a["dialogs"] for a in view["dialogs"]["abandonedAt"]}
    assert at == {("confirm_slot", "genre"): 1, ("elicit_slot", "genre"): 1}
    sessions = stored.view("sessions", request(period="SINGLE"))["totals"]
    assert sessions["incomplete"] == 1
    # Each dialog counts in the point it started in: all three in the first quarter hour
    assert [p["started"] for p in view["dialogs"]["series"]] == [3, 0, 0, 0]


def test_no_slot_value_is_recorded_for_dialogs(deployment: Deployment) -> None:
    # The dialog's events name the intent, its slot and codes; never the value the customer said
    dialog_texts = [e.dialog for e in deployment.events if e.dialog]
    assert dialog_texts and not any("chinese" in text for text in dialog_texts)
