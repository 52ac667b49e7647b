"""Slot statuses read from request envelopes: the shapes Alexa documents and sends, and anything else.

Real envelopes come from ``../shared/fixtures/alexa-requests`` (skipped where absent); the
``slotValue`` (Simple/List), dynamic-entity and error shapes are those of Amazon's request
reference ("IntentRequest", "Entity resolution", "Multiple-value slots"), built here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alexa_skill_metrics.model import SlotStatus
from alexa_skill_metrics.recording.slots import read_slots
from tests.conftest import SHARED

FIXTURES = SHARED / "fixtures" / "alexa-requests"
STATIC = "amzn1.er-authority.echo-sdk.amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce.Dish"
DYNAMIC = "amzn1.er-authority.echo-sdk.dynamic.amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce.Dish"


def shared(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared request fixtures are not checked out beside the repo")
    envelope: dict[str, Any] = json.loads(path.read_text())
    return envelope


def authority(name: str, code: str) -> dict[str, Any]:
    return {"authority": name, "status": {"code": code}}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("alexa-app/intent_request_airport_info_resolutions.json", ("AirportCode:frr--", None)),
        ("alexa-app/intent_request_airport_info_resolutions_not_found.json", ("AirportCode:fuu--", None)),
        ("alexa-app/intent_request_food_delivery_dialog_completed.json", ("genre:fn---", "c")),
        ("alexa-app/intent_request_food_delivery_dialog_started.json", ("genre:e----", None)),
    ],
)
def test_real_envelopes_give_their_statuses(fixture: str, expected: tuple[str, str | None]) -> None:
    assert read_slots(shared(fixture)["request"]["intent"]) == expected


def test_values_never_reach_the_codes() -> None:
    intent = shared("alexa-app/intent_request_airport_info_resolutions.json")["request"]["intent"]
    codes, _ = read_slots(intent)
    assert codes is not None and "home" not in codes and "JFK" not in codes


@pytest.mark.parametrize(
    ("slot", "code"),
    [
        # slotValue Simple, a dynamic entity matched while the static values did not
        ({"slotValue": {"type": "Simple", "value": "pad see ew", "resolutions": {"resolutionsPerAuthority": [
            authority(DYNAMIC, "ER_SUCCESS_MATCH"), authority(STATIC, "ER_SUCCESS_NO_MATCH")]}}}, "frur-"),
        # a List counts once, by its best value
        ({"slotValue": {"type": "List", "values": [
            {"type": "Simple", "value": "x", "resolutions": {"resolutionsPerAuthority": [
                authority(STATIC, "ER_SUCCESS_NO_MATCH")]}},
            {"type": "Simple", "value": "y", "resolutions": {"resolutionsPerAuthority": [
                authority(STATIC, "ER_SUCCESS_MATCH")]}}]}}, "frr--"),
        ({"slotValue": {"type": "List", "values": []}}, "e----"),
        # errors, and an unknown status code as no resolution
        ({"value": "x", "resolutions": {"resolutionsPerAuthority": [authority(STATIC, "ER_ERROR_TIMEOUT")]}},
         "fxx--"),
        ({"value": "x", "resolutions": {"resolutionsPerAuthority": [
            authority(DYNAMIC, "ER_ERROR_EXCEPTION"), authority(STATIC, "ER_SUCCESS_NO_MATCH")]}}, "fuux-"),
        ({"value": "x", "resolutions": {"resolutionsPerAuthority": [authority(STATIC, "SOMETHING_NEW")]}},
         "fn---"),
        ({"value": "  ", "confirmationStatus": "DENIED"}, "e---d"),
        ({"value": "4", "confirmationStatus": "CONFIRMED"}, "fn--c"),
    ],
)  # fmt: skip
def test_documented_shapes(slot: dict[str, Any], code: str) -> None:
    assert read_slots({"name": "OrderIntent", "slots": {"dish": {"name": "dish", **slot}}}) == (
        f"dish:{code}",
        None,
    )


def test_slot_names_that_are_not_identifiers_and_too_many_slots_are_left_out() -> None:
    slots = {f"slot{n:03d}": {"value": "v"} for n in range(200)} | {"a b": {}, "x:y": {}, "": {}}
    codes, _ = read_slots({"slots": slots})
    assert codes is not None and len(codes) <= 400
    names = [s.name for s in SlotStatus.decode(codes)]
    assert names and all(name.startswith("slot") for name in names)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
CODES = st.sampled_from(
    ["ER_SUCCESS_MATCH", "ER_SUCCESS_NO_MATCH", "ER_ERROR_TIMEOUT", "ER_ERROR_EXCEPTION", "X"]
)
SLOT = st.fixed_dictionaries(
    {},
    optional={
        "value": st.text(max_size=30) | JSON,
        "confirmationStatus": st.sampled_from(["NONE", "CONFIRMED", "DENIED"]) | JSON,
        "resolutions": st.fixed_dictionaries({"resolutionsPerAuthority": st.lists(
            st.fixed_dictionaries({"authority": st.sampled_from([STATIC, DYNAMIC, "other"]) | JSON,
                                   "status": st.fixed_dictionaries({"code": CODES})}), max_size=3)}) | JSON,
        "slotValue": JSON,
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=45), SLOT | JSON, max_size=6), JSON)
def test_any_intent_reads_without_raising_and_codes_round_trip(
    slots: dict[str, Any], confirmation: Any
) -> None:
    codes, confirmed = read_slots({"name": "I", "slots": slots, "confirmationStatus": confirmation})
    assert confirmed in (None, "c", "d")
    decoded = SlotStatus.decode(codes)
    # Every code is a slot of the intent, once, and re-encodes to itself: nothing else got in
    assert SlotStatus.encode(decoded) == (codes or "")
    assert len({s.name for s in decoded}) == len(decoded) and all(s.name in slots for s in decoded)
    for status in decoded:
        if not status.filled:
            assert (status.resolution, status.static, status.dynamic) == (None, None, None)


@given(JSON)
def test_anything_as_the_intent_is_no_slots(intent: Any) -> None:
    codes, _ = read_slots(intent)
    assert codes is None or all(isinstance(s, SlotStatus) for s in SlotStatus.decode(codes))
