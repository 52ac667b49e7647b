"""Drain a table's DynamoDB stream through the aggregator locally, as Lambda's event source mapping would.

For ``skill-metrics aggregate`` and the demo against moto's server (or any endpoint boto3 is
pointed at). Records are read shard by shard (parents before children), converted to the shape
Lambda delivers, and applied in batches by the same code as the Lambda handler
(``handler.process_records``). A batch with failures is retried from its lowest failed record,
like Lambda does, at most ``max_retries`` times; what still fails is listed in the result.

Draining again is harmless: the aggregator applies every event exactly once whatever is
redelivered, so a second drain from ``TRIM_HORIZON`` only re-reads. Pass the ``positions`` of
the previous ``DrainResult`` to resume after what was read instead and skip that re-reading.
Reading stops at the first empty page of an open shard: the stream is drained "as of now".

Example
-------
>>> DrainResult().records
0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.exceptions import SkillMetricsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.aggregation.apply import Aggregator

DEFAULT_BATCH_SIZE = 1000  # Lambda's largest batch for DynamoDB Streams is 10,000; 1,000 is typical
DEFAULT_MAX_RETRIES = 2


class StreamNotEnabled(SkillMetricsError):
    """The table has no stream; create it with ``skill-metrics create-table`` (NEW_IMAGE stream)."""


@dataclass(slots=True)
class DrainResult:
    """What one drain read and did.

    ``positions`` maps each shard id to the last sequence number read: pass it to the next
    ``drain_stream`` call to continue from there.
    """

    records: int = 0  # stream records read (events, rollup and customer writes, deletions)
    events: int = 0  # event inserts among them
    batches: int = 0
    rollups_written: int = 0
    customers_written: int = 0
    failed: list[str] = field(default_factory=list)  # sequence numbers still failing after retries
    positions: dict[str, str] = field(default_factory=dict)


def drain_stream(
    table_name: str,
    *,
    dynamodb: DynamoDBClient | None = None,
    streams: Any = None,
    aggregator: Aggregator | None = None,
    positions: Mapping[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_retries: int = DEFAULT_MAX_RETRIES,
    progress: Callable[[int], None] | None = None,
) -> DrainResult:
    """Read the stream of ``table_name`` up to now and apply its event inserts to the rollups.

    Parameters
    ----------
    dynamodb, streams:
        boto3 clients (``dynamodb``, ``dynamodbstreams``); built from boto3's standard
        configuration when not given (``AWS_ENDPOINT_URL`` points them at moto's server).
    aggregator:
        Applies the batches; by default one on ``table_name`` with the ``dynamodb`` client.
    positions:
        Shard id -> last sequence number already read (``DrainResult.positions``); shards not
        named are read from ``TRIM_HORIZON``.
    progress:
        Called with the events applied so far after each batch.
    """
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.storage.rollups import analytics_client

    dynamodb = dynamodb if dynamodb is not None else analytics_client()
    streams = streams if streams is not None else streams_client()
    target = aggregator if aggregator is not None else Aggregator(table_name, dynamodb)
    stream_arn = dynamodb.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
    if not stream_arn:
        raise StreamNotEnabled(
            f"table {table_name!r} has no stream; create it with skill-metrics create-table"
        )
    result = DrainResult(positions=dict(positions or {}))
    for shard_id in _shards_in_order(streams, stream_arn):
        _drain_shard(streams, stream_arn, shard_id, target, result, batch_size, max_retries, progress)
    return result


def streams_client() -> Any:
    """A ``dynamodbstreams`` client on the regional endpoint, from boto3's standard configuration.

    Recent botocore sends DynamoDB Streams calls to an account-based host
    (``<account>.streams-ddb.<region>.amazonaws.com``), which moto's in-process mock does not
    serve; the regional endpoint works against AWS and moto alike.
    """
    import boto3
    from botocore.config import Config

    config = Config(account_id_endpoint_mode="disabled", retries={"mode": "standard"})
    return boto3.session.Session().client("dynamodbstreams", config=config)


def _shards_in_order(streams: Any, stream_arn: str) -> list[str]:
    """Every shard id of the stream, each after its parent (Lambda finishes a parent first)."""
    shards: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**kwargs)["StreamDescription"]
        shards.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        kwargs["ExclusiveStartShardId"] = last
    known = {s["ShardId"] for s in shards}
    ordered: list[str] = []
    placed: set[str] = set()

    def place(shard: dict[str, Any]) -> None:
        if shard["ShardId"] in placed:
            return
        parent = shard.get("ParentShardId")
        if parent in known and parent not in placed:
            place(next(s for s in shards if s["ShardId"] == parent))
        placed.add(shard["ShardId"])
        ordered.append(shard["ShardId"])

    for shard in shards:
        place(shard)
    return ordered


def _drain_shard(
    streams: Any,
    stream_arn: str,
    shard_id: str,
    target: Aggregator,
    result: DrainResult,
    batch_size: int,
    max_retries: int,
    progress: Callable[[int], None] | None = None,
) -> None:
    after = result.positions.get(shard_id)
    if after is None:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    else:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=after,
        )["ShardIterator"]
    pending: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=min(batch_size, 1000))
        records = page.get("Records", [])
        seen = result.positions.get(shard_id)
        if records and seen is not None and int(records[-1]["dynamodb"]["SequenceNumber"]) <= int(seen):
            # Every record of the page was read already: the iterator did not move (moto's stalled
            # at a shard's end, handing back the last record forever), so the shard is drained.
            records = []
        pending.extend(lambda_record(r, stream_arn) for r in records)
        if len(pending) >= batch_size or not records:
            _apply_batches(pending, target, result, batch_size, max_retries, progress)
            pending = []
        if not records:
            break  # an open shard answers an empty page once it is drained
        result.records += len(records)
        result.positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        iterator = page.get("NextShardIterator")
    _apply_batches(pending, target, result, batch_size, max_retries, progress)


def _apply_batches(
    pending: list[dict[str, Any]],
    target: Aggregator,
    result: DrainResult,
    batch_size: int,
    max_retries: int,
    progress: Callable[[int], None] | None,
) -> None:
    for start in range(0, len(pending), batch_size):
        _apply_batch(pending[start : start + batch_size], target, result, max_retries)
        if progress is not None:
            progress(result.events)


def _apply_batch(
    batch: list[dict[str, Any]], target: Aggregator, result: DrainResult, max_retries: int
) -> None:
    """Apply one batch; retry from the lowest failed record like Lambda, then give up on what still fails."""
    from alexa_skill_metrics.aggregation.handler import process_records

    for attempt in range(max_retries + 1):
        failed, outcome = process_records(batch, target)
        if attempt == 0:
            result.batches += 1
            result.events += outcome.events
        result.rollups_written += outcome.rollups_written
        result.customers_written += outcome.customers_written
        if not failed:
            return
        failed_set = set(failed)
        first = next(i for i, r in enumerate(batch) if r["dynamodb"].get("SequenceNumber") in failed_set)
        batch = batch[first:]
    result.failed.extend(failed)


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A ``GetRecords`` record in the shape Lambda delivers it (creation time as epoch seconds, source ARN).

    Binary attributes stay ``bytes`` (Lambda sends base64 text); event items have none.
    """
    dynamodb = dict(record.get("dynamodb", {}))
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}
