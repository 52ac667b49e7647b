"""Rollup and customer items, their keys, and reading stream records (pure codecs, no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alexa_skill_metrics.aggregation.apply import MalformedRecord, decode_record
from alexa_skill_metrics.aggregation.retention import changes, contributions, counter_key
from alexa_skill_metrics.aggregation.rollup import FirstUtterance, new_rollup
from alexa_skill_metrics.model import Event, RollupKey
from alexa_skill_metrics.storage.codec import event_to_item
from alexa_skill_metrics.storage.customers import Act, CustomerState, Move, item_to_state, state_to_item
from alexa_skill_metrics.storage.keys import (
    parse_rollup_key,
    rollup_part_of,
    rollup_pk,
    rollup_sk,
    rollup_sk_range,
    watermark_key,
)
from alexa_skill_metrics.storage.rollups import (
    StoredRollup,
    bytes_to_retention,
    item_to_rollup,
    retention_to_bytes,
    rollup_to_item,
)

SKILL = "amzn1.ask.skill.1"
T0 = 1_767_607_200_000


def test_rollup_item_round_trip_keeps_every_figure() -> None:
    # Given a rollup with every kind of figure, a version and watermarks
    key = RollupKey(SKILL, "development", "PT15M", T0, "de-DE", "RollDiceIntent")
    rollup = new_rollup()
    rollup.utterances, rollup.failed_utterances, rollup.new_customers, rollup.enablements = 7, 2, -1, 1
    rollup.requests_by_type = {"IntentRequest": 7}
    rollup.session_ends, rollup.drop_off = {"user_ended": 2}, {"AMAZON.HelpIntent": 1}
    rollup.open_sessions = {29_460_120: 1, 29_460_121: -1}
    for c in ("a", "b", "a"):
        rollup.customers.add(c)
    rollup.latency.add(12.5)
    stored = StoredRollup(key, rollup, version=4, watermarks={"20260105T10#5": 11000000000000000000042})
    # When written and read back
    item = rollup_to_item(stored)
    back = item_to_rollup(item)
    # Then nothing is lost, and the item carries the next version
    assert item["ver"] == {"N": "5"} and back.version == 5 and back.key == key
    assert back.watermarks == stored.watermarks
    assert back.rollup.open_sessions == rollup.open_sessions and back.rollup.drop_off == rollup.drop_off
    assert (back.rollup.utterances, back.rollup.new_customers, back.rollup.customers.count()) == (7, -1, 2)
    assert back.rollup.latency.quantile(0.5) == 12.5
    # And zero counters stay out of the item
    assert "prompts" not in item and "sessions_started" not in item


def test_quality_figures_round_trip_and_stay_out_when_empty() -> None:
    # Given a rollup with friction, invocation types, cold starts and an endpoint summary
    key = RollupKey(SKILL, "live", "PT1H", T0, "en-US")
    rollup = new_rollup()
    plain = rollup_to_item(StoredRollup(key, new_rollup()))
    rollup.unhandled, rollup.terminations, rollup.retries, rollup.cold_starts = 3, 2, 1, 1
    rollup.launches, rollup.one_shots = 4, 1
    rollup.unhandled_after, rollup.terminated_after = {"start": 1, "LaunchRequest": 2}, {"RollDiceIntent": 2}
    rollup.no_response_after = {"AMAZON.HelpIntent": 1}
    rollup.latency.add(10.0)
    rollup.endpoint = rollup.latency.copy()
    rollup.endpoint.add(640.0)
    # When written and read back
    back = item_to_rollup(rollup_to_item(StoredRollup(key, rollup))).rollup
    # Then every figure is there
    assert (back.unhandled, back.terminations, back.retries, back.cold_starts) == (3, 2, 1, 1)
    assert (back.launches, back.one_shots) == (4, 1)
    assert back.unhandled_after == rollup.unhandled_after and back.terminated_after == rollup.terminated_after
    assert back.no_response_after == rollup.no_response_after
    assert back.endpoint is not None and back.endpoint.quantile(1.0) == 640.0
    # And a rollup without any of them stores none of their attributes (no endpoint: it equals latency)
    assert not {"endpoint", "unhandled", "unhandled_after", "launches"} & set(plain)
    assert item_to_rollup(plain).rollup.endpoint is None


def test_exact_rollups_are_not_stored() -> None:
    stored = StoredRollup(RollupKey(SKILL, "live", "PT1H", T0, "en-US"), new_rollup(exact=True))
    with pytest.raises(TypeError, match="sketches"):
        rollup_to_item(stored)


def test_rollup_keys_put_all_intents_and_per_intent_rollups_apart() -> None:
    assert rollup_pk(SKILL, "live", "P1D", intents=False).endswith("#P1D#ALL")
    assert rollup_pk(SKILL, "live", "P1D", intents=True).endswith("#P1D#INTENT")
    pk, sk = rollup_pk(SKILL, "live", "PT1H", intents=True), rollup_sk(T0, "en-US", "AMAZON.StopIntent")
    assert parse_rollup_key(pk, sk) == (SKILL, "live", "PT1H", T0, "en-US", "AMAZON.StopIntent", "-")
    released = rollup_sk(T0, "en-US", "AMAZON.StopIntent", 3, "v1.2")
    assert parse_rollup_key(pk, released)[-1] == "v1.2"
    assert rollup_part_of(released) == 3 and rollup_part_of(rollup_sk(T0, "en-US", "*", None, "7")) is None


def test_sort_key_range_is_half_open_on_buckets() -> None:
    # Given the range [10:00, 12:00) of hourly rollups
    low, high = rollup_sk_range(T0, T0 + 2 * 3_600_000)
    inside = [rollup_sk(T0, "en-US", "*"), rollup_sk(T0 + 3_600_000, "zz-ZZ", "zzz")]
    outside = [rollup_sk(T0 - 3_600_000, "zz-ZZ", "*"), rollup_sk(T0 + 2 * 3_600_000, "-", "*")]
    assert all(low <= sk <= high for sk in inside)
    assert not any(low <= sk <= high for sk in outside)


def test_customer_item_round_trip() -> None:
    first = FirstUtterance(T0, "r1", "en-US", "LaunchRequest")
    earlier = FirstUtterance(T0 - 5, "r0", "-", "AMAZON.HelpIntent")
    moves = [Move("20260105T10#1", 5, T0, first, None), Move("20260105T09#3", 9, T0 + 1, earlier, first)]
    state = CustomerState(SKILL, "live", "pseudo#with#hash", earlier, moves, version=2)
    back = item_to_state(state_to_item(state))
    assert (back.customer, back.first, back.moves, back.version) == ("pseudo#with#hash", earlier, moves, 3)


def test_customer_acts_keep_the_locale_their_retention_changes_go_to() -> None:
    first = FirstUtterance(T0, "r1", "en-GB", "LaunchRequest")
    acts = [
        Act("20260105T10#1", 5, T0, ((20458, "d20458.", 1),), "en-GB"),
        Act("rebuild", 7, T0, ((20459, "d20458.20458", 1),)),
    ]
    state = CustomerState(SKILL, "live", "c1", first, days=[20458, 20459], acts=acts)
    item = state_to_item(state)
    back = item_to_state(item)
    assert back.acts == acts
    assert [a.locale for a in back.acts] == ["en-GB", "-"]  # an act logged before locales: '-', where it went
    assert "l" not in item["acts"]["L"][1]["M"]


def _insert(item: dict[str, Any], seq: str = "1100000000000000000001") -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": item["pk"], "sk": item["sk"]}, "NewImage": item, "SequenceNumber": seq},
    }


def _event_item() -> dict[str, Any]:
    event = Event(skill_id=SKILL, request_id="req-1", request_type="LaunchRequest", timestamp_ms=T0,
                  received_ms=T0 + 40, customer="c1", session_id="s1", new_session=True)  # fmt: skip
    return event_to_item(event, retention_days=90)


def test_event_insert_decodes_with_its_watermark_source() -> None:
    item = _event_item()
    record = decode_record(_insert(item))
    assert record is not None
    assert record.source == watermark_key(item["pk"]["S"]) == item["pk"]["S"].split("#", 2)[2]
    assert (record.seq, record.event.request_id, record.event.skill_id) == (
        1100000000000000000001,
        "req-1",
        SKILL,
    )


def test_records_that_are_not_event_inserts_decode_to_nothing() -> None:
    rollup_item = rollup_to_item(StoredRollup(RollupKey(SKILL, "live", "PT1H", T0, "en-US"), new_rollup()))
    assert decode_record(_insert(rollup_item)) is None
    assert decode_record({**_insert(_event_item()), "eventName": "MODIFY"}) is None
    assert decode_record({**_insert(_event_item()), "eventName": "REMOVE"}) is None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r["dynamodb"].pop("NewImage"), "NEW_IMAGE"),
        (lambda r: r["dynamodb"].pop("SequenceNumber"), "SequenceNumber"),
        (lambda r: r["dynamodb"]["NewImage"].pop("outcome"), "outcome"),
        (lambda r: r["dynamodb"]["NewImage"].update(pk={"S": "SOMETHING#else"}), "outside"),
        (lambda r: r.pop("dynamodb"), "dynamodb"),
    ],
)
def test_broken_event_inserts_are_malformed(damage: Any, message: str) -> None:
    record = _insert(_event_item())
    damage(record)
    with pytest.raises(MalformedRecord, match=message):
        decode_record(record)


_COUNTER = st.tuples(st.sampled_from("dw"), st.integers(0, 40_000), st.none() | st.integers(0, 400)).map(
    lambda t: counter_key(t[0], t[1], None if t[2] is None else t[1] + t[2])
)


@given(st.dictionaries(_COUNTER, st.integers(-(10**12), 10**12).filter(bool), max_size=60))
def test_retention_counters_round_trip_through_their_binary_form(counters: dict[str, int]) -> None:
    assert bytes_to_retention(retention_to_bytes(counters)) == counters


def test_retention_counters_are_stored_compactly_and_read_from_either_form() -> None:
    # Given the day rollup of locale '-' holding a customer's counters after an out-of-order day
    monday = 20_458
    key = RollupKey(SKILL, "live", "P1D", (monday + 9) * 86_400_000, "-")
    rollup = new_rollup()
    rollup.retention = {k: v for (day, k), v in contributions(range(monday, monday + 60, 3)).items()}
    rollup.retention |= {k: v for (_, k), v in changes([monday, monday + 9], [monday, monday + 1]).items()}
    assert any(v < 0 for v in rollup.retention.values())
    # When written and read back
    item = rollup_to_item(StoredRollup(key, rollup))
    back = item_to_rollup(item).rollup.retention
    # Then every counter comes back, from a binary attribute under half a map's size
    as_map = {"M": {k: {"N": str(v)} for k, v in rollup.retention.items()}}
    assert back == rollup.retention
    assert len(item["retention"]["B"]) < sum(len(k) + len(v["N"]) for k, v in as_map["M"].items()) / 2
    # And an item written before, with the counters as a map, reads the same
    assert item_to_rollup({**item, "retention": as_map}).rollup.retention == rollup.retention


def test_truncated_retention_counters_are_unreadable() -> None:
    data = retention_to_bytes({"d20458.20460": 300})
    with pytest.raises(ValueError, match="truncated"):
        bytes_to_retention(data[:-1])
    with pytest.raises(ValueError, match="unreadable rollup item"):
        key = RollupKey(SKILL, "live", "P1D", T0, "-")
        item = rollup_to_item(StoredRollup(key, new_rollup()))
        item_to_rollup({**item, "retention": {"B": data[:-1]}})


_ODD_SOURCES = ["rebuild", "rebuild#17", "20260105T10#05", "20261305T10#1", "20260105T24#1", "x#1"]
_HOURS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2999, 12, 31)).map(
    lambda t: t.strftime("%Y%m%dT%H")
)


@given(
    st.dictionaries(
        st.one_of(
            st.tuples(_HOURS, st.integers(0, 2000)).map(lambda p: f"{p[0]}#{p[1]}"),
            st.sampled_from(_ODD_SOURCES),
        ),
        st.integers(0, 10**40),
    )
)
def test_watermarks_pack_back_to_themselves(marks: dict[str, int]) -> None:
    # Any marks: event partition keys pack (a few bytes each), every other source stays a map entry
    from alexa_skill_metrics.storage.rollups import bytes_to_watermarks, watermarks_to_bytes

    packed, others = watermarks_to_bytes(marks)
    assert {**bytes_to_watermarks(packed), **others} == marks
    assert set(others) <= set(_ODD_SOURCES)


def test_an_unsplit_day_rollup_keeps_its_marks_small() -> None:
    # A mark per write shard and hour of a day (768), as an unsplit day rollup of a busy skill holds
    from alexa_skill_metrics.model import RollupKey
    from alexa_skill_metrics.simulation.limits import item_size
    from alexa_skill_metrics.storage.rollups import StoredRollup, item_to_rollup, rollup_to_item

    key = RollupKey("amzn1.ask.skill.1", "live", "P1D", 1_767_571_200_000, "en-US")
    base = 44_215_845_000_000_000_174_504
    marks = {f"20260105T{h:02d}#{s}": base + 997 * (h * 32 + s) for h in range(24) for s in range(32)}
    stored = StoredRollup(key, new_rollup(), watermarks=marks, part=0)
    item = rollup_to_item(stored)
    assert item_to_rollup(item).watermarks == marks
    assert item_size(item) < 4 * 1024  # a map of them: about 30 KB
