"""The table's key design: every key format lives here and nowhere else.

One table, partition key ``pk`` and sort key ``sk`` (both strings), TTL attribute ``expires_at``.

Raw events
    ``pk = EVT#<skill id>#<yyyymmddThh>#<write shard>``, ``sk = <epoch ms, 13 digits>#<request id>``.
    The hour is the event's own hour (Alexa's clock), so all events of a skill for any hour are
    ``EVENT_WRITE_SHARDS`` queries, never a scan. The shard is a stable hash of the session id
    (the request id outside a session: ``codec.event_partition_key``), spreading one skill's
    writes over that many partition-key values: DynamoDB serves at most
    1,000 write units per second per partition-key value (its sort keys grow with time, so
    split for heat cannot spread one), each event is one write unit (< 1 KB), so one skill
    sustains about ``EVENT_WRITE_SHARDS x 1,000`` requests per second before any throttling
    (``bench/bench_scale.py`` measures it: the hash leaves the busiest shard above the mean). The
    request id in the sort key makes Alexa's and Lambda's retries of one request land on the
    same item, written once.

Rollups (written by the aggregator, read by reporting)
    ``pk = ROLL#<skill id>#<stage>#<granularity>#ALL`` for the rollups of every request of a
    bucket, ``...#INTENT`` for the per-intent ones;
    ``sk = <bucket epoch ms, 13 digits>#<locale>#<intent>#<part>``, followed by ``#<release>``
    for a release other than ``NO_RELEASE`` (items written before releases have none).
    A rollup is stored in up to ``ROLLUP_PARTS`` items (parts), each written only with the
    records of the event write shards of that part (``rollup_part``): parallel stream shards
    then write different items instead of racing for one, and each part's watermarks name only
    its own write shards. A report is still one key-range Query per granularity
    (``rollup_sk_range``), reads up to ``ROLLUP_PARTS`` items per bucket, locale and intent, and
    merges them; it reads per-intent items only when it asks for them. Items without a part
    (written before parts existed) merge the same way.

Customers (the aggregator's first-seen state)
    ``pk = CUST#<skill id>#<stage>#<customer pseudonym>``, ``sk = CUSTOMER_SK``: one item per
    customer, read in batches by key, so no partition key is hot.

Watermarks
    Rollup items remember, per event partition key, the last stream record applied from it;
    ``watermark_key`` is that partition key without its ``EVT#<skill id>#`` prefix (the rollup
    already names the skill), e.g. ``20260105T10#5``.

Example
-------
>>> event_pk("amzn1.ask.skill.1", 1_767_607_200_000, "amzn1.echo-api.request.1")
'EVT#amzn1.ask.skill.1#20260105T10#26'
>>> event_sk(1_767_607_200_000, "amzn1.echo-api.request.1")
'1767607200000#amzn1.echo-api.request.1'
>>> rollup_pk("amzn1.ask.skill.1", "live", "PT1H", intents=False)
'ROLL#amzn1.ask.skill.1#live#PT1H#ALL'
>>> rollup_sk(1_767_607_200_000, "en-US", "*", rollup_part("20260105T10#13"))
'1767607200000#en-US#*#5'
>>> watermark_key("EVT#amzn1.ask.skill.1#20260105T10#5")
'20260105T10#5'
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from alexa_skill_metrics.model import NO_RELEASE

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"

EVENT_PREFIX = "EVT#"
EVENT_WRITE_SHARDS = 32
ROLLUP_PARTS = 8  # items per rollup at most; a divisor of EVENT_WRITE_SHARDS
_HOUR_FORMAT = "%Y%m%dT%H"


def event_shard(shard_key: str) -> int:
    """Stable across processes and Python versions (unlike ``hash``)."""
    return zlib.crc32(shard_key.encode()) % EVENT_WRITE_SHARDS


def event_hour(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime(_HOUR_FORMAT)


def event_pk(skill_id: str, timestamp_ms: int, shard_key: str) -> str:
    """``shard_key``: the session id, or the request id outside a session (``codec.event_partition_key``)."""
    return f"{EVENT_PREFIX}{skill_id}#{event_hour(timestamp_ms)}#{event_shard(shard_key)}"


def event_sk(timestamp_ms: int, request_id: str) -> str:
    return f"{timestamp_ms:013d}#{request_id}"


def event_partitions(skill_id: str, hour_start_ms: int) -> list[str]:
    """Every partition key holding the events of one skill for the hour starting at ``hour_start_ms``."""
    hour = event_hour(hour_start_ms)
    return [f"{EVENT_PREFIX}{skill_id}#{hour}#{shard}" for shard in range(EVENT_WRITE_SHARDS)]


def skill_of(pk: str) -> str:
    """The skill id inside an event partition key (skill ids contain no ``#``)."""
    if not pk.startswith(EVENT_PREFIX):
        raise ValueError(f"not an event partition key: {pk[:40]!r}")
    return pk[len(EVENT_PREFIX) :].rsplit("#", 2)[0]


def is_event_key(pk: str) -> bool:
    return pk.startswith(EVENT_PREFIX)


# --- rollups and customer state (aggregation) -------------------------------------------------------

ROLLUP_PREFIX = "ROLL#"
ROLLUP_ALL = "ALL"
ROLLUP_INTENT = "INTENT"
CUSTOMER_PREFIX = "CUST#"
CUSTOMER_SK = "first"


def rollup_pk(skill_id: str, stage: str, granularity: str, *, intents: bool) -> str:
    """Partition of a skill's rollups of one stage and granularity: all-intents or per-intent ones."""
    return f"{ROLLUP_PREFIX}{skill_id}#{stage}#{granularity}#{ROLLUP_INTENT if intents else ROLLUP_ALL}"


def rollup_sk(
    bucket_ms: int, locale: str, intent: str, part: int | None = None, release: str = NO_RELEASE
) -> str:
    """The sort key of a rollup item; ``part`` ``None`` is an item written before parts existed.

    >>> rollup_sk(1_767_607_200_000, "en-US", "*", 5, "42")
    '1767607200000#en-US#*#5#42'
    """
    sk = f"{bucket_ms:013d}#{locale}#{intent}"
    if release != NO_RELEASE:
        return f"{sk}#{'' if part is None else part}#{release}"
    return sk if part is None else f"{sk}#{part}"


def rollup_part(source: str) -> int:
    """The part of the rollup items a record of ``source`` (a ``watermark_key``) contributes to."""
    return int(source.rsplit("#", 1)[1]) % ROLLUP_PARTS


def rollup_part_of(sk: str) -> int | None:
    """The part in a rollup item's sort key (``None`` for an item written before parts)."""
    rest = sk.split("#", 4)
    return int(rest[3]) if len(rest) >= 4 and rest[3] else None


def rollup_sk_range(first_bucket_ms: int, end_ms: int) -> tuple[str, str]:
    """Inclusive ``BETWEEN`` bounds of the sort keys of buckets in ``[first_bucket_ms, end_ms)``.

    ``first_bucket_ms`` is the floor of the range start; every sort key starts with 13 digits and
    ``#``, which sorts below ``~``.
    """
    return f"{first_bucket_ms:013d}", f"{max(end_ms - 1, 0):013d}~"


def parse_rollup_key(pk: str, sk: str) -> tuple[str, str, str, int, str, str, str]:
    """``(skill id, stage, granularity, bucket ms, locale, intent, release)`` of a rollup item's keys."""
    if not pk.startswith(ROLLUP_PREFIX):
        raise ValueError(f"not a rollup partition key: {pk[:40]!r}")
    skill_id, stage, granularity, _kind = pk[len(ROLLUP_PREFIX) :].rsplit("#", 3)
    segments = sk.split("#", 4)
    bucket, locale, intent = segments[:3]
    release = segments[4] if len(segments) == 5 else NO_RELEASE
    return skill_id, stage, granularity, int(bucket), locale, intent, release


def is_rollup_key(pk: str) -> bool:
    return pk.startswith(ROLLUP_PREFIX)


def customer_pk(skill_id: str, stage: str, customer: str) -> str:
    return f"{CUSTOMER_PREFIX}{skill_id}#{stage}#{customer}"


def skill_in_key(pk: str) -> str | None:
    """The skill id any partition key of the table names (event, rollup, customer), else ``None``.

    >>> skill_in_key("CUST#amzn1.ask.skill.1#live#c1"), skill_in_key("other")
    ('amzn1.ask.skill.1', None)
    """
    for prefix in (EVENT_PREFIX, ROLLUP_PREFIX, CUSTOMER_PREFIX):
        if pk.startswith(prefix):
            return pk[len(prefix) :].split("#", 1)[0] or None
    return None


def watermark_key(pk: str) -> str:
    """Short, per-skill-unique name of an event partition key (its hour and write shard)."""
    if not pk.startswith(EVENT_PREFIX):
        raise ValueError(f"not an event partition key: {pk[:40]!r}")
    return pk[len(EVENT_PREFIX) :].split("#", 1)[-1]
