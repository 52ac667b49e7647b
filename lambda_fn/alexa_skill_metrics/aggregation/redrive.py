"""Replay the aggregator's dead-letter queue: stream batches Lambda set aside after its retries.

Lambda's on-failure destination for a DynamoDB stream receives a description of the batch, not
its records (``DDBStreamBatchInfo``: ``shardId``, ``startSequenceNumber``, ``endSequenceNumber``,
``approximateArrivalOfFirstRecord``/``LastRecord``, ``batchSize``, ``streamArn``).

Applying the records again would not be enough: after setting a batch aside, Lambda went on
with the later records of the same event partitions, and their watermarks now pass the
set-aside ones (``aggregation.apply``), so most rollups would skip them. What makes the rollups
exact is ``rebuild`` of the days those records belong to: every figure, new customers and
retention included (the set-aside records' first utterances and active days join their
customers' items, and the customers' later days are corrected). For each message:

1. While the stream still holds the batch (24 hours), its records are read again from the shard,
   ``startSequenceNumber`` to ``endSequenceNumber``: their event keys name the skills and the
   days to rebuild, exactly.
2. When the records have expired (``TrimmedDataAccessException``) or the shard is gone, the days
   around the batch's arrival times are rebuilt (events are written within seconds of their
   time), for the skills named with ``skill_ids``: the message does not say which they were.
3. The message is deleted once its days are rebuilt; otherwise it stays in the queue and the
   result says why (no skill named, a day too recent to rebuild yet, a day whose raw events
   expired, an unreadable message).
   Records that are not readable events (a malformed item) cannot be counted by any means;
   the result counts them.

Example
-------
>>> info = BatchInfo.from_message(
...     '{"DDBStreamBatchInfo": {"shardId": "shardId-1", "startSequenceNumber": "100",'
...     ' "endSequenceNumber": "200", "streamArn": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",'
...     ' "approximateArrivalOfFirstRecord": "2026-01-05T10:00:00Z",'
...     ' "approximateArrivalOfLastRecord": "2026-01-05T10:00:05Z", "batchSize": 3}}')
>>> info.shard_id, info.start, info.end, info.range_ms()
('shardId-1', 100, 200, (1767571200000, 1767657600000))
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.exceptions import SkillMetricsError
from alexa_skill_metrics.periods import HOUR_MS, format_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


_EXPIRED = ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException")
_MARGIN_MS = HOUR_MS  # around the arrival times: events of a batch were written about then


class QueueError(SkillMetricsError):
    """The dead-letter queue cannot be read: it does not exist, or SQS cannot be reached."""

    def __init__(self, message: str, *, usage: bool) -> None:
        super().__init__(message)
        self.usage = usage  # the command line names the wrong queue (rather than a network problem)


class UnreadableMessage(SkillMetricsError):
    """A queue message without a ``DDBStreamBatchInfo`` this module can read; left in the queue."""


@dataclass(frozen=True)
class BatchInfo:
    """The set-aside batch a dead-letter message describes."""

    shard_id: str
    start: int
    end: int
    stream_arn: str
    first_arrival_ms: int | None
    last_arrival_ms: int | None

    @classmethod
    def from_message(cls, body: str) -> BatchInfo:
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            return cls(
                shard_id=str(info["shardId"]),
                start=_sequence_number(info["startSequenceNumber"]),
                end=_sequence_number(info["endSequenceNumber"]),
                stream_arn=str(info["streamArn"]),
                first_arrival_ms=_ms(info.get("approximateArrivalOfFirstRecord")),
                last_arrival_ms=_ms(info.get("approximateArrivalOfLastRecord")),
            )
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise UnreadableMessage(f"not a DynamoDB stream batch description ({exc})") from None

    def range_ms(self) -> tuple[int, int]:
        """Whole UTC days around the arrival times (what a rebuild covers)."""
        from alexa_skill_metrics.aggregation.rebuild import align_range

        first = self.first_arrival_ms if self.first_arrival_ms is not None else self.last_arrival_ms
        last = self.last_arrival_ms if self.last_arrival_ms is not None else first
        if first is None or last is None:
            raise UnreadableMessage("the message has no arrival times: rebuild the range by hand")
        return align_range(first - _MARGIN_MS, last + _MARGIN_MS)


def _sequence_number(value: Any) -> int:
    """Lambda writes sequence numbers as strings of digits, like the stream does."""
    if not isinstance(value, str) or not value.isdigit():
        raise ValueError(f"sequence number {str(value)[:40]!r} is not a string of digits")
    return int(value)


def _ms(text: Any) -> int | None:
    if not text:
        return None
    return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class RedriveResult:
    """What one redrive did, message by message."""

    rebuilt: int = 0  # messages whose days were rebuilt from raw events (and deleted)
    kept: int = 0  # messages left in the queue
    records: int = 0  # stream records read again
    unreadable: int = 0  # of them, not readable as events: no rebuild can count them
    notes: list[str] = field(default_factory=list)  # one line per message kept, or rebuilt


def redrive(
    queue_url: str,
    table_name: str,
    *,
    skill_ids: Sequence[str] = (),
    sqs: Any = None,
    streams: Any = None,
    dynamodb: DynamoDBClient | None = None,
    max_messages: int = 1000,
    visibility_timeout: int = 300,
) -> RedriveResult:
    """Rebuild what every message of the dead-letter queue ``queue_url`` describes (module docstring).

    A message being handled is hidden from other readers for ``visibility_timeout`` seconds; one
    kept reappears after that.
    """
    import boto3

    from alexa_skill_metrics.aggregation.stream import streams_client
    from alexa_skill_metrics.storage.rollups import analytics_client

    sqs = sqs if sqs is not None else boto3.session.Session().client("sqs")
    streams = streams if streams is not None else streams_client()
    dynamodb = dynamodb if dynamodb is not None else analytics_client()
    result = RedriveResult()
    seen: set[str] = set()
    while len(seen) < max_messages:
        with _sqs_errors(sqs, queue_url):
            page = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=visibility_timeout,
            ).get("Messages", [])
        fresh = [m for m in page if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            if _handle(message["Body"], table_name, skill_ids, streams, dynamodb, result):
                with _sqs_errors(sqs, queue_url):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                result.kept += 1
    return result


_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@contextmanager
def _sqs_errors(sqs: Any, queue_url: str) -> Iterator[None]:
    """SQS's own failures as one ``QueueError`` naming SQS and the queue, not a traceback."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") not in _NO_QUEUE:
            raise
        raise QueueError(
            f"queue {queue_url} does not exist at SQS {sqs.meta.endpoint_url}: use the stack's "
            "DeadLetterQueueUrl output",
            usage=True,
        ) from None
    except (ConnectionError, HTTPClientError):
        raise QueueError(
            f"cannot reach SQS at {sqs.meta.endpoint_url}: check the network, AWS_REGION and "
            "AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SQS)",
            usage=False,
        ) from None


def _handle(
    body: str,
    table_name: str,
    skill_ids: Sequence[str],
    streams: Any,
    dynamodb: DynamoDBClient,
    result: RedriveResult,
) -> bool:
    """Rebuild the days of one message's batch; True when the message may be deleted."""
    from botocore.exceptions import ClientError

    try:
        info = BatchInfo.from_message(body)
    except UnreadableMessage as exc:
        result.notes.append(f"kept a message: {exc}")
        return False
    try:
        records = read_batch(streams, info)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in _EXPIRED:
            raise
        return _rebuild_expired(info, code, table_name, skill_ids, dynamodb, result)
    result.records += len(records)
    days, unreadable = affected_days(records)
    result.unreadable += unreadable
    return _rebuild(info, days, table_name, dynamodb, result)


def read_batch(streams: Any, info: BatchInfo) -> list[dict[str, Any]]:
    """The batch's records, read again from its shard, in the shape Lambda delivers them."""
    from alexa_skill_metrics.aggregation.stream import lambda_record

    iterator = streams.get_shard_iterator(
        StreamArn=info.stream_arn,
        ShardId=info.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(info.start),
    )["ShardIterator"]
    out: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records = page.get("Records", [])
        for record in records:
            seq = int(record["dynamodb"]["SequenceNumber"])
            if seq > info.end:
                return out
            if seq >= info.start:
                out.append(lambda_record(record, info.stream_arn))
        if not records:
            return out  # an open shard answers an empty page once it is read to its end
        iterator = page.get("NextShardIterator")
    return out


def affected_days(records: Sequence[dict[str, Any]]) -> tuple[dict[str, set[int]], int]:
    """Skill -> UTC days (start ms) of the event inserts among ``records``; and how many are unreadable."""
    from alexa_skill_metrics.aggregation.apply import MalformedRecord, decode_record
    from alexa_skill_metrics.periods import floor_ms

    days: dict[str, set[int]] = {}
    unreadable = 0
    for record in records:
        try:
            decoded = decode_record(record)
        except MalformedRecord:
            unreadable += 1
            continue
        if decoded is not None:
            event = decoded.event
            days.setdefault(event.skill_id, set()).add(floor_ms(event.timestamp_ms, "P1D"))
    return days, unreadable


def _rebuild(
    info: BatchInfo,
    days: dict[str, set[int]],
    table_name: str,
    dynamodb: DynamoDBClient,
    result: RedriveResult,
) -> bool:
    """Rebuild each affected day of each skill; False (keep the message) when one is too recent."""
    from alexa_skill_metrics.aggregation.rebuild import DAY_MS, EventsExpired, RangeNotSettled, rebuild

    try:
        for skill_id, starts in sorted(days.items()):
            for day in sorted(starts):
                rebuild(table_name, skill_id, day, day + DAY_MS, client=dynamodb)
    except (RangeNotSettled, EventsExpired) as exc:
        result.notes.append(f"kept {info.shard_id} {info.start}..{info.end}: {exc}")
        return False
    result.rebuilt += 1
    names = ", ".join(
        f"{skill} {', '.join(format_time(d)[:10] for d in sorted(ds))}" for skill, ds in days.items()
    )
    result.notes.append(f"rebuilt {names or 'nothing (no event inserts)'}")
    return True


def _rebuild_expired(
    info: BatchInfo,
    code: str,
    table_name: str,
    skill_ids: Sequence[str],
    dynamodb: DynamoDBClient,
    result: RedriveResult,
) -> bool:
    try:
        start, end = info.range_ms()
    except UnreadableMessage as exc:
        result.notes.append(f"kept {info.shard_id} {info.start}..{info.end}: {exc}")
        return False
    span = f"{format_time(start)} to {format_time(end)}"
    if not skill_ids:
        result.notes.append(
            f"kept {info.shard_id} {info.start}..{info.end}: its records are gone from the stream "
            f"({code}); rebuild {span}: skill-metrics redrive --skill-id <each skill> (or skill-metrics "
            f"rebuild --skill-id ... --start {format_time(start)} --end {format_time(end)})"
        )
        return False
    from alexa_skill_metrics.aggregation.rebuild import DAY_MS

    days = {skill_id: set(range(start, end, DAY_MS)) for skill_id in skill_ids}
    return _rebuild(info, days, table_name, dynamodb, result)
