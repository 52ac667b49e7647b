"""Events to DynamoDB items and back, in the low-level attribute-value form.

Streams deliver images in the same form, so the aggregator reads events with ``item_to_event``.

Example
-------
>>> from alexa_skill_metrics.model import Event
>>> e = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="LaunchRequest",
...           timestamp_ms=1_767_607_200_000, received_ms=1_767_607_200_040, customer="c1")
>>> item = event_to_item(e, retention_days=90)
>>> item["pk"]["S"], item_to_event(item) == e
('EVT#amzn1.ask.skill.1#20260105T10#17', True)
"""

from __future__ import annotations

from typing import Any

from alexa_skill_metrics.model import VALUE_SEPARATOR, Event, Outcome
from alexa_skill_metrics.storage.keys import PK, SK, TTL_ATTRIBUTE, event_pk, event_sk, skill_of

SCHEMA_VERSION = 1
KIND = "event"

Item = dict[str, dict[str, Any]]

# Event field -> (attribute name, DynamoDB type). Names stay readable for people querying their table.
# skill_id and request_id live in the keys only: repeating them would cost a second write unit.
_STRINGS = (
    "request_type",
    "customer",
    "session_id",
    "intent",
    "locale",
    "end_reason",
    "error_type",
    "exception",
    "stage",
    "last_intent",
    "path_node",
    "release",
    "alias",
    "session_release",
    "slots",
    "confirmation",
    "dialog",
    "uv",  # unresolved values of opted-in slots only (recording.slot_values), already short
)
_NUMBERS = ("timestamp_ms", "received_ms", "session_start_ms", "previous_ms")
_BOOLS = ("timestamp_from_alexa", "new_session", "should_end_session", "last_prompt", "last_unhandled")
# Fields added after the first schema get short attribute names: with every field at its longest
# the item must still be one write unit (< 1 KB).
_SHORT = {
    "path_node": "pn",
    "last_prompt": "lp",
    "last_unhandled": "lu",
    "cold_start": "cs",
    "startup_ms": "su",
    "release": "rl",
    "alias": "al",
    "session_release": "sr",
    "slots": "sl",
    "confirmation": "cf",
    "dialog": "dg",
}


def _attr(name: str) -> str:
    return _SHORT.get(name, name)


def event_partition_key(event: Event, shards: int | None = None) -> str:
    """The event's partition key: the write shard of its session (of the request outside a session).

    ``shards``: the write shards (``Settings.event_write_shards``; ``METRICS_EVENT_WRITE_SHARDS``
    when not given).

    One session's events then share a write shard, hence a rollup part (``keys.rollup_part``):
    a step's open session, taken off by the session's next step, nets to nothing in that part's
    day rollup instead of staying as a +1 in one part and a -1 in another until the day ends
    (``open_sessions``, ``path_open``: most of a busy day rollup part's size otherwise).
    """
    return event_pk(event.skill_id, event.timestamp_ms, event.session_id or event.request_id, shards)


def event_to_item(event: Event, retention_days: int, shards: int | None = None) -> Item:
    """The one item written per request; ``None`` fields are left out to keep it small."""
    item: Item = {
        PK: {"S": event_partition_key(event, shards)},
        SK: {"S": event_sk(event.timestamp_ms, event.request_id)},
        "kind": {"S": KIND},
        "v": {"N": str(SCHEMA_VERSION)},
        "outcome": {"S": event.outcome.value},
        TTL_ATTRIBUTE: {"N": str(event.received_ms // 1000 + retention_days * 86_400)},
    }
    for name in _STRINGS:
        value = getattr(event, name)
        if value is not None:
            item[_attr(name)] = {"S": value}
    for name in _NUMBERS:
        value = getattr(event, name)
        if value is not None:
            item[name] = {"N": str(value)}
    for name in _BOOLS:
        value = getattr(event, name)
        if value is not None:
            item[_attr(name)] = {"BOOL": value}
    if event.handler_ms is not None:
        item["handler_ms"] = {"N": f"{event.handler_ms:.3f}"}
    if event.cold_start:  # written only when true: one request per container is a cold start
        item[_attr("cold_start")] = {"BOOL": True}
    if event.startup_ms is not None:
        item[_attr("startup_ms")] = {"N": f"{event.startup_ms:.3f}"}
    _fit_slots(item)
    return item


EVENT_BYTES = 1000  # an event stays one write unit (1 KB), with room for DynamoDB's own rounding


def _fit_slots(item: Item) -> None:
    """Cut unresolved values, then slot statuses, so the item stays under ``EVENT_BYTES``.

    Only events with every identifier at its longest, or many slots with long names, need it: with
    real ids (about 55 characters) a request with ten slot statuses of 6-letter names and the most
    unresolved values (``slot_values.MAX_VALUES_BYTES``) is about 800 bytes. Values go first, whole
    ones from the end: the slot figures count every utterance, the values are a sample for synonyms.
    Slot statuses go next. A dialog step (``dg``) is never cut, its figures must stay exact: with
    real ids it fits beside the rest; only an event whose every identifier is at the 100-character
    cut and that carries a long dialog step takes a second write unit.
    """
    if "uv" in item:
        values = item["uv"]["S"]
        while _size(item) > EVENT_BYTES and values:
            values = values.rpartition(VALUE_SEPARATOR)[0]
            item["uv"] = {"S": values}
        if not values:
            del item["uv"]
    slots = _attr("slots")
    if slots not in item:
        return
    rest = _size(item) - len(slots) - len(item[slots]["S"].encode())
    budget = EVENT_BYTES - rest - len(slots)
    codes = item[slots]["S"]
    while len(codes.encode()) > budget and " " in codes:
        codes = codes.rsplit(" ", 1)[0]
    if len(codes.encode()) > budget:
        del item[slots]
    else:
        item[slots] = {"S": codes}


def _size(item: Item) -> int:
    """About DynamoDB's size of ``item``: names plus values as text (numbers over-counted)."""
    return sum(len(name) + len(str(next(iter(value.values()))).encode()) for name, value in item.items())


def is_event_item(item: Item) -> bool:
    return item.get("kind", {}).get("S") == KIND


def item_to_event(item: Item) -> Event:
    """Rebuild an ``Event``; raises ``ValueError`` naming what is wrong with a malformed item."""
    if not is_event_item(item):
        raise ValueError("not an event item (kind != 'event')")
    values: dict[str, Any] = {}
    try:
        values["skill_id"] = skill_of(item[PK]["S"])
        values["request_id"] = item[SK]["S"].split("#", 1)[1]
        for name in _STRINGS:
            if _attr(name) in item:
                values[name] = item[_attr(name)]["S"]
        for name in _NUMBERS:
            if name in item:
                values[name] = int(item[name]["N"])
        for name in _BOOLS:
            if _attr(name) in item:
                values[name] = bool(item[_attr(name)]["BOOL"])
        if "handler_ms" in item:
            values["handler_ms"] = float(item["handler_ms"]["N"])
        if _attr("cold_start") in item:
            values["cold_start"] = bool(item[_attr("cold_start")]["BOOL"])
        if _attr("startup_ms") in item:
            values["startup_ms"] = float(item[_attr("startup_ms")]["N"])
        values["outcome"] = Outcome(item["outcome"]["S"])
        return Event(**values)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"malformed event item: {type(exc).__name__}: {exc}") from None
