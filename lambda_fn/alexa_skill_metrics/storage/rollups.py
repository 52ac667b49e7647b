"""Rollup items: the codec between ``Rollup`` and DynamoDB, and ``RollupStore`` to read and write them.

One item per ``RollupKey`` and part (keys in ``storage/keys.py``: a rollup is one item, its head,
until it is written concurrently, then split into the head's ``parts`` items by event write
shard; ``query`` merges whatever parts exist). Counters
are numbers and counter maps are maps, both left out when zero or empty; the customer and
latency sketches are binary attributes (``CustomerSketch.to_bytes`` /
``LatencySketch.to_bytes``). Two attributes serve the aggregator's exactly-once writes and are
never returned by ``query``: ``ver``, a version number for optimistic locking, and ``wm``, the
watermarks (event partition key, shortened by ``keys.watermark_key`` -> last stream sequence
number applied from it). The head (part 0) also keeps ``parts`` (1 until it splits) and, while it
is one item, ``hw`` and ``hc``: its writes and the writes that had to be redone after a version
conflict (what ``aggregation.apply`` splits it by).

Example
-------
>>> from alexa_skill_metrics.model import Rollup, RollupKey
>>> from alexa_skill_metrics.sketches import CustomerSketch, LatencySketch
>>> key = RollupKey("amzn1.ask.skill.1", "live", "PT1H", 1_767_607_200_000, "en-US")
>>> stored = StoredRollup(key, Rollup(customers=CustomerSketch(), latency=LatencySketch()))
>>> stored.rollup.utterances = 3
>>> stored.rollup.customers.add("c1")
>>> item = rollup_to_item(stored)
>>> item["pk"]["S"], item["sk"]["S"], item["utterances"]["N"]
('ROLL#amzn1.ask.skill.1#live#PT1H#ALL', '1767607200000#en-US#*', '3')
>>> back = item_to_rollup(item)
>>> back.key == key, back.rollup.utterances, back.rollup.customers.count()
(True, 3, 1)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.exceptions import SkillMetricsError
from alexa_skill_metrics.model import ALL_INTENTS, DIALOG_MAPS, Rollup, RollupKey
from alexa_skill_metrics.periods import floor_ms
from alexa_skill_metrics.retention_keys import DAILY, WEEKLY, counter_key, parse_key
from alexa_skill_metrics.storage.keys import (
    LEGACY_ROLLUP_PARTS,
    PK,
    SK,
    parse_rollup_key,
    rollup_part_of,
    rollup_pk,
    rollup_sk,
    rollup_sk_range,
)
from alexa_skill_metrics.storage.table import item_size
from alexa_skill_metrics.varint import read_varints, unzigzag, write_varint, zigzag

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, dict[str, Any]]

KIND = "rollup"
SCHEMA_VERSION = 1
VERSION = "ver"
WATERMARKS = "wm"  # watermarks of other sources (the rebuild's), and every one in items written before
WATERMARK_BYTES = "wmb"  # watermarks of event partition keys, packed (``watermarks_to_bytes``)
PARTS = "parts"  # on the head only: how many parts the rollup is split into (absent: legacy)
HEAD_WRITES = "hw"  # on an unsplit head: its writes so far
HEAD_CONFLICTS = "hc"  # on an unsplit head: writes redone after a version conflict
CUSTOMERS = "customers"
LATENCY = "latency"
# Friction, endpoint time and invocation types: what they add to an item (the benchmark weighs it).
_QUALITY_COUNTERS = ("unhandled", "cold_starts", "terminations", "retries", "launches", "one_shots")
_QUALITY_MAPS = (
    "unhandled_after", "terminated_after", "no_response_after",
    "exited_after", "no_response_exits_after", "kept_open",
)  # fmt: skip
ENDPOINT = "endpoint"  # endpoint-time sketch, stored only once a cold start makes it differ from latency
QUALITY_ATTRIBUTES = (*_QUALITY_COUNTERS, *_QUALITY_MAPS, ENDPOINT)
_COUNTERS = (
    "utterances", "failed_utterances", "prompts", "responded", "tracked_utterances",
    "new_customers", "sessions_started", "enablements",
    *_QUALITY_COUNTERS, "intents_confirmed", "intents_denied",
    "dialogs_started", "dialogs_completed", "dialogs_switched",
)  # fmt: skip
RETENTION = "retention"  # binary (``retention_to_bytes``): about a third of a map's bytes
_DAY_MAPS = ("path_edges", "transitions", "path_open")  # kept on P1D rollups only, like RETENTION
# Slot figures and intent confirmations, on per-intent rollups only (METRICS.md, Slots).
SLOT_ATTRIBUTES = ("slot_counts", "intents_confirmed", "intents_denied")
# Dialogs, on per-intent rollups only (METRICS.md, Dialogs): counters and maps as ``Rollup`` names them.
DIALOG_ATTRIBUTES = ("dialogs_started", "dialogs_completed", "dialogs_switched", *DIALOG_MAPS)
_MAPS = (
    "requests_by_type", "session_ends", "drop_off", *_QUALITY_MAPS, "slot_counts", *DIALOG_MAPS, *_DAY_MAPS,
)  # fmt: skip
_OPEN = "open_sessions"  # epoch minute (a number) -> count
BATCH_GET_LIMIT = 100


class VersionConflict(SkillMetricsError):
    """The item changed since it was read (optimistic locking); read it again and redo the change."""


@dataclass(slots=True)
class StoredRollup:
    """A rollup part as stored: its key, counters and summaries, version, watermarks and part.

    ``version`` 0 means the item does not exist yet; ``part`` ``None`` is an item written before
    parts existed. On the head (part 0): ``parts``, how many parts the rollup is split into (1:
    not split; a head written before the split was adaptive reads as ``LEGACY_ROLLUP_PARTS``),
    and, while not split, ``writes`` and ``conflicts`` (writes redone after a version conflict).
    ``size`` is the item's size as DynamoDB counts it, when it was last read or written.
    """

    key: RollupKey
    rollup: Rollup
    version: int = 0
    watermarks: dict[str, int] = field(default_factory=dict)
    part: int | None = None
    parts: int = 1
    writes: int = 0
    conflicts: int = 0
    size: int = 0  # bytes of the item as last read or written (``table.item_size``); 0: not stored


def rollup_to_item(stored: StoredRollup) -> Item:
    """The full item for ``stored`` (``ver`` is ``stored.version + 1``: the version it writes)."""
    from alexa_skill_metrics.sketches import CustomerSketch, LatencySketch

    key, rollup = stored.key, stored.rollup
    customers, latency = rollup.customers, rollup.latency
    if not isinstance(customers, CustomerSketch) or not isinstance(latency, LatencySketch):
        raise TypeError("only rollups with sketches are stored (new_rollup(exact=False))")
    item: Item = {
        PK: {"S": rollup_pk(key.skill_id, key.stage, key.granularity, intents=key.intent != ALL_INTENTS)},
        SK: {"S": rollup_sk(key.bucket_ms, key.locale, key.intent, stored.part, key.release)},
        "kind": {"S": KIND},
        "v": {"N": str(SCHEMA_VERSION)},
        VERSION: {"N": str(stored.version + 1)},
        CUSTOMERS: {"B": customers.to_bytes()},
        LATENCY: {"B": latency.to_bytes()},
    }
    for name in _COUNTERS:
        value = getattr(rollup, name)
        if value:
            item[name] = {"N": str(value)}
    for name in _MAPS:
        counts: dict[str, int] = getattr(rollup, name)
        if counts:
            item[name] = {"M": {k: {"N": str(v)} for k, v in counts.items()}}
    if rollup.endpoint is not None:
        if not isinstance(rollup.endpoint, LatencySketch):
            raise TypeError("only rollups with sketches are stored (new_rollup(exact=False))")
        item[ENDPOINT] = {"B": rollup.endpoint.to_bytes()}
    if rollup.open_sessions:
        item[_OPEN] = {"M": {str(k): {"N": str(v)} for k, v in rollup.open_sessions.items()}}
    if rollup.retention:
        item[RETENTION] = {"B": retention_to_bytes(rollup.retention)}
    if stored.watermarks:
        packed, others = watermarks_to_bytes(stored.watermarks)
        if packed:
            item[WATERMARK_BYTES] = {"B": packed}
        if others:
            item[WATERMARKS] = {"M": {k: {"S": str(v)} for k, v in others.items()}}
    if stored.part == 0:
        item[PARTS] = {"N": str(stored.parts)}
        if stored.parts == 1:
            for name, value in ((HEAD_WRITES, stored.writes), (HEAD_CONFLICTS, stored.conflicts)):
                if value:
                    item[name] = {"N": str(value)}
    return item


def item_to_key(item: Item) -> RollupKey:
    return RollupKey(*parse_rollup_key(item[PK]["S"], item[SK]["S"]))


def item_to_rollup(item: Item) -> StoredRollup:
    """Rebuild a stored rollup; raises ``ValueError`` when the item is not a readable rollup."""
    from alexa_skill_metrics.sketches import CustomerSketch, LatencySketch

    try:
        rollup = Rollup(
            customers=CustomerSketch.from_bytes(_bytes(item[CUSTOMERS]["B"])),
            latency=LatencySketch.from_bytes(_bytes(item[LATENCY]["B"])),
        )
        for name in _COUNTERS:
            if name in item:
                setattr(rollup, name, int(item[name]["N"]))
        for name in _MAPS:
            if name in item:
                setattr(rollup, name, {k: int(v["N"]) for k, v in item[name]["M"].items()})
        if ENDPOINT in item:
            rollup.endpoint = LatencySketch.from_bytes(_bytes(item[ENDPOINT]["B"]))
        if _OPEN in item:
            rollup.open_sessions = {int(k): int(v["N"]) for k, v in item[_OPEN]["M"].items()}
        if RETENTION in item:
            stored_retention = item[RETENTION]
            rollup.retention = (
                bytes_to_retention(_bytes(stored_retention["B"]))
                if "B" in stored_retention
                else {k: int(v["N"]) for k, v in stored_retention["M"].items()}  # written as a map before
            )
        watermarks = {k: int(v["S"]) for k, v in item.get(WATERMARKS, {}).get("M", {}).items()}
        if WATERMARK_BYTES in item:
            watermarks.update(bytes_to_watermarks(_bytes(item[WATERMARK_BYTES]["B"])))
        version = int(item[VERSION]["N"]) if VERSION in item else 0
        part = rollup_part_of(item[SK]["S"])
        stored = StoredRollup(item_to_key(item), rollup, version, watermarks, part, size=item_size(item))
        if part == 0:
            stored.parts = int(item[PARTS]["N"]) if PARTS in item else LEGACY_ROLLUP_PARTS
            stored.writes = int(item[HEAD_WRITES]["N"]) if HEAD_WRITES in item else 0
            stored.conflicts = int(item[HEAD_CONFLICTS]["N"]) if HEAD_CONFLICTS in item else 0
        return stored
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"unreadable rollup item: {type(exc).__name__}: {exc}") from None


_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()


def watermarks_to_bytes(marks: Mapping[str, int]) -> tuple[bytes, dict[str, int]]:
    """Watermarks of event partition keys (``<yyyymmddThh>#<shard>``) packed, and the others as they are.

    An unsplit day rollup carries a mark per write shard and hour (hundreds): as a map each costs
    about 40 bytes, packed 3 to 8. Per mark, sorted by hour and shard: the hour's distance from
    the previous mark's (epoch hours), the shard, and the sequence number's difference from the
    previous mark's (zigzag: sequence numbers of other partition keys may be lower).

    >>> marks = {"20260105T10#5": 11_000_042, "20260105T11#0": 11_000_040}
    >>> packed, others = watermarks_to_bytes({**marks, "rebuild": 9})
    >>> len(packed), others, bytes_to_watermarks(packed) == marks
    (11, {'rebuild': 9}, True)
    """
    entries: list[tuple[int, int, int]] = []
    others: dict[str, int] = {}
    for source, seq in marks.items():
        place = _hour_and_shard(source)
        if place is None or seq < 0:
            others[source] = seq
        else:
            entries.append((*place, seq))
    out = bytearray()
    previous_hour = previous_seq = 0
    for hours, shard, seq in sorted(entries):
        for number in (hours - previous_hour, shard, zigzag(seq - previous_seq)):
            write_varint(out, number)
        previous_hour, previous_seq = hours, seq
    return bytes(out), others


def _hour_and_shard(source: str) -> tuple[int, int] | None:
    """Epoch hour and shard of a ``<yyyymmddThh>#<shard>`` source that packs back to itself, else ``None``."""
    from datetime import date

    hour, _, shard = source.partition("#")
    if len(hour) != 11 or hour[8] != "T" or not (hour[:8] + hour[9:]).isdigit():
        return None
    if not shard.isdigit() or shard != str(int(shard)):
        return None
    try:
        day = date(int(hour[:4]), int(hour[4:6]), int(hour[6:8])).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    if day < 0 or int(hour[9:]) > 23:
        return None
    return day * 24 + int(hour[9:]), int(shard)


def bytes_to_watermarks(data: bytes) -> dict[str, int]:
    """The marks ``watermarks_to_bytes`` packed; raises ``ValueError`` on truncated data."""
    from datetime import date

    values = list(read_varints(data))
    if len(values) % 3:
        raise ValueError("truncated watermarks")
    marks: dict[str, int] = {}
    hours = seq = 0
    for step, shard, delta in zip(values[::3], values[1::3], values[2::3], strict=True):
        hours, seq = hours + step, seq + unzigzag(delta)
        day = date.fromordinal(hours // 24 + _EPOCH_ORDINAL)
        marks[f"{day.year:04d}{day.month:02d}{day.day:02d}T{hours % 24:02d}#{shard}"] = seq
    return marks


def retention_to_bytes(counters: dict[str, int]) -> bytes:
    """Retention counters (``retention_keys``) as varints: about 5 bytes a counter.

    Per counter, sorted by key: the cohort times two plus one for a weekly counter, then the
    previous period's distance from the cohort plus one (0: none), then the count (zigzag: a
    part's counter can be negative while a customer's earlier day is still on its way).

    >>> counters = {"d20458.": 3, "d20458.20460": -1, "w2923.2924": 12}
    >>> len(retention_to_bytes(counters)), bytes_to_retention(retention_to_bytes(counters)) == counters
    (14, True)
    """
    out = bytearray()
    for key in sorted(counters):
        kind, cohort, previous = parse_key(key)
        if previous is not None and previous < cohort:
            raise ValueError(f"retention counter {key!r}: a previous period before its cohort")
        count = counters[key]
        for number in (
            cohort * 2 + (kind == WEEKLY),
            0 if previous is None else previous - cohort + 1,
            zigzag(count),
        ):
            write_varint(out, number)
    return bytes(out)


def bytes_to_retention(data: bytes) -> dict[str, int]:
    """The counters ``retention_to_bytes`` wrote; raises ``ValueError`` on truncated data."""
    try:
        values = list(read_varints(data))
    except ValueError:
        values = [0]  # cut inside a varint: as truncated as a missing one
    if len(values) % 3:
        raise ValueError("truncated retention counters")
    counters = {}
    for head, distance, count in zip(values[::3], values[1::3], values[2::3], strict=True):
        cohort = head >> 1
        previous = None if distance == 0 else cohort + distance - 1
        key = counter_key(WEEKLY if head & 1 else DAILY, cohort, previous)
        counters[key] = unzigzag(count)
    return counters


def _bytes(value: Any) -> bytes:
    # boto3 returns Binary attributes as bytes, moto's server and some tools as a wrapper or memoryview.
    return value if isinstance(value, bytes) else bytes(value.value if hasattr(value, "value") else value)


def analytics_client(max_connections: int = 10) -> DynamoDBClient:
    """DynamoDB client for the aggregator and reporting: patient retries, unlike the recorder's.

    Endpoint, region and credentials come from boto3's standard configuration;
    ``max_connections`` is how many calls may be in flight at once (botocore's default is 10).
    """
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 4},
        tcp_keepalive=True,
        max_pool_connections=max_connections,
    )
    return boto3.session.Session().client("dynamodb", config=config)


class TableAccess:
    """A table, a lazily built client and call counters, shared by the stores of this package.

    Attributes
    ----------
    items_read:
        Items DynamoDB returned to this store so far (what a report or a batch costs in reads).
    calls:
        DynamoDB API calls made so far.
    """

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        import threading

        self.table_name = table_name
        self._client = client  # built on first use: importing or configuring costs nothing
        self.items_read = 0
        self.calls = 0
        self._counting = threading.Lock()  # the aggregator calls from several threads at once

    def _count(self, calls: int, items: int = 0) -> None:
        with self._counting:
            self.calls += calls
            self.items_read += items

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = analytics_client()
        return self._client

    def query_range(self, pk: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        """Every item of partition ``pk`` with a sort key between ``low`` and ``high`` (inclusive)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":low": {"S": low}, ":high": {"S": high}},
        }
        while True:
            page = self.client.query(**kwargs)
            self._count(1, int(page.get("ScannedCount", len(page["Items"]))))
            yield from page["Items"]
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def batch_get(self, keys: Sequence[tuple[str, str]]) -> Iterator[Item]:
        """Strongly consistent BatchGetItem of ``(pk, sk)`` keys, 100 a call, retrying unprocessed keys."""
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        {PK: {"S": pk}, SK: {"S": sk}} for pk, sk in keys[start : start + BATCH_GET_LIMIT]
                    ],
                    "ConsistentRead": True,
                }
            }
            delay = 0.05
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                items = response.get("Responses", {}).get(self.table_name, [])
                self._count(1, len(items))
                yield from items  # type: ignore[misc]
                request = response.get("UnprocessedKeys") or {}
                if request:
                    time.sleep(delay)  # DynamoDB asks for a back-off before retrying unprocessed keys
                    delay = min(delay * 2, 1.0)

    def get_item(self, pk: str, sk: str) -> Item | None:
        """One item, read strongly consistent."""
        response = self.client.get_item(
            TableName=self.table_name, Key={PK: {"S": pk}, SK: {"S": sk}}, ConsistentRead=True
        )
        item = response.get("Item")
        self._count(1, item is not None)
        return item  # type: ignore[return-value]

    def put_if(self, item: Item, version: int, version_attribute: str = VERSION) -> None:
        """Put ``item`` if the stored item is at ``version`` (0: if there is none).

        Raises ``VersionConflict`` when another writer got there first; any other error of the
        call (throttling, timeouts after botocore's retries) propagates.
        """
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        if version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(#pk)"
            kwargs["ExpressionAttributeNames"] = {"#pk": PK}
        else:
            kwargs["ConditionExpression"] = "#ver = :ver"
            kwargs["ExpressionAttributeNames"] = {"#ver": version_attribute}
            kwargs["ExpressionAttributeValues"] = {":ver": {"N": str(version)}}
        self._count(1)
        try:
            self.client.put_item(**kwargs)
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(f"item {item[PK]['S']} {item[SK]['S']} changed meanwhile") from None
            raise


class RollupStore(TableAccess):
    """Reads and writes rollup items of one table.

    Parameters
    ----------
    table_name:
        The metrics table.
    client:
        A boto3 DynamoDB client; by default one is built on first use (``analytics_client``).

    ``items_read`` and ``calls`` count what it cost (see ``TableAccess``).
    """

    # --- reporting ----------------------------------------------------------------------------------

    def query(
        self,
        skill_id: str,
        stage: str,
        granularity: str,
        start_ms: int,
        end_ms: int,
        *,
        intents: bool = False,
        locale: str | None = None,
        consistent: bool = False,
    ) -> list[tuple[RollupKey, Rollup]]:
        """Rollups whose bucket lies in ``[floor(start_ms), end_ms)``, in bucket order.

        ``intents=False`` returns the ``ALL_INTENTS`` rollups only, ``intents=True`` the per-intent
        ones only; ``locale`` keeps one locale. One paginated key-range Query, never a Scan; the
        parts of a rollup are merged into one. Whole items are fetched: a projection leaving out
        the watermarks would not lower the read units (DynamoDB bills the items it reads) and makes
        moto's Query several times slower.
        """
        if end_ms <= start_ms:
            return []
        low, high = rollup_sk_range(floor_ms(start_ms, granularity), end_ms)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
            "ExpressionAttributeValues": {
                ":pk": {"S": rollup_pk(skill_id, stage, granularity, intents=intents)},
                ":low": {"S": low},
                ":high": {"S": high},
            },
            "ConsistentRead": consistent,
        }
        found: dict[RollupKey, Rollup] = {}
        for item in self._pages(kwargs):
            key = item_to_key(item)
            if locale is None or key.locale == locale:
                rollup = item_to_rollup(item).rollup
                if key in found:
                    found[key].merge(rollup)
                else:
                    found[key] = rollup
        return sorted(
            found.items(),
            key=lambda pair: rollup_sk(
                pair[0].bucket_ms, pair[0].locale, pair[0].intent, None, pair[0].release
            ),
        )

    def _pages(self, kwargs: dict[str, Any]) -> Iterator[Item]:
        while True:
            page = self.client.query(**kwargs)
            self._count(1, int(page.get("ScannedCount", len(page["Items"]))))
            yield from page["Items"]  # type: ignore[misc]
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    # --- the aggregator's read-modify-write --------------------------------------------------------------

    def get_many(
        self, keys: Iterable[tuple[RollupKey, int | None]]
    ) -> dict[tuple[RollupKey, int | None], StoredRollup]:
        """The stored parts of ``(key, part)`` pairs (strongly consistent); missing ones are left out."""
        found: dict[tuple[RollupKey, int | None], StoredRollup] = {}
        for item in self.batch_get([_item_key(key, part) for key, part in keys]):
            stored = item_to_rollup(item)
            found[(stored.key, stored.part)] = stored
        return found

    def get(self, key: RollupKey, part: int | None = None) -> StoredRollup | None:
        """One stored rollup part, read strongly consistent."""
        item = self.get_item(*_item_key(key, part))
        return None if item is None else item_to_rollup(item)

    def put(self, stored: StoredRollup) -> None:
        """Write ``stored`` if the item is still at ``stored.version``, then bump ``stored.version``.

        Raises ``VersionConflict`` when another writer got there first.
        """
        item = rollup_to_item(stored)
        self.put_if(item, stored.version)
        stored.version += 1
        stored.size = item_size(item)


def _item_key(key: RollupKey, part: int | None) -> tuple[str, str]:
    pk = rollup_pk(key.skill_id, key.stage, key.granularity, intents=key.intent != ALL_INTENTS)
    return pk, rollup_sk(key.bucket_ms, key.locale, key.intent, part, key.release)


def error_code(exc: Exception) -> str | None:
    """The DynamoDB error code of a botocore ``ClientError``, else ``None``."""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None
