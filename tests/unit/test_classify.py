"""Reading envelopes: every shape Alexa (or a broken client) may send gives fields, never an error."""

from __future__ import annotations

from typing import Any

import pytest

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
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "p": "2abcdefgh"}}, Stamp(1, 2, "X", "2abcdefgh")),
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "p": "x" * 500}}, Stamp(1, 2, "X")),  # not a node id
        ({STAMP_KEY: {"s": 1, "t": 2, "i": "X", "p": 7}}, Stamp(1, 2, "X")),
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


def test_stamp_round_trips_through_the_attribute_with_and_without_a_path() -> None:
    for stamp in (Stamp(1, 2, "X", "1abcdefgh"), Stamp(1, 2, "X")):
        assert Stamp.from_attributes({STAMP_KEY: stamp.to_attribute()}) == stamp
    assert "p" not in Stamp(1, 2, "X").to_attribute()  # stamps stay as small as before paths
