"""The aggregator's copy of unresolved values into the value index (``storage.slot_values``).

Only events that carry values (``uv``: opted-in slots, METRICS.md "Unresolved values") are
copied, with their own ``expires_at``: rollups and customer items never hold a value. Each copy
is a PutItem of a key derived from the event's, written only when a consistent read finds it
missing, so a batch redelivered after a failure or a crash writes nothing twice and the index
holds each event once. A record whose copy
could not be written is reported as a batch item failure, like a failed rollup write.

Example
-------
>>> copy_values([], ValueStore("skill-metrics"))
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.storage.codec import Item
from alexa_skill_metrics.storage.keys import PK, SK
from alexa_skill_metrics.storage.slot_values import ValueStore, value_item

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Event


def copy_values(records: Sequence[Mapping[str, Any]], store: ValueStore) -> list[str]:
    """Copy the values of the event inserts in ``records``; return the failed sequence numbers.

    Copies already in the index (a redelivered batch) are read first and not written again, so a
    replay writes nothing and a batch retried after a crash makes progress.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    wanted: dict[tuple[str, str], tuple[str, Item]] = {}
    for record in records:
        dynamodb = record.get("dynamodb")
        image = dynamodb.get("NewImage") if isinstance(dynamodb, Mapping) else None
        item = value_item(image) if record.get("eventName") == "INSERT" and isinstance(image, dict) else None
        sequence_number = dynamodb.get("SequenceNumber") if isinstance(dynamodb, Mapping) else None
        if item is not None and isinstance(sequence_number, str):
            wanted[(item[PK]["S"], item[SK]["S"])] = (sequence_number, item)
    if not wanted:
        return []
    try:
        present = {(i[PK]["S"], i[SK]["S"]) for i in store.batch_get(list(wanted))}
    except (BotoCoreError, ClientError) as exc:  # throttled, timed out: Lambda retries the records
        telemetry.warn("unresolved values not copied; the records are retried", problem=type(exc).__name__)
        return [sequence_number for sequence_number, _ in wanted.values()]
    failed = []
    for key, (sequence_number, item) in wanted.items():
        if key in present:
            continue
        try:
            store.put(item)
        except (BotoCoreError, ClientError) as exc:
            telemetry.warn("unresolved values not copied; the record is retried", problem=type(exc).__name__)
            failed.append(sequence_number)
    return failed


def copy_event_values(events: Iterable[Event], store: ValueStore) -> int:
    """Copy the values of ``events`` again from their raw items (read back for their TTL); return how many."""
    from alexa_skill_metrics.storage.codec import event_partition_key
    from alexa_skill_metrics.storage.keys import event_sk

    keys = [(event_partition_key(e), event_sk(e.timestamp_ms, e.request_id)) for e in events if e.uv]
    copied = 0
    for image in store.batch_get(keys):
        item = value_item(image)
        if item is not None:
            store.put(item)
            copied += 1
    return copied
