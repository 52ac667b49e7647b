"""The value index: a copy of each event's unresolved values (``Event.uv``) that reports read by day.

Reading the values of a range from the raw events would query every hour's write shards (768
Queries a day); the aggregator instead copies each event that carries values into one item of
its UTC day (``keys.value_pk``), keyed like the event and with the event's own ``expires_at``, so
the copy expires with the raw event. Reports read a range as one Query per day and leave out
items whose ``expires_at`` has passed (DynamoDB deletes expired items only within a few days).
A redelivered event writes the same item again: the index holds each event once.

Example
-------
>>> from alexa_skill_metrics.model import Event, encode_values
>>> from alexa_skill_metrics.storage.codec import event_to_item
>>> e = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="IntentRequest",
...           timestamp_ms=1_767_607_200_000, received_ms=1_767_607_200_040, customer="c1",
...           intent="OrderIntent", locale="en-US", uv=encode_values([("dish", "larb")]))
>>> item = value_item(event_to_item(e, retention_days=30))
>>> item["pk"]["S"], item["expires_at"]["N"], [s.value for s in sightings(item)]
('UVAL#amzn1.ask.skill.1#live#20260105', '1770199200', ['larb'])
"""

from __future__ import annotations

from collections.abc import Iterator

from alexa_skill_metrics.model import ValueSighting, decode_values
from alexa_skill_metrics.periods import buckets
from alexa_skill_metrics.storage.codec import Item, is_event_item
from alexa_skill_metrics.storage.keys import PK, SK, TTL_ATTRIBUTE, skill_of, value_pk
from alexa_skill_metrics.storage.rollups import TableAccess

KIND = "uvalue"
# Event attributes copied (codec's names): what a report filters and counts by, nothing more.
_COPIED = ("uv", "customer", "intent", "locale", "rl", TTL_ATTRIBUTE)


def value_item(event_item: Item) -> Item | None:
    """The index item of a stored event (its ``NewImage``), or ``None`` when it carries no values."""
    if not is_event_item(event_item) or "uv" not in event_item or "intent" not in event_item:
        return None
    try:
        skill = skill_of(event_item[PK]["S"])
        stage = event_item["stage"]["S"] if "stage" in event_item else "live"
        timestamp_ms = int(event_item[SK]["S"].split("#", 1)[0])
    except (KeyError, TypeError, ValueError):
        return None
    item: Item = {PK: {"S": value_pk(skill, stage, timestamp_ms)}, SK: event_item[SK], "kind": {"S": KIND}}
    item.update({name: event_item[name] for name in _COPIED if name in event_item})
    return item


def sightings(item: Item) -> list[ValueSighting]:
    """The values one index item holds; an unreadable item holds none."""
    try:
        timestamp_ms = int(item[SK]["S"].split("#", 1)[0])
        intent = item["intent"]["S"]
    except (KeyError, TypeError, ValueError):
        return []

    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return value if isinstance(value, str) else None

    return [
        ValueSighting(intent, slot, value, text("customer"), text("locale"), text("rl"), timestamp_ms)
        for slot, value in decode_values(text("uv"))
    ]


class ValueStore(TableAccess):
    """Writes (aggregator) and reads (reports) the value index of the metrics table."""

    def put(self, item: Item) -> None:
        """Write one index item; an error propagates (the record is then reported failed and retried)."""
        self._count(1)
        self.client.put_item(TableName=self.table_name, Item=item)

    def read(
        self, skill_id: str, stage: str, start_ms: int, end_ms: int, now_ms: int
    ) -> Iterator[ValueSighting]:
        """Sightings in ``[start_ms, end_ms)`` whose raw event has not expired by ``now_ms``."""
        low, high = f"{start_ms:013d}", f"{max(end_ms - 1, 0):013d}~"
        now_s = now_ms // 1000
        for day in buckets(start_ms, end_ms, "P1D"):
            for item in self.query_range(value_pk(skill_id, stage, day), low, high):
                expires = item.get(TTL_ATTRIBUTE, {}).get("N")
                if item.get("kind", {}).get("S") != KIND or (expires is not None and int(expires) <= now_s):
                    continue
                yield from sightings(item)
