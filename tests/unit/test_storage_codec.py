"""Event items: one write unit, readable attribute names, exact round trip, clear errors."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest

from alexa_skill_metrics.config import DEFAULT_EVENT_WRITE_SHARDS as EVENT_WRITE_SHARDS
from alexa_skill_metrics.model import SKILL_ENABLED, Event, Outcome
from alexa_skill_metrics.storage.codec import event_partition_key, event_to_item, item_to_event
from alexa_skill_metrics.storage.keys import (
    event_partitions,
    event_pk,
    event_shard,
    rollup_part,
    watermark_key,
)

T = 1_767_607_200_000


def largest_event(request_type: str = "IntentRequest") -> Event:
    """Every field set, identifiers at the 100-character cut the recorder applies.

    Real ids are shorter (a skill id has 52 characters, a request id 59). An intent and a session
    end reason never come together, so the two largest real events are checked separately.
    """
    long = "x" * 100
    return Event(
        skill_id="amzn1.ask.skill." + "0" * 84,
        request_id=long,
        request_type=request_type,
        timestamp_ms=T,
        received_ms=T + 40,
        customer="c" * 22,
        session_id=long,
        intent=long if request_type == "IntentRequest" else None,
        locale="en-US",
        timestamp_from_alexa=True,
        new_session=False,
        end_reason="EXCEEDED_MAX_REPROMPTS" if request_type == "SessionEndedRequest" else None,
        error_type="INVALID_RESPONSE" if request_type == "SessionEndedRequest" else None,
        outcome=Outcome.ESCAPED,
        exception="E" * 60,  # recorder.MAX_EXCEPTION
        should_end_session=False,
        handler_ms=1234.567,
        stage="development",
        session_start_ms=T - 1,
        previous_ms=T - 2,
        last_intent=long,
        cold_start=True,
        startup_ms=123_456.789,
        last_prompt=True,
        last_unhandled=True,
        path_node="5" + "p" * 15,  # the longest node id a stamp may carry
        release="r" * 24,  # the longest release (METRICS_RELEASE) and alias the recorder keeps
        alias="a" * 16,
        session_release="s" * 24,  # a session another release started (a weighted alias)
        # the most slot statuses the recorder keeps (recording.slots.MAX_CODES)
        slots=" ".join(["s" * 33 + ":frru-"] * 10) if request_type == "IntentRequest" else None,
        confirmation="d" if request_type == "IntentRequest" else None,
    )


def item_size(item: dict[str, dict[str, object]]) -> int:
    """DynamoDB's item size: attribute name lengths plus value sizes.

    A number takes a byte per two significant digits plus one (DynamoDB's item size rules).
    """
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, raw),) = value.items()
        if kind == "BOOL":
            size += 1
        elif kind == "N":
            digits = str(raw).replace(".", "").replace("-", "").strip("0") or "0"
            size += (len(digits) + 1) // 2 + 1
        else:
            size += len(str(raw).encode())
    return size


def test_round_trip_is_exact() -> None:
    event = largest_event()
    assert item_to_event(event_to_item(event, 90)) == replace(event, slots=None)  # no room: cut
    # with identifiers of real lengths, every slot status stays
    real = replace(event, intent="OrderIntent", last_intent="OrderIntent", exception="KeyError",
                   slots="dish:fuu-- size:e----")  # fmt: skip
    assert item_to_event(event_to_item(real, 90)) == real


def test_slot_statuses_are_cut_by_whole_slots_to_stay_one_write_unit() -> None:
    event = replace(largest_event(), intent="OrderIntent", last_intent="OrderIntent", exception="KeyError")
    item = event_to_item(event, 90)
    assert item_size(item) < 1024
    kept = item_to_event(item).slots
    assert kept is not None and event.slots is not None and event.slots.startswith(kept)
    assert all(code.endswith(":frru-") for code in kept.split()) and len(kept) < len(event.slots)


@pytest.mark.parametrize("request_type", ["IntentRequest", "SessionEndedRequest"])
def test_largest_event_fits_one_write_unit(request_type: str) -> None:
    item = event_to_item(largest_event(request_type), 90)
    assert item_size(item) < 1024, json.dumps(item)[:200]


def test_ttl_counts_from_the_time_received() -> None:
    event = Event(skill_id="s", request_id="r", request_type="LaunchRequest", timestamp_ms=0, received_ms=T)
    assert int(event_to_item(event, 30)["expires_at"]["N"]) == T // 1000 + 30 * 86_400


def test_missing_fields_are_left_out() -> None:
    event = Event(
        skill_id="s",
        request_id="r",
        request_type="AudioPlayer.PlaybackStarted",
        timestamp_ms=T,
        received_ms=T,
    )
    item = event_to_item(event, 90)
    assert "customer" not in item and "session_id" not in item and "handler_ms" not in item


@pytest.mark.parametrize(
    "broken",
    [
        {"kind": {"S": "rollup"}},
        {"kind": {"S": "event"}},  # no outcome, no keys
        {"kind": {"S": "event"}, "outcome": {"S": "exploded"}, "skill_id": {"S": "s"}},
        {"kind": {"S": "event"}, "outcome": {"S": "response"}, "timestamp_ms": {"N": "soon"}},
    ],
)
def test_malformed_items_raise_value_error(broken: dict[str, dict[str, str]]) -> None:
    with pytest.raises(ValueError):
        item_to_event(broken)


def test_write_shards_spread_and_partitions_cover_them() -> None:
    shards = Counter(event_shard(f"amzn1.echo-api.request.{i}") for i in range(8000))
    assert set(shards) == set(range(EVENT_WRITE_SHARDS))
    assert max(shards.values()) < 1.2 * 8000 / EVENT_WRITE_SHARDS
    assert event_pk("s", T + 59 * 60_000, "r9") in event_partitions("s", T)
    assert event_pk("s", T + 60 * 60_000, "r9") not in event_partitions("s", T)


def test_cold_start_is_stored_only_on_the_cold_start() -> None:
    warm = Event(skill_id="s", request_id="r", request_type="LaunchRequest", timestamp_ms=T, received_ms=T)
    cold = Event(
        skill_id="s",
        request_id="r",
        request_type="LaunchRequest",
        timestamp_ms=T,
        received_ms=T,
        cold_start=True,
        startup_ms=812.5,
    )
    assert "cs" not in event_to_item(warm, 90) and "su" not in event_to_item(warm, 90)
    item = event_to_item(cold, 90)
    assert (item["cs"], item["su"]) == ({"BOOL": True}, {"N": "812.500"})
    assert item_to_event(item) == cold and item_to_event(event_to_item(warm, 90)) == warm


def test_one_sessions_events_share_a_write_shard_and_rollup_part() -> None:
    # Given the events of one session and requests outside any session
    session = [
        Event(skill_id="s", request_id=f"r{i}", request_type="IntentRequest",
              timestamp_ms=T - 180_000 + i * 9_000, received_ms=T, session_id="amzn1.echo-api.session.1")
        for i in range(40)
    ]  # fmt: skip
    loose = [
        Event(skill_id="s", request_id=f"amzn1.echo-api.request.{i}", request_type=SKILL_ENABLED,
              timestamp_ms=T, received_ms=T)
        for i in range(200)
    ]  # fmt: skip
    # When their partition keys are derived
    session_keys = {event_partition_key(e) for e in session}
    loose_keys = {event_partition_key(e) for e in loose}
    # Then the session's events share one write shard (so one rollup part), in every hour they fall in
    assert len(session_keys) == 2  # 40 steps 9 s apart from 09:57 cross one hour boundary
    assert len({rollup_part(watermark_key(pk), 8) for pk in session_keys}) == 1
    assert all(event_to_item(e, 90)["pk"]["S"] == event_partition_key(e) for e in session)
    # and requests outside a session still spread over the write shards by request id
    assert len(loose_keys) > EVENT_WRITE_SHARDS // 2
    assert all(pk in event_partitions("s", T) for pk in loose_keys)


# The longest dialog step the recorder writes: a turn whose reply asks to confirm one 40-character
# slot while the stamp's dialog asked for another, 10,000 turns, an intent name of 60 characters.
_UUID = "0d4f2b5e-8a1c-4e2b-9f3a-5c6d7e8f9a0b"
_INTENT = "I" * 60
LONGEST_DIALOG = f"p c:{'a' * 40} 10000 e:{'b' * 40} {T - 1} {_INTENT}"


@pytest.mark.parametrize("request_type", ["IntentRequest", "SessionEndedRequest"])
def test_a_dialog_event_fits_one_write_unit_with_real_identifiers(request_type: str) -> None:
    # Given the largest event, but with the identifiers Alexa really sends (ids of 52 to 59
    # characters) and a long intent name, carrying the longest dialog step
    event = replace(
        largest_event(request_type),
        skill_id=f"amzn1.ask.skill.{_UUID}",
        request_id=f"amzn1.echo-api.request.{_UUID}",
        session_id=f"amzn1.echo-api.session.{_UUID}",
        intent=_INTENT if request_type == "IntentRequest" else None,
        last_intent=_INTENT,
        dialog=LONGEST_DIALOG,
    )
    # When it is stored
    item = event_to_item(event, 90)
    # Then it is one write unit, and the dialog step is kept whole (slot statuses give way first)
    assert item_size(item) < 1024
    assert item_to_event(item).dialog == LONGEST_DIALOG
    assert item_to_event(item) == replace(event, slots=item_to_event(item).slots)


def test_a_dialog_step_round_trips() -> None:
    event = replace(largest_event(), intent="OrderIntent", last_intent="OrderIntent", exception="KeyError",
                    slots="dish:fuu--", dialog=f"c - 3 e:dish {T - 9_000} OrderIntent")  # fmt: skip
    item = event_to_item(event, 90)
    assert item["dg"] == {"S": f"c - 3 e:dish {T - 9_000} OrderIntent"}
    assert item_to_event(item) == event


def most_values() -> str:
    """The most unresolved values an event keeps (``slot_values.MAX_VALUES_BYTES``), each at its longest."""
    from alexa_skill_metrics.model import encode_values
    from alexa_skill_metrics.recording.slot_values import MAX_VALUE_BYTES, MAX_VALUES_BYTES

    text = encode_values([("d" * 12, "é" * (MAX_VALUE_BYTES // 2))] * 2)
    assert text is not None and len(text.encode()) <= MAX_VALUES_BYTES
    return text


def real_ids(event: Event) -> Event:
    return replace(event, intent="OrderIntent", last_intent="OrderIntent", exception="KeyError",
                   request_id="amzn1.echo-api.request.6919844a-733e-4e89-893a-fdcb77e2ef0d",
                   session_id="amzn1.echo-api.session.abeee1a7-aee0-41e6-8192-e6faaed9f5ef",
                   skill_id="amzn1.ask.skill.6919844a-733e-4e89-893a-fdcb77e2ef0d")  # fmt: skip


def test_an_event_with_ten_slots_and_the_most_values_fits_one_write_unit() -> None:
    # Real identifiers, ten slots of 6-letter names, and the most values the recorder keeps
    event = replace(real_ids(largest_event()), slots=" ".join([f"slot{n:02d}:fuu--" for n in range(10)]),
                    uv=most_values())  # fmt: skip
    item = event_to_item(event, 90)
    assert item_size(item) < 1024
    assert item_to_event(item) == event  # nothing had to go


@pytest.mark.parametrize("ids", ["real", "longest"])
def test_values_go_first_when_statuses_and_values_do_not_both_fit(ids: str) -> None:
    # The most slot statuses (ten 33-letter names) and the most values
    event = replace(largest_event(), uv=most_values())
    event = real_ids(event) if ids == "real" else event
    item = event_to_item(event, 90)
    assert item_size(item) < 1024
    kept = item_to_event(item)
    assert kept.uv is None or (event.uv or "").startswith(kept.uv)
    # the statuses kept are those an event without values keeps: the values went first
    assert kept.slots == item_to_event(event_to_item(replace(event, uv=None), 90)).slots
    assert kept == replace(event, slots=kept.slots, uv=kept.uv)
