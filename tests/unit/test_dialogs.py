"""Dialogs: what the recorder reads (dialogState, the reply's question, the stamp's part), the rule.

Parsing is property-tested on anything JSON can hold; the shapes are the real ones: the request
envelopes in ``../shared/fixtures/alexa-requests`` (skipped with a reason where that folder is
absent) and Amazon's documented Dialog directives, as the ASK SDK builds them and as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ask_sdk_model import Intent
from ask_sdk_model.dialog import (
    ConfirmIntentDirective,
    ConfirmSlotDirective,
    DelegateDirective,
    DynamicEntitiesDirective,
    ElicitSlotDirective,
)
from ask_sdk_model.response import Response
from hypothesis import given, settings
from hypothesis import strategies as st

from alexa_skill_metrics.model import Dialog, DialogStep, dialog_after, is_question
from alexa_skill_metrics.recording.classify import STAMP_KEY, Stamp, read_envelope
from alexa_skill_metrics.recording.dialogs import from_attribute, question_of, read_state, to_attribute
from tests.conftest import shared_envelope

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=15), inner, max_size=5),
    max_leaves=25,
)
slot_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,39}", fullmatch=True)
questions = st.one_of(
    st.sampled_from(["i", "d", "-"]),
    slot_names.map(lambda s: "e:" + s),
    slot_names.map(lambda s: "c:" + s),
)
dialogs = st.builds(
    Dialog,
    intent=st.text(min_size=1, max_size=100).filter(lambda t: t.strip() == t and t),
    start_ms=st.integers(0, 10**13 - 1),
    turns=st.integers(1, 10_000),
    asked=questions,
)


# --- dialogState -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("alexa-app/intent_request_food_delivery_dialog_started.json", "s"),
        ("alexa-app/intent_request_food_delivery_dialog_in_progress.json", "p"),
        ("alexa-app/intent_request_food_delivery_dialog_completed.json", "c"),
        ("alexa-app/intent_request_food_delivery_dialog_undefined.json", None),
        ("alexa-skills-dotnet/IntentRequest.json", "p"),
        ("alexa-app/intent_request_launch.json", None),
    ],
)
def test_dialog_state_of_real_envelopes(name: str, state: str | None) -> None:
    fields = read_envelope(shared_envelope(name), received_ms=1_767_607_200_000)
    assert fields.dialog_state == state


def test_only_intent_requests_have_a_dialog_state() -> None:
    # A CanFulfillIntentRequest may carry dialogState (the .NET library's sample does): no dialog
    envelope = shared_envelope("alexa-skills-dotnet/beta-branch/CanFulfillIntentRequest.json")
    assert "dialogState" in json.dumps(envelope)
    assert read_envelope(envelope, 0).dialog_state is None


@settings(deadline=None)  # no timed assertions: a loaded machine is slow, not wrong
@given(json_values)
def test_read_state_tolerates_anything(request: Any) -> None:
    assert read_state(request) in (None, "s", "p", "c")
    assert read_state({"dialogState": request}) in (None, "s", "p", "c")


# --- the reply's question ---------------------------------------------------------------------

# Amazon's Dialog interface reference, as a skill's JSON reply carries the directives.
_TRIP = {"name": "PlanMyTrip", "confirmationStatus": "NONE", "slots": {"fromCity": {"name": "fromCity"}}}


@pytest.mark.parametrize(
    ("directive", "code"),
    [
        ({"type": "Dialog.ElicitSlot", "slotToElicit": "fromCity", "updatedIntent": _TRIP}, "e:fromCity"),
        ({"type": "Dialog.ConfirmSlot", "slotToConfirm": "toCity", "updatedIntent": _TRIP}, "c:toCity"),
        ({"type": "Dialog.ConfirmIntent", "updatedIntent": _TRIP}, "i"),
        ({"type": "Dialog.Delegate", "updatedIntent": _TRIP}, "d"),
        ({"type": "Dialog.Delegate"}, "d"),
        ({"type": "Dialog.UpdateDynamicEntities", "updateBehavior": "CLEAR"}, None),
        ({"type": "Dialog.ElicitSlot", "slotToElicit": "pad thai please"}, None),  # not a slot name
        ({"type": "Dialog.ElicitSlot"}, None),
    ],
)
def test_question_of_documented_directives(directive: dict[str, Any], code: str | None) -> None:
    envelope = {"version": "1.0", "response": {"directives": [directive], "shouldEndSession": False}}
    assert question_of(envelope) == code
    assert question_of(envelope["response"]) == code


@pytest.mark.parametrize(
    ("directive", "code"),
    [
        (
            ElicitSlotDirective(updated_intent=Intent(name="PlanMyTrip"), slot_to_elicit="fromCity"),
            "e:fromCity",
        ),
        (ConfirmSlotDirective(slot_to_confirm="travelDate"), "c:travelDate"),
        (ConfirmIntentDirective(updated_intent=Intent(name="PlanMyTrip")), "i"),
        (DelegateDirective(), "d"),
        (DynamicEntitiesDirective(types=[]), None),
    ],
)
def test_question_of_the_sdk_response(directive: Any, code: str | None) -> None:
    # The response interceptors see the SDK's Response object, the wrapper the serialized reply
    from ask_sdk_core.serialize import DefaultSerializer

    response = Response(directives=[directive], should_end_session=False)
    assert question_of(response) == code
    assert question_of({"response": DefaultSerializer().serialize(response)}) == code


def test_the_last_question_of_a_reply_counts() -> None:
    directives = [
        {"type": "Dialog.Delegate"},
        {"type": "Alexa.Presentation.APL.RenderDocument"},
        {"type": "Dialog.ElicitSlot", "slotToElicit": "dish"},
    ]
    reply = {"response": {"directives": directives}}
    assert question_of(reply) == "e:dish"


@settings(deadline=None)  # no timed assertions: a loaded machine is slow, not wrong
@given(json_values)
def test_question_of_tolerates_anything(response: Any) -> None:
    for candidate in (response, {"response": {"directives": response}}, {"directives": [response]}):
        code = question_of(candidate)
        assert code is None or is_question(code)


# --- the stamp's dialog and the event's step ---------------------------------------------------


@settings(deadline=None)  # no timed assertions: a loaded machine is slow, not wrong
@given(dialogs)
def test_the_stamp_carries_the_dialog_back(dialog: Dialog) -> None:
    stamp = Stamp(start_ms=1, last_ms=2, intent="OrderIntent", dialog=dialog)
    assert Stamp.from_attributes({STAMP_KEY: json.loads(json.dumps(stamp.to_attribute()))}) == stamp
    assert from_attribute(to_attribute(dialog)) == dialog


@settings(deadline=None)  # no timed assertions: a loaded machine is slow, not wrong
@given(json_values)
def test_an_edited_stamp_dialog_reads_as_none_or_a_valid_one(raw: Any) -> None:
    dialog = from_attribute(raw)
    assert dialog is None or (is_question(dialog.asked) and dialog.turns > 0 and dialog.intent)
    stamp = Stamp.from_attributes({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "g": raw}})
    assert stamp is not None and stamp.dialog == dialog


def test_edited_stamp_dialogs_are_dropped() -> None:
    edited = (
        ["OrderIntent", 1, 0, "d"], ["OrderIntent", -1, 1, "d"], ["OrderIntent", 1, 1, "e:pad thai"],
        ["", 1, 1, "d"], ["OrderIntent", 1, True, "d"], ["OrderIntent", 1, 1, "d", "extra"],
    )  # fmt: skip
    for raw in edited:
        assert from_attribute(raw) is None, raw


@settings(deadline=None)  # no timed assertions: a loaded machine is slow, not wrong
@given(
    st.one_of(st.none(), st.sampled_from("spc")),
    st.one_of(st.none(), questions),
    st.one_of(st.none(), dialogs),
)
def test_dialog_steps_round_trip(state: str | None, asked: str | None, open_: Dialog | None) -> None:
    step = DialogStep(state, None if asked == "-" else asked, open_)
    assert DialogStep.decode(step.encode()) == step


@settings(deadline=None)  # no timed assertions: a loaded machine is slow, not wrong
@given(st.text(max_size=80))
def test_decoding_any_text_never_raises(text: str) -> None:
    step = DialogStep.decode(text)
    assert step.state in (None, "s", "p", "c")
    assert step.asked is None or is_question(step.asked)


# --- the rule ----------------------------------------------------------------------------------

ORDER = Dialog("OrderIntent", 1_000, 2, "e:dish")


@pytest.mark.parametrize(
    ("before", "intent", "state", "asked", "after", "figures"),
    [
        # a start opens a dialog of its intent, asking what the reply asked
        (
            None,
            "OrderIntent",
            "s",
            "e:dish",
            Dialog("OrderIntent", 9, 1, "e:dish"),
            {"started": "OrderIntent"},
        ),
        # a turn of the intent counts, a new question replaces the old one
        (ORDER, "OrderIntent", "p", "d", Dialog("OrderIntent", 1_000, 3, "d"), {}),
        # COMPLETED completes it, with the turns from its start, both included
        (ORDER, "OrderIntent", "c", None, None, {"completed": Dialog("OrderIntent", 1_000, 3, "e:dish")}),
        # another intent (help) leaves it open and is no turn
        (ORDER, "AMAZON.HelpIntent", "c", None, ORDER, {}),
        # ... unless its reply asks again for the dialog's slot
        (ORDER, "AMAZON.HelpIntent", None, "e:size", Dialog("OrderIntent", 1_000, 2, "e:size"), {}),
        # another dialog's start abandons this one: Alexa does not resume it
        (
            ORDER,
            "BookIntent",
            "s",
            None,
            Dialog("BookIntent", 9, 1, "-"),
            {"started": "BookIntent", "switched": ORDER},
        ),
        # a dialogState without a dialog open (auto delegation, or untracked) counts nothing
        (None, "OrderIntent", "c", None, None, {}),
        (None, "OrderIntent", "p", "d", None, {}),
    ],
)
def test_dialog_after(
    before: Dialog | None,
    intent: str,
    state: str | None,
    asked: str | None,
    after: Dialog | None,
    figures: dict[str, Any],
) -> None:
    change = dialog_after(before, intent, state, 9, asked)
    assert change.after == after
    got = {
        k: getattr(change, k) for k in ("started", "completed", "abandoned", "switched") if getattr(change, k)
    }
    assert got == figures
