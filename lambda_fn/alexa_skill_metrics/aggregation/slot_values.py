"""The aggregator's copy of unresolved values into the value index (``storage.slot_values``).

Only events that carry values (``uv``: opted-in slots, METRICS.md "Unresolved values") are
copied, with their own ``expires_at``: rollups and customer items never hold a value. Each copy
is a plain PutItem of a key derived from the event's, so a batch redelivered after a failure
writes the same items again and the index still holds each event once. A record whose copy
could not be written is reported as a batch item failure, like a failed rollup write.

Example
-------
>>> copy_values([], ValueStore("skill-metrics"))
[]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.storage.slot_values import ValueStore, value_item


def copy_values(records: Sequence[Mapping[str, Any]], store: ValueStore) -> list[str]:
    """Copy the values of the event inserts in ``records``; return the failed sequence numbers."""
    failed: list[str] = []
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        dynamodb = record.get("dynamodb")
        image = dynamodb.get("NewImage") if isinstance(dynamodb, Mapping) else None
        item = value_item(image) if isinstance(image, dict) else None
        if item is None:
            continue
        try:
            store.put(item)
        except Exception as exc:  # throttled, timed out: Lambda retries the record
            assert isinstance(dynamodb, Mapping)
            sequence_number = dynamodb.get("SequenceNumber")
            telemetry.warn("unresolved values not copied; the record is retried", problem=type(exc).__name__)
            if isinstance(sequence_number, str):
                failed.append(sequence_number)
    return failed
