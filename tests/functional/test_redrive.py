"""``redrive`` empties the dead-letter queue into exact rollups, against moto's SQS and DynamoDB Streams.

The recorder's items are written to a moto table; its stream is read as Lambda would; one
contiguous run of records is "set aside" (not aggregated) and described on an SQS queue in the
shape Lambda's on-failure destination uses (``DDBStreamBatchInfo``); the rest is aggregated,
so later records of the same partitions pass the set-aside ones in the watermarks.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from alexa_skill_metrics.aggregation.apply import decode_record
from alexa_skill_metrics.aggregation.redrive import redrive
from alexa_skill_metrics.aggregation.stream import streams_client
from sample_skill.envelopes import DEMO_SKILL_ID
from tests.conftest import TABLE
from tests.functional.conftest import Traffic, assert_matches_fold, stream_records
from tests.functional.test_rebuild import assert_retention_exact, day_of, feed, missed_day, store_events


def batch_info(records: list[dict[str, Any]], shard_id: str) -> str:
    """The message Lambda sends to an SQS on-failure destination for a set-aside stream batch."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return json.dumps(
        {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-01-05T01:00:00.000Z",
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": "2026-01-04T23:40:00Z",
                "approximateArrivalOfLastRecord": "2026-01-04T23:55:00Z",
                "batchSize": len(records),
                "streamArn": records[0]["eventSourceARN"],
            },
        }
    )


class Trimmed:
    """DynamoDB Streams after 24 hours: the batch's sequence numbers are beyond the trim horizon."""

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        error = {"Error": {"Code": "TrimmedDataAccessException", "Message": "beyond the trim horizon"}}
        raise ClientError(error, "GetShardIterator")


@pytest.fixture
def incident(dynamodb: Any, traffic: Traffic) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """A queue holding one set-aside batch; the stream's other records aggregated."""
    store_events(dynamodb, traffic)
    records = [r for r in stream_records(dynamodb, TABLE) if r["eventName"] == "INSERT"]
    set_aside = records[150:400]
    feed(dynamodb, records[:150] + records[400:])
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="aggregator-dlq")["QueueUrl"]
    shard = streams_client().describe_stream(StreamArn=records[0]["eventSourceARN"])["StreamDescription"]
    sqs.send_message(QueueUrl=queue, MessageBody=batch_info(set_aside, shard["Shards"][0]["ShardId"]))
    return queue, set_aside, records


def messages(queue: str) -> int:
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_set_aside_batch_is_read_again_and_its_days_rebuilt(
    dynamodb: Any, traffic: Traffic, incident: Any
) -> None:
    queue, set_aside, _ = incident
    with pytest.raises(AssertionError):  # the rollups miss the set-aside events
        assert_matches_fold(dynamodb, TABLE, traffic.events)
    # When the queue is redriven
    result = redrive(queue, TABLE, dynamodb=dynamodb)
    # Then the batch was read again from the stream, its days rebuilt, the message deleted
    assert (result.rebuilt, result.kept, result.records) == (1, 0, len(set_aside)), result.notes
    assert messages(queue) == 0
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_a_redriven_range_stays_exact_when_lambda_redelivers(
    dynamodb: Any, traffic: Traffic, incident: Any
) -> None:
    queue, _, records = incident
    redrive(queue, TABLE, dynamodb=dynamodb)
    feed(dynamodb, records)  # the whole stream again, as a replay from TRIM_HORIZON would
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_expired_records_fall_back_to_the_arrival_days_of_the_skills_named(
    dynamodb: Any, traffic: Traffic, incident: Any
) -> None:
    queue, set_aside, _ = incident
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.purge_queue(QueueUrl=queue)
    # Given a message whose records are older than the stream keeps (24 hours)
    sqs.send_message(QueueUrl=queue, MessageBody=batch_info(set_aside, "shardId-00000000000000000000-old"))
    # When it is redriven without naming a skill, Then it stays, with the command that would fix it
    kept = redrive(queue, TABLE, dynamodb=dynamodb, streams=Trimmed(), visibility_timeout=0)
    assert (kept.rebuilt, kept.kept) == (0, 1) and "--skill-id" in kept.notes[0]
    assert messages(queue) == 1
    # When the skill is named, Then the arrival days are rebuilt and the rollups are exact
    fixed = redrive(
        queue, TABLE, dynamodb=dynamodb, streams=Trimmed(), skill_ids=[DEMO_SKILL_ID], visibility_timeout=0
    )
    assert fixed.rebuilt == 1, fixed.notes
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_an_unreadable_message_is_kept(dynamodb: Any) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="aggregator-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"something": "else"}')
    result = redrive(queue, TABLE, dynamodb=dynamodb)
    assert result.kept == 1 and "not a DynamoDB stream batch description" in result.notes[0]


def test_redriving_a_returning_customers_day_makes_retention_exact(
    dynamodb: Any, weeks_traffic: Traffic
) -> None:
    # Given the stream of five weeks, and one day with a returning customer's utterances set aside
    customer, day = missed_day(weeks_traffic, "middle")
    store_events(dynamodb, weeks_traffic)
    records = [r for r in stream_records(dynamodb, TABLE) if r["eventName"] == "INSERT"]
    on_day = [i for i, r in enumerate(records) if day_of(r) == day]
    set_aside = records[on_day[0] : on_day[-1] + 1]
    assert customer in {decoded.event.customer for r in set_aside if (decoded := decode_record(r))}
    feed(dynamodb, records[: on_day[0]] + records[on_day[-1] + 1 :])
    with pytest.raises(AssertionError):
        assert_retention_exact(dynamodb, weeks_traffic)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="aggregator-dlq")["QueueUrl"]
    shard = streams_client().describe_stream(StreamArn=records[0]["eventSourceARN"])["StreamDescription"]
    sqs.send_message(QueueUrl=queue, MessageBody=batch_info(set_aside, shard["Shards"][0]["ShardId"]))
    # When the queue is redriven
    result = redrive(queue, TABLE, dynamodb=dynamodb)
    # Then retention is exact: the set-aside day, and the later days of its returning customers
    assert (result.rebuilt, result.records) == (1, len(set_aside)), result.notes
    assert_retention_exact(dynamodb, weeks_traffic)
