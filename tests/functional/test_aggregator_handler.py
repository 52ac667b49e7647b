"""The Lambda handler's contract: malformed events reported alone, other records ignored, fail-fast config."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from alexa_skill_metrics.aggregation import handler as handler_module
from alexa_skill_metrics.aggregation.apply import Aggregator
from alexa_skill_metrics.aggregation.handler import lambda_handler, process_records
from alexa_skill_metrics.exceptions import ConfigurationError
from tests.conftest import TABLE
from tests.functional.conftest import (
    Traffic,
    assert_matches_fold,
    batches,
    stored_rollups,
    stream_records,
    summary,
)


def _malformed(record: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(record)
    broken["dynamodb"]["NewImage"]["outcome"] = {"S": "not-an-outcome"}
    return broken


def test_malformed_event_is_reported_alone_and_the_rest_counts(dynamodb: Any, traffic: Traffic) -> None:
    # Given a batch with one unreadable event insert in the middle
    records = traffic.records
    bad_index = 42
    batch = [*records[:bad_index], _malformed(records[bad_index]), *records[bad_index + 1 : 200]]
    aggregator = Aggregator(TABLE, dynamodb)
    # When it is handled
    response = lambda_handler({"Records": batch}, None, aggregator=aggregator)
    # Then exactly that record is a batch item failure
    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[bad_index]["dynamodb"]["SequenceNumber"]}]
    }
    # And every other event counted (Lambda redelivers from the bad one; it fails again until it
    # is sent to the on-failure destination, and nothing counts twice meanwhile)
    for _ in range(3):
        again = lambda_handler({"Records": batch[bad_index:]}, None, aggregator=aggregator)
        assert [f["itemIdentifier"] for f in again["batchItemFailures"]] == [
            records[bad_index]["dynamodb"]["SequenceNumber"]
        ]
    for rest in batches(records[200:], 100):
        assert lambda_handler({"Records": rest}, None, aggregator=aggregator)["batchItemFailures"] == []
    events = [e for i, e in enumerate(traffic.events) if i != bad_index]
    assert_matches_fold(dynamodb, TABLE, events)


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r["dynamodb"].pop("NewImage"),  # a KEYS_ONLY stream: misconfiguration, not silence
        lambda r: r["dynamodb"]["NewImage"].pop("timestamp_ms"),
        lambda r: r["dynamodb"]["NewImage"].update(kind={"S": "surprise"}),
        lambda r: r["dynamodb"]["NewImage"]["sk"].update(S="no-request-id"),
    ],
)
def test_every_kind_of_broken_event_insert_is_reported(dynamodb: Any, traffic: Traffic, damage: Any) -> None:
    # Given an event insert damaged in some way
    broken = copy.deepcopy(traffic.records[5])
    damage(broken)
    # When it is handled with a good one
    response = lambda_handler(
        {"Records": [traffic.records[4], broken]}, None, aggregator=Aggregator(TABLE, dynamodb)
    )
    # Then it is reported, the good one is not
    assert response["batchItemFailures"] == [{"itemIdentifier": broken["dynamodb"]["SequenceNumber"]}]


def test_records_that_are_not_event_inserts_are_ignored(dynamodb: Any, traffic: Traffic) -> None:
    # Given the table's own stream after aggregating: rollup inserts and modifies, customer items
    aggregator = Aggregator(TABLE, dynamodb)
    for batch in batches(traffic.records, 200):
        process_records(batch, aggregator)
    before = {k: summary(v) for k, v in stored_rollups(dynamodb, TABLE).items()}
    own = stream_records(dynamodb, TABLE)
    assert {r["eventName"] for r in own} == {"INSERT", "MODIFY"}
    # plus a TTL deletion of an event and a modify of an event item
    ttl_delete = copy.deepcopy(traffic.records[0])
    ttl_delete["eventName"] = "REMOVE"
    ttl_delete["dynamodb"]["OldImage"] = ttl_delete["dynamodb"].pop("NewImage")
    ttl_delete["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    modify = copy.deepcopy(traffic.records[1])
    modify["eventName"] = "MODIFY"
    # When all of them are handled
    _, result = process_records([*own, ttl_delete, modify], aggregator)
    # Then nothing fails, nothing is written, nothing changes
    assert result.failed == [] and result.events == 0 and result.rollups_written == 0
    assert {k: summary(v) for k, v in stored_rollups(dynamodb, TABLE).items()} == before


def test_record_without_dynamodb_section_is_ignored(dynamodb: Any, traffic: Traffic) -> None:
    # Given something that is not a stream record at all, beside a real one
    response = lambda_handler({"Records": [{"eventName": "INSERT"}, traffic.records[0]]}, None,
                              aggregator=Aggregator(TABLE, dynamodb))  # fmt: skip
    # Then nothing is reported (there is no sequence number to name) and the event counts
    assert response == {"batchItemFailures": []}
    assert (
        sum(
            r.utterances
            for k, r in stored_rollups(dynamodb, TABLE).items()
            if k.granularity == "P1D" and k.intent == "*"
        )
        == 1
    )


def test_missing_table_setting_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no METRICS_TABLE in the environment of a fresh container
    handler_module.container_aggregator.cache_clear()
    monkeypatch.delenv("METRICS_TABLE", raising=False)
    # When the first batch arrives
    # Then the invocation fails naming the setting, before any record is touched
    with pytest.raises(ConfigurationError, match="METRICS_TABLE"):
        lambda_handler({"Records": []}, None)
    handler_module.container_aggregator.cache_clear()


def test_entry_point_reads_the_table_from_the_environment(
    dynamodb: Any, traffic: Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given METRICS_TABLE set, as the SAM template sets it, and a fresh container
    from alexa_skill_metrics.aggregator import lambda_handler as entry_point

    monkeypatch.setenv("METRICS_TABLE", TABLE)
    handler_module.container_aggregator.cache_clear()
    try:
        # When the stable entry point handles the traffic
        for batch in batches(traffic.records, 250):
            assert entry_point({"Records": batch}, None) == {"batchItemFailures": []}
        # Then the rollups are complete, and the container kept one aggregator
        assert handler_module.container_aggregator() is handler_module.container_aggregator()
        assert_matches_fold(dynamodb, TABLE, traffic.events)
    finally:
        handler_module.container_aggregator.cache_clear()
