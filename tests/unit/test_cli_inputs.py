"""What a user types and what the dead-letter queue holds: parsed or refused with a message, never a crash."""

from __future__ import annotations

import json

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alexa_skill_metrics.aggregation.redrive import BatchInfo, UnreadableMessage
from alexa_skill_metrics.cli.support import SKILL_ID, TIME, URL

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@given(st.text(max_size=80))
def test_any_text_is_a_valid_argument_or_a_usage_error(text: str) -> None:
    for kind in (SKILL_ID, TIME, URL):
        try:
            assert kind.convert(text, None, None) == text
        except click.BadParameter as exc:
            assert exc.message  # says what was expected


@given(JSON)
def test_any_json_message_is_a_batch_or_unreadable(value: object) -> None:
    try:
        info = BatchInfo.from_message(json.dumps(value))
    except UnreadableMessage as exc:
        assert "not a DynamoDB stream batch description" in str(exc)
    else:  # only a message with the batch section parses (random JSON never has one)
        assert isinstance(value, dict) and "DDBStreamBatchInfo" in value and info.shard_id


@pytest.mark.parametrize("number", [float("inf"), -1.5e308, "12x", None, [1]])
def test_sequence_numbers_that_are_not_numbers_are_unreadable(number: object) -> None:
    info = {"shardId": "s", "startSequenceNumber": number, "endSequenceNumber": "1", "streamArn": "a"}
    with pytest.raises(UnreadableMessage):
        BatchInfo.from_message(json.dumps({"DDBStreamBatchInfo": info}))


@given(st.dictionaries(st.sampled_from(["shardId", "startSequenceNumber", "endSequenceNumber", "streamArn",
                                        "approximateArrivalOfFirstRecord"]), JSON, max_size=5))  # fmt: skip
def test_partial_batch_descriptions_are_unreadable_not_crashes(info: dict[str, object]) -> None:
    # Four of the five fields are required: without one of them the message is unreadable
    required = {"shardId", "startSequenceNumber", "endSequenceNumber", "streamArn"}
    try:
        BatchInfo.from_message(json.dumps({"DDBStreamBatchInfo": info}))
    except UnreadableMessage:
        return
    assert required <= set(info)


@pytest.mark.parametrize("text", ["not-a-url", "ftp://host/x", "https://", "example.com"])
def test_endpoints_must_be_http_urls(text: str) -> None:
    with pytest.raises(click.BadParameter, match="MetricsApiUrl"):
        URL.convert(text, None, None)
