"""The table's key design: every key format lives here and nowhere else.

One table, partition key ``pk`` and sort key ``sk`` (both strings), TTL attribute ``expires_at``.

Raw events
    ``pk = EVT#<skill id>#<yyyymmddThh>#<write shard>``, ``sk = <epoch ms, 13 digits>#<request id>``.
    The hour is the event's own hour (Alexa's clock), so all events of a skill for any hour are
    ``event_read_shards()`` queries, never a scan. The shard is a stable hash of the session id
    (the request id outside a session: ``codec.event_partition_key``), spreading one skill's
    writes over ``event_write_shards()`` partition-key values (``METRICS_EVENT_WRITE_SHARDS``,
    32): DynamoDB serves at most 1,000 write units per second per partition-key value (its sort
    keys grow with time, so split for heat cannot spread one), each event is one write unit
    (< 1 KB), so one skill sustains about ``shards x 1,000`` requests per second before any
    throttling (``bench/bench_scale.py`` measures it: the hash leaves the busiest shard above
    the mean). The request id in the sort key makes Alexa's and Lambda's retries of one request
    land on the same item, written once. Raising the shard count on a live table is safe (an
    hour's old shards are among the new ones); after lowering it, readers keep querying the old
    count (``METRICS_EVENT_READ_SHARDS``) while older hours are kept.

Rollups (written by the aggregator, read by reporting)
    ``pk = ROLL#<skill id>#<stage>#<granularity>#ALL`` for the rollups of every request of a
    bucket, ``...#INTENT`` for the per-intent ones;
    ``sk = <bucket epoch ms, 13 digits>#<locale>#<intent>#<part>``, followed by ``#<release>``
    for a release other than ``NO_RELEASE`` (items written before releases have none).
    A rollup starts as one item, its head (part 0). Once its head is written concurrently
    (``aggregation.apply``: version conflicts on a share of its writes) it is split: the head
    records ``parts`` (``METRICS_ROLLUP_PARTS`` when it split, 8 by default) and from then on a
    record writes part ``rollup_part(source, parts)``, so parallel stream shards write
    different items instead of racing for one. A quiet or busy skill whose batches come one
    after another never splits, and writes one item per rollup and batch. Rollups written
    before the split was adaptive hold 8 parts and a head without ``parts``
    (``LEGACY_ROLLUP_PARTS``). A report is still one key-range Query per granularity
    (``rollup_sk_range``), reads whatever parts a bucket, locale and intent has, and merges
    them; it reads per-intent items only when it asks for them. Items without a part (written
    before parts existed) merge the same way.

Customers (the aggregator's first-seen state)
    ``pk = CUST#<skill id>#<stage>#<customer pseudonym>``, ``sk = CUSTOMER_SK``: one item per
    customer, read in batches by key, so no partition key is hot.

Unresolved values (the aggregator's copy of opted-in slots' values, for reports)
    ``pk = UVAL#<skill id>#<stage>#<yyyymmdd>`` (the event's UTC day), ``sk`` the event's own
    (``event_sk``): one item per event that carries values, with that event's ``expires_at``, so
    it expires with it. A range is one Query per day; a redelivered event writes the same item.

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
>>> rollup_sk(1_767_607_200_000, "en-US", "*", rollup_part("20260105T10#13", 8))
'1767607200000#en-US#*#5'
>>> watermark_key("EVT#amzn1.ask.skill.1#20260105T10#5")
'20260105T10#5'
"""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime
from functools import cache

from alexa_skill_metrics.model import NO_RELEASE

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"

EVENT_PREFIX = "EVT#"
LEGACY_ROLLUP_PARTS = 8  # every rollup's parts before they were adaptive (a head without ``parts``)
_HOUR_FORMAT = "%Y%m%dT%H"


@cache
def _spread() -> dict[str, int]:
    """The deployment's spread settings from the environment, read once per process.

    Out-of-range values fall back to the defaults here: ``Settings.from_env`` reports them where a
    function's settings are resolved, and the recorder must not fail on them.
    """
    from alexa_skill_metrics.config import check_spread, spread_settings
    from alexa_skill_metrics.exceptions import ConfigurationError

    try:
        values = spread_settings(os.environ)
        check_spread(values["event_write_shards"], values["event_read_shards"], values["rollup_parts"])
    except ConfigurationError:
        values = spread_settings({})
    return values


def reset_spread() -> None:
    """Read the spread settings from the environment again (tools and tests that change them)."""
    _spread.cache_clear()


def event_write_shards() -> int:
    """How many write shards the recorder spreads a skill's events of one hour over."""
    return _spread()["event_write_shards"]


def event_read_shards() -> int:
    """How many write shards per hour readers query: at least the written ones."""
    spread = _spread()
    return max(spread["event_write_shards"], spread["event_read_shards"])


def rollup_parts() -> int:
    """How many parts a rollup is split into when it splits (one that split before keeps its own)."""
    return _spread()["rollup_parts"]


def event_shard(shard_key: str, shards: int | None = None) -> int:
    """Stable across processes and Python versions (unlike ``hash``)."""
    return zlib.crc32(shard_key.encode()) % (shards or event_write_shards())


def event_hour(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime(_HOUR_FORMAT)


def event_pk(skill_id: str, timestamp_ms: int, shard_key: str, shards: int | None = None) -> str:
    """``shard_key``: the session id, or the request id outside a session (``codec.event_partition_key``).

    ``shards``: the write shards (``event_write_shards()`` when not given).
    """
    return f"{EVENT_PREFIX}{skill_id}#{event_hour(timestamp_ms)}#{event_shard(shard_key, shards)}"


def event_sk(timestamp_ms: int, request_id: str) -> str:
    return f"{timestamp_ms:013d}#{request_id}"


def event_partitions(skill_id: str, hour_start_ms: int, shards: int | None = None) -> list[str]:
    """Every partition key holding the events of one skill for the hour starting at ``hour_start_ms``.

    ``shards``: how many write shards to list (``event_read_shards()`` when not given).
    """
    hour = event_hour(hour_start_ms)
    return [f"{EVENT_PREFIX}{skill_id}#{hour}#{shard}" for shard in range(shards or event_read_shards())]


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


def rollup_part(source: str, parts: int) -> int:
    """The part a record of ``source`` (a ``watermark_key``) writes in a rollup split into ``parts``."""
    return int(source.rsplit("#", 1)[1]) % parts


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


VALUE_PREFIX = "UVAL#"
_DAY_FORMAT = "%Y%m%d"


def value_pk(skill_id: str, stage: str, timestamp_ms: int) -> str:
    """Partition of a skill's unresolved values of one stage and UTC day.

    >>> value_pk("amzn1.ask.skill.1", "live", 1_767_607_200_000)
    'UVAL#amzn1.ask.skill.1#live#20260105'
    """
    day = datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime(_DAY_FORMAT)
    return f"{VALUE_PREFIX}{skill_id}#{stage}#{day}"


def customer_pk(skill_id: str, stage: str, customer: str) -> str:
    return f"{CUSTOMER_PREFIX}{skill_id}#{stage}#{customer}"


def skill_in_key(pk: str) -> str | None:
    """The skill id any partition key of the table names (event, rollup, customer), else ``None``.

    >>> skill_in_key("CUST#amzn1.ask.skill.1#live#c1"), skill_in_key("other")
    ('amzn1.ask.skill.1', None)
    """
    for prefix in (EVENT_PREFIX, ROLLUP_PREFIX, CUSTOMER_PREFIX, VALUE_PREFIX):
        if pk.startswith(prefix):
            return pk[len(prefix) :].split("#", 1)[0] or None
    return None


def watermark_key(pk: str) -> str:
    """Short, per-skill-unique name of an event partition key (its hour and write shard)."""
    if not pk.startswith(EVENT_PREFIX):
        raise ValueError(f"not an event partition key: {pk[:40]!r}")
    return pk[len(EVENT_PREFIX) :].split("#", 1)[-1]
