"""Reading envelopes: every shape Alexa (or a broken client) may send gives fields, never an error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alexa_skill_metrics.recording.classify import STAMP_KEY, Stamp, parse_timestamp, read_envelope

RECEIVED = 1_800_000_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-05T10:00:00Z", 1_767_607_200_000),
        ("2026-01-05T10:00:00.250Z", 1_767_607_200_250),
        ("2026-01-05T11:00:00+01:00", 1_767_607_200_000),
        (1_431_520_496_000, 1_431_520_496_000),  # epoch ms, as some tools send
        (1_431_520_496, 1_431_520_496_000),  # epoch seconds
        ("1431520496000", 1_431_520_496_000),
        ("2026-01-05T10:00:00", None),  # no zone: refuse to guess
        ("string", None),
        ("", None),
        (None, None),
        (True, None),
        ({"nested": 1}, None),
    ],
)
def test_parse_timestamp(value: Any, expected: int | None) -> None:
    assert parse_timestamp(value) == expected


def test_context_preferred_over_session_for_skill_and_user() -> None:
    # Given an envelope whose context and session disagree
    envelope = {
        "context": {
            "System": {"application": {"applicationId": "ctx-skill"}, "user": {"userId": "ctx-user"}}
        },
        "session": {"application": {"applicationId": "s-skill"}, "user": {"userId": "s-user"}},
        "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": "2026-01-05T10:00:00Z"},
    }
    # When it is read
    fields = read_envelope(envelope, RECEIVED)
    # Then the context wins, as METRICS.md says
    assert (fields.skill_id, fields.user_id) == ("ctx-skill", "ctx-user")


def test_session_used_when_context_is_missing() -> None:
    envelope = {
        "session": {
            "new": False,
            "sessionId": "s1",
            "application": {"applicationId": "s-skill"},
            "user": {"userId": "s-user"},
        },
        "request": {"type": "SessionEndedRequest", "requestId": "r", "timestamp": "2026-01-05T10:00:00Z"},
    }
    fields = read_envelope(envelope, RECEIVED)
    assert (fields.skill_id, fields.user_id, fields.session_id, fields.new_session) == (
        "s-skill",
        "s-user",
        "s1",
        False,
    )
    assert fields.end_reason is None


@pytest.mark.parametrize("event", [None, "text", 42, [], {}, {"request": "x"}, {"request": {"type": 7}}])
def test_garbage_never_raises_and_falls_back_to_received_time(event: Any) -> None:
    fields = read_envelope(event, RECEIVED)
    assert fields.timestamp_ms == RECEIVED
    assert fields.timestamp_from_alexa is False
    assert fields.skill_id == "unknown"
    assert fields.request_id.startswith("unidentified-")


def test_intent_only_read_for_intent_requests() -> None:
    envelope = {"request": {"type": "CanFulfillIntentRequest", "intent": {"name": "RollDiceIntent"}}}
    assert read_envelope(envelope, RECEIVED).intent is None


def test_session_end_reason_and_error() -> None:
    envelope = {
        "request": {
            "type": "SessionEndedRequest",
            "reason": "ERROR",
            "error": {"type": "INVALID_RESPONSE", "message": "free text is not read"},
        }
    }
    fields = read_envelope(envelope, RECEIVED)
    assert (fields.end_reason, fields.error_type) == ("ERROR", "INVALID_RESPONSE")


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X"}}, Stamp(1, 2, "X")),
        ({STAMP_KEY: {"s": 1, "t": 2}}, Stamp(1, 2, None)),
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "p": True, "u": True}}, Stamp(1, 2, "X", True, True)),
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "p": "yes", "u": 1}}, Stamp(1, 2, "X")),  # only true is true
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "n": "2abcdefgh"}}, Stamp(1, 2, "X", path="2abcdefgh")),
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "n": "x" * 500}}, Stamp(1, 2, "X")),  # not a node id
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "n": 7}}, Stamp(1, 2, "X")),
        ({STAMP_KEY: {"s": "1", "t": 2}}, None),  # tampered: ignored, not trusted
        ({STAMP_KEY: {"s": True, "t": 2}}, None),
        ({STAMP_KEY: "garbage"}, None),
        ({}, None),
        (None, None),
        ("not a dict", None),
    ],
)
def test_stamp_is_read_defensively(attributes: Any, expected: Stamp | None) -> None:
    assert Stamp.from_attributes(attributes) == expected


def test_long_identifiers_are_cut_so_events_stay_small() -> None:
    envelope = {"request": {"type": "IntentRequest", "requestId": "r" * 5000, "intent": {"name": "I" * 5000}}}
    fields = read_envelope(envelope, RECEIVED)
    assert len(fields.request_id) == 100
    assert fields.intent is not None and len(fields.intent) == 100


@pytest.mark.parametrize(
    "value",
    [
        float("inf"),
        float("-inf"),
        float("nan"),
        1e300,
        10**30,
        10**400,  # more digits than int() may print: must not overflow a float either
        -1,
        "²",  # str.isdigit() says yes, int() says no
        "9" * 80,
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-23:59",  # after year 9999 in UTC
        "2300-01-01T00:00:00Z",  # beyond the 13 digits the event keys hold
    ],
)
def test_absurd_timestamps_are_not_times(value: Any) -> None:
    # Given a value no event key can hold, When it is read, Then it is no timestamp (no error)
    assert parse_timestamp(value) is None
    fields = read_envelope({"request": {"type": "LaunchRequest", "timestamp": value}}, RECEIVED)
    assert (fields.timestamp_ms, fields.timestamp_from_alexa) == (RECEIVED, False)


@pytest.mark.parametrize("value", [10**30, -5, 1.5, None])
def test_stamp_with_absurd_times_is_ignored(value: Any) -> None:
    assert Stamp.from_attributes({STAMP_KEY: {"s": value, "t": 2, "i": "X"}}) is None
    assert Stamp.from_attributes({STAMP_KEY: {"s": 1, "t": value, "i": "X"}}) is None


def test_requests_without_an_id_never_share_one() -> None:
    # Two id-less requests in the same millisecond must stay two events (the key dedupes retries)
    ids = {read_envelope({"request": {"type": "LaunchRequest"}}, RECEIVED).request_id for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith(f"unidentified-{RECEIVED}-") for i in ids)


def test_lone_surrogates_become_encodable_text() -> None:
    # JSON may carry "\ud800" escapes; the pseudonym's HMAC and the HTTP body need UTF-8
    envelope = {
        "context": {"System": {"user": {"userId": "amzn1.ask.account.\ud800X"}}},
        "request": {"type": "IntentRequest", "requestId": "r\udfff", "intent": {"name": "I\ud83d"}},
    }
    fields = read_envelope(envelope, RECEIVED)
    for text in (fields.user_id, fields.request_id, fields.intent):
        assert text is not None
        text.encode("utf-8")  # raises if a surrogate is left
    assert fields.request_id == "r?"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(alphabet=st.characters(codec=None), max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def anything_at(*keys: str, **nested: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts that may hold each of ``keys`` (holding anything at all) and each of ``nested``."""
    return st.fixed_dictionaries({}, optional={**dict.fromkeys(keys, JSON), **nested})


# Envelope-shaped JSON: every key the reader looks for may be there, holding anything, or be a wrong type.
ENVELOPES = JSON | anything_at(
    request=JSON
    | anything_at(
        "requestId",
        "type",
        "timestamp",
        "locale",
        "reason",
        intent=anything_at("name"),
        error=anything_at("type"),
    ),
    session=JSON
    | anything_at(
        "new",
        "sessionId",
        attributes=JSON | anything_at(**{STAMP_KEY: JSON | anything_at("s", "t", "i")}),
        user=anything_at("userId"),
        application=anything_at("applicationId"),
    ),
    context=anything_at(
        System=anything_at(user=anything_at("userId"), application=anything_at("applicationId"))
    ),
)


@settings(max_examples=200, deadline=None)
@given(event=ENVELOPES, received=st.integers(0, 10**13 - 1))
def test_any_envelope_gives_storable_fields(event: Any, received: int) -> None:
    # Given anything a client may send, When it is read, Then it never raises and every field fits storage
    fields = read_envelope(event, received)
    assert 0 <= fields.timestamp_ms < 10**13
    assert fields.request_id and fields.skill_id and fields.request_type
    for text in (fields.skill_id, fields.request_id, fields.request_type, fields.session_id, fields.intent,
                 fields.locale, fields.end_reason, fields.error_type):  # fmt: skip
        assert text is None or (len(text) <= 100 and text.encode("utf-8"))
    if fields.user_id is not None:
        fields.user_id.encode("utf-8")
    if fields.stamp is not None:
        assert 0 <= fields.stamp.start_ms < 10**13 and 0 <= fields.stamp.last_ms < 10**13


_VALUE = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.lists(st.integers(), max_size=2)


@given(st.dictionaries(st.sampled_from(["s", "t", "i", "p", "u", "x"]), _VALUE), st.booleans())
def test_any_session_attribute_gives_a_stamp_or_none(raw: dict[str, Any], wrap: bool) -> None:
    # Whatever a client puts into the reserved attribute, reading it never raises, and what it
    # reads survives the trip through the session attributes unchanged
    stamp = Stamp.from_attributes({STAMP_KEY: raw} if wrap else raw)
    if stamp is not None:
        assert Stamp.from_attributes({STAMP_KEY: stamp.to_attribute()}) == stamp
        assert isinstance(stamp.prompt, bool) and isinstance(stamp.unhandled, bool)


def test_stamp_round_trips_through_the_attribute_with_and_without_a_path() -> None:
    for stamp in (
        Stamp(1, 2, "X", path="1abcdefgh"),
        Stamp(1, 2, "X"),
        Stamp(1, 2, "X", True, True, "1abcdefgh"),
    ):
        assert Stamp.from_attributes({STAMP_KEY: stamp.to_attribute()}) == stamp
    assert "n" not in Stamp(1, 2, "X").to_attribute()  # stamps stay as small as before paths
