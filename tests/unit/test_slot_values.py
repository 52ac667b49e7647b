"""Unresolved values of opted-in slots: read only where the developer asked and the type allows.

Real envelopes come from ``../shared/fixtures/alexa-requests`` (skipped where absent); the
``slotValue`` (Simple/List) and dynamic-entity shapes are those of Amazon's request reference
("IntentRequest", "Entity resolution", "Multiple-value slots"), built here.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alexa_skill_metrics.config import Settings, parse_slot_values
from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.model import ValueSighting, decode_values, encode_values
from alexa_skill_metrics.recording.slot_values import (
    MAX_VALUE_BYTES,
    MAX_VALUES_BYTES,
    PERSONAL_TYPES,
    ValuePolicy,
    is_personal,
    slot_type,
)
from alexa_skill_metrics.reporting.views.slots import unresolved_values
from tests.unit.test_slots import authority, shared

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
STATIC = f"amzn1.er-authority.echo-sdk.{SKILL}.Dish"
DYNAMIC = f"amzn1.er-authority.echo-sdk.dynamic.{SKILL}.Dish"


def slot(value: str, *codes: tuple[str, str]) -> dict[str, Any]:
    return {"name": "dish", "value": value, "confirmationStatus": "NONE", "source": "USER",
            "resolutions": {"resolutionsPerAuthority": [authority(a, c) for a, c in codes]}}  # fmt: skip


def intent(name: str = "OrderIntent", **slots: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "confirmationStatus": "NONE", "slots": slots}


ORDER = ValuePolicy((("OrderIntent", "dish", None),))
NO_MATCH = (STATIC, "ER_SUCCESS_NO_MATCH")


@pytest.mark.parametrize(
    ("fixture", "opt_in", "expected"),
    [
        # alexa-app: "my home airport" matched no AirportCode value
        ("alexa-app/intent_request_airport_info_resolutions_not_found.json",
         ("airportInfoIntent", "AirportCode"), [("AirportCode", "my home airport")]),
        # the same slot resolved: nothing to keep
        ("alexa-app/intent_request_airport_info_resolutions.json", ("airportInfoIntent", "AirportCode"), []),
        # alexa-math-skill: "add" matched no difficulty (an unhandled answer)
        ("alexa-math-skill/unhandled_intent.json", ("DidSelectDifficulty", "difficulty"),
         [("difficulty", "add")]),
        # not opted in: the same unresolved value is never read
        ("alexa-math-skill/unhandled_intent.json", ("DidSelectDifficulty", "operation"), []),
        ("alexa-math-skill/unhandled_intent.json", ("OtherIntent", "difficulty"), []),
    ],
)  # fmt: skip
def test_real_envelopes_give_only_opted_in_unresolved_values(
    fixture: str, opt_in: tuple[str, str], expected: list[tuple[str, str]]
) -> None:
    policy = ValuePolicy(((*opt_in, None),))
    assert decode_values(policy.read(shared(fixture)["request"]["intent"])) == expected


@pytest.mark.parametrize(
    ("the_slot", "expected"),
    [
        # unresolved on every authority (static values and dynamic entities)
        (slot("Pad SEE ew", NO_MATCH, (DYNAMIC, "ER_SUCCESS_NO_MATCH")), ["pad see ew"]),
        # a dynamic entity matched: resolved, nothing kept
        (slot("larb", NO_MATCH, (DYNAMIC, "ER_SUCCESS_MATCH")), []),
        # no match, and the other authority timed out: still unresolved (METRICS.md's rule)
        (slot("khao soi", NO_MATCH, (DYNAMIC, "ER_ERROR_TIMEOUT")), ["khao soi"]),
        # errored only: not an unresolved value
        (slot("tom yum", (STATIC, "ER_ERROR_EXCEPTION")), []),
        # no resolutions at all (a built-in type): never kept
        ({"name": "dish", "value": "tom yum"}, []),
        # empty
        ({"name": "dish"}, []),
        (slot("   ", NO_MATCH), []),
    ],
)
def test_only_unresolved_values_are_kept(the_slot: dict[str, Any], expected: list[str]) -> None:
    assert [v for _, v in decode_values(ORDER.read(intent(dish=the_slot)))] == expected


def test_slot_value_shapes_simple_and_list() -> None:
    # Amazon's multiple-value slot: slotValue List, each value with its own resolutions
    resolutions = {"resolutionsPerAuthority": [authority(STATIC, "ER_SUCCESS_NO_MATCH")]}
    matched = {"resolutionsPerAuthority": [authority(STATIC, "ER_SUCCESS_MATCH")]}
    listed = {"name": "dish", "confirmationStatus": "NONE", "slotValue": {"type": "List", "values": [
        {"type": "Simple", "value": "Larb Gai", "resolutions": resolutions},
        {"type": "Simple", "value": "pad thai", "resolutions": matched},
        {"type": "Simple", "value": "Moo Ping", "resolutions": resolutions}]}}  # fmt: skip
    assert decode_values(ORDER.read(intent(dish=listed))) == []  # one value resolved: the slot is resolved
    listed["slotValue"]["values"].pop(1)
    assert decode_values(ORDER.read(intent(dish=listed))) == [("dish", "larb gai"), ("dish", "moo ping")]
    simple = {"name": "dish", "slotValue": {"type": "Simple", "value": "Som Tam", "resolutions": resolutions}}
    assert decode_values(ORDER.read(intent(dish=simple))) == [("dish", "som tam")]


@pytest.mark.parametrize("personal", [*sorted(PERSONAL_TYPES), "AMAZON.FR_FIRST_NAME", "AMAZON.CityName"])
def test_personal_built_in_types_are_refused_even_when_opted_in(
    personal: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an opted-in slot whose authority names a personal built-in type (extended with values)
    name = f"amzn1.er-authority.echo-sdk.{SKILL}.{personal}"
    policy = ValuePolicy((("OrderIntent", "dish", None),))
    request = intent(dish=slot("Alice Example", (name, "ER_SUCCESS_NO_MATCH")))
    # When the recorder reads it twice
    with caplog.at_level(logging.WARNING):
        first, second = policy.read(request), policy.read(copy.deepcopy(request))
    # Then nothing is kept, and one warning names the slot and its type, not the value
    assert first is None and second is None
    warnings = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(warnings) == 1 and getattr(warnings[0], "slot_type", "") == personal
    assert "alice" not in caplog.text.casefold()


def test_a_declared_personal_type_is_refused_at_configuration(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        policy = ValuePolicy(
            parse_slot_values({"ContactIntent": {"name": "AMAZON.FirstName"}, "OrderIntent": ["dish"]})
        )
    assert policy.slots == {"OrderIntent": frozenset({"dish"})}
    assert [getattr(r, "slot", None) for r in caplog.records if "refused" in r.getMessage()] == ["name"]


@pytest.mark.parametrize(
    "authority_name",
    ["amzn1.er-authority.echo-sdk.something-else", "", "custom.authority.Dish", None, 7],
)
def test_a_type_that_cannot_be_told_is_refused(authority_name: Any) -> None:
    request = intent(dish={"name": "dish", "value": "larb", "resolutions": {"resolutionsPerAuthority": [
        {"authority": authority_name, "status": {"code": "ER_SUCCESS_NO_MATCH"}}]}})  # fmt: skip
    assert ORDER.read(request) is None


def test_types_are_read_from_authorities() -> None:
    assert slot_type(STATIC) == "Dish" and slot_type(DYNAMIC) == "Dish"
    legacy = (
        "amzn1.er-authority.echo-sdk.amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00ebe.AirportCode"
    )
    assert slot_type(legacy) == "AirportCode"
    assert slot_type(f"amzn1.er-authority.echo-sdk.{SKILL}.AMAZON.Actor") == "AMAZON.Actor"
    assert is_personal("AMAZON.Actor") and not is_personal("AMAZON.Food") and not is_personal("Dish")


def test_values_are_bounded_so_the_event_stays_one_write_unit() -> None:
    long = "x" * (MAX_VALUE_BYTES + 1)
    assert ORDER.read(intent(dish=slot(long, NO_MATCH))) is None  # too long: not kept, not cut
    many = ValuePolicy(tuple(("OrderIntent", f"dish{n}", None) for n in range(10)))
    slots = {f"dish{n}": slot("y" * MAX_VALUE_BYTES, NO_MATCH) for n in range(10)}
    kept = many.read(intent(**slots))
    assert kept is not None and len(kept.encode()) <= MAX_VALUES_BYTES and len(decode_values(kept)) == 2


# --- configuration --------------------------------------------------------------------------------


def test_the_environment_and_the_argument_give_the_same_opt_ins() -> None:
    env = {
        "METRICS_TABLE": "t",
        "METRICS_SLOT_VALUES": "OrderIntent.dish , AMAZON.SearchIntent.q=AMAZON.SearchQuery",
    }
    from_env = Settings.from_env(env).slot_values
    given = Settings.from_env({"METRICS_TABLE": "t"}, slot_values={
        "OrderIntent": ["dish"], "AMAZON.SearchIntent": {"q": "AMAZON.SearchQuery"}}).slot_values  # fmt: skip
    assert (
        from_env
        == given
        == (("AMAZON.SearchIntent", "q", "AMAZON.SearchQuery"), ("OrderIntent", "dish", None))
    )
    assert Settings.from_env({"METRICS_TABLE": "t"}).slot_values == ()


@pytest.mark.parametrize(
    "raw",
    ["OrderIntent", "OrderIntent.", ".dish", "Order Intent.dish", "OrderIntent.dish=", 42,
     {"OrderIntent": "dish"}, {"OrderIntent": [3]}, {"OrderIntent": {"dish": "Not A Type"}}],
)  # fmt: skip
def test_unreadable_opt_ins_name_the_setting(raw: Any) -> None:
    if raw == "OrderIntent.dish=":
        assert parse_slot_values(raw) == (("OrderIntent", "dish", None),)  # an empty type: none declared
        return
    with pytest.raises(ConfigurationError) as error:
        parse_slot_values(raw)
    assert "METRICS_SLOT_VALUES" in str(error.value)


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(names, st.lists(names, min_size=1, max_size=4), max_size=6))
def test_any_mapping_round_trips_through_the_environment_form(opt_ins: dict[str, list[str]]) -> None:
    parsed = parse_slot_values(opt_ins)
    text = ",".join(f"{intent}.{slot}" for intent, slot, _ in parsed)
    assert parse_slot_values(text) == parsed
    assert {(i, s) for i, s, _ in parsed} == {(i, s) for i, slots in opt_ins.items() for s in slots}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_setting_parses_or_names_the_setting(raw: str) -> None:
    try:
        parsed = parse_slot_values(raw)
    except ConfigurationError as exc:
        assert "METRICS_SLOT_VALUES" in str(exc)
    else:
        assert all(isinstance(part, str) for entry in parsed for part in entry[:2])


# --- parsing what Alexa sends, and case folding ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_anything_in_place_of_an_intent_reads_without_raising(anything: Any) -> None:
    result = ORDER.read(anything)
    assert result is None or isinstance(result, str)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["dish", "size", "x"]), json_values, max_size=3))
def test_any_slots_read_without_raising(slots: dict[str, Any]) -> None:
    result = ORDER.read({"name": "OrderIntent", "slots": slots})
    assert result is None or all(s == "dish" for s, _ in decode_values(result))


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_values_are_case_folded_and_stripped_and_round_trip(said: str) -> None:
    kept = decode_values(ORDER.read(intent(dish=slot(said, NO_MATCH))))
    folded = said.casefold().strip()
    if not folded or len(folded.encode()) > MAX_VALUE_BYTES or "\x1e" in folded or "\x1f" in folded:
        assert kept == []
    else:
        assert kept == [("dish", folded)]
        # the same words in any case are one value
        assert decode_values(ORDER.read(intent(dish=slot(f"  {said.upper()} ", NO_MATCH)))) in (
            [("dish", said.upper().casefold().strip())],
            [],
        )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            names, st.text(min_size=1, max_size=20).filter(lambda v: "\x1e" not in v and "\x1f" not in v)
        ),
        max_size=5,
    )
)
def test_encoded_values_round_trip(pairs: list[tuple[str, str]]) -> None:
    assert decode_values(encode_values(pairs)) == pairs


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_stored_text_decodes_without_raising(text: str) -> None:
    assert all(slot and value for slot, value in decode_values(text))


# --- the report's grouping: k distinct customers ---------------------------------------------------

sightings = st.lists(
    st.builds(
        ValueSighting,
        intent=st.sampled_from(["OrderIntent", "SizeIntent"]),
        slot=st.sampled_from(["dish", "size"]),
        value=st.sampled_from(["larb", "pad see ew", "som tam"]),
        customer=st.sampled_from(["c1", "c2", "c3", "c4", None]),
        locale=st.sampled_from(["en-US", "de-DE"]),
        release=st.sampled_from([None, "7"]),
        timestamp_ms=st.just(0),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(sightings, st.integers(2, 5), st.sampled_from([None, "en-US"]), st.sampled_from([None, "-", "7"]))
def test_values_are_listed_exactly_when_k_distinct_customers_said_them(
    seen: list[ValueSighting], k: int, locale: str | None, release: str | None
) -> None:
    found = unresolved_values(seen, k, locale=locale, release=release)
    kept = [s for s in seen if locale in (None, s.locale) and release in (None, s.release or "-")]
    keys = {(s.intent, s.slot, s.value) for s in kept}
    expected = {
        key: (sum(1 for s in kept if (s.intent, s.slot, s.value) == key),
              len({s.customer for s in kept if (s.intent, s.slot, s.value) == key and s.customer}))
        for key in keys
    }  # fmt: skip
    listed = {(v.intent, v.slot, v.value): (v.utterances, v.customers) for v in found.values}
    assert listed == {key: figures for key, figures in expected.items() if figures[1] >= k}
    assert found.withheld == len(keys) - len(listed) and found.min_customers == k


def test_a_slots_view_without_traffic_is_empty_whatever_its_k() -> None:
    # (the CLI's and the dashboard's hints say where the data is when every figure is zero)
    from alexa_skill_metrics.reporting.hints import is_empty

    values = {"minCustomers": 5, "values": [], "withheld": 0}
    assert is_empty({"view": "slots", "totals": {"filled": 0}, "unresolvedValues": values})
    assert not is_empty(
        {"view": "slots", "totals": {"filled": 0}, "unresolvedValues": {**values, "withheld": 1}}
    )
