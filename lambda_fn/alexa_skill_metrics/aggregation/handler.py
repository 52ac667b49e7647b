"""The DynamoDB Streams Lambda handler: event inserts in, rollups out, partial batch response back.

Powertools' ``BatchProcessor`` handles records one at a time, but rollups must be written once
per batch, not once per event. So the processor does the per-record part: it hands each record
to ``decode_record`` and books a malformed event insert as a batch item failure (logged, never
dropped), while every other record is either an event or ignored. The decoded events are then
applied together by ``Aggregator.process``, and the records of rollup or customer items whose
write failed are added to the processor's ``batchItemFailures``. The response always has that
shape; the handler raises only when it is misconfigured, so Lambda retries exactly the failed
records (from the lowest one) and, after the event source mapping's ``MaximumRetryAttempts``,
sends them to its on-failure destination instead of blocking the shard.

Configuration is the recorder's: ``METRICS_TABLE`` names the table (``Settings.from_env``). It is
read on the first invocation of a container, before any record is touched, and a missing
setting fails that invocation with ``ConfigurationError`` naming it (metrics-only functions fail
fast). The DynamoDB client is built then too, once per container.

Example
-------
>>> lambda_handler({"Records": []}, None, aggregator=Aggregator("skill-metrics"))
{'batchItemFailures': []}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.aggregation.apply import (
    Aggregator,
    BatchResult,
    MalformedRecord,
    StreamRecord,
    decode_record,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

__all__ = ["container_aggregator", "lambda_handler", "process_records"]


@cache
def container_aggregator() -> Aggregator:
    """This container's aggregator, configured from the environment on first use."""
    from alexa_skill_metrics.config import Settings

    return Aggregator(Settings.from_env().table_name)


def lambda_handler(
    event: Mapping[str, Any], context: Any, *, aggregator: Aggregator | None = None
) -> dict[str, Any]:
    """Handle one DynamoDB Streams batch; return ``{"batchItemFailures": [{"itemIdentifier": seq}]}``.

    ``aggregator`` is for tests and tools; Lambda calls ``(event, context)`` and gets this
    container's aggregator, configured from the environment.
    """
    target = aggregator if aggregator is not None else container_aggregator()
    records = event.get("Records") or []
    failed, _ = process_records(records, target)
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}


def process_records(
    records: Sequence[Mapping[str, Any]], target: Aggregator
) -> tuple[list[str], BatchResult]:
    """Decode and apply one batch of raw stream records; return the failed sequence numbers, in order.

    Shared by the Lambda handler and ``stream.drain_stream``.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    decoded: list[StreamRecord] = []

    def record_handler(record: DynamoDBRecord) -> None:
        raw = record.raw_event
        try:
            parsed = decode_record(raw)
        except MalformedRecord as exc:
            telemetry.warn(
                "malformed event record reported as a batch item failure",
                sequence_number=_sequence_number(raw),
                problem=str(exc)[:300],
            )
            raise
        if parsed is not None:
            decoded.append(parsed)

    usable = [dict(r) for r in records if isinstance(r.get("dynamodb"), Mapping)]
    if len(usable) < len(records):
        # Without a dynamodb section there is no sequence number to report, nor anything to count.
        telemetry.warn("stream records without a dynamodb section ignored", count=len(records) - len(usable))
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    with processor(records=usable, handler=record_handler):
        processor.process()
    failed = [str(f["itemIdentifier"]) for f in processor.response()["batchItemFailures"]]
    result = target.process(decoded) if decoded else BatchResult()
    if any(record.event.uv for record in decoded):
        from alexa_skill_metrics.aggregation.slot_values import copy_values
        from alexa_skill_metrics.storage.slot_values import ValueStore

        result.failed += copy_values(usable, ValueStore(target.table_name, target.rollups.client))
    seen = set(failed)
    for sequence_number in result.failed:
        if sequence_number not in seen:
            seen.add(sequence_number)
            failed.append(sequence_number)
    return failed, result


def _sequence_number(raw: Mapping[str, Any]) -> str | None:
    dynamodb = raw.get("dynamodb")
    value = dynamodb.get("SequenceNumber") if isinstance(dynamodb, Mapping) else None
    return value if isinstance(value, str) else None
