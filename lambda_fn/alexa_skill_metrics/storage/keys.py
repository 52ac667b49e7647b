"""The table's key design: every key format lives here and nowhere else.

One table, partition key ``pk`` and sort key ``sk`` (both strings), TTL attribute ``expires_at``.

Raw events
    ``pk = EVT#<skill id>#<yyyymmddThh>#<write shard>``, ``sk = <epoch ms, 13 digits>#<request id>``.
    The hour is the event's own hour (Alexa's clock), so all events of a skill for any hour are
    ``EVENT_WRITE_SHARDS`` queries, never a scan. The shard is a stable hash of the request id,
    spreading one skill's writes over that many partition-key values: DynamoDB serves at most
    1,000 write units per second per partition-key value, each event is one write unit (< 1 KB),
    so one skill sustains about ``EVENT_WRITE_SHARDS x 1,000`` = 8,000 requests per second
    before any throttling. The request id in the key makes Alexa's and Lambda's retries of one
    request land on the same item, written once.

Example
-------
>>> event_pk("amzn1.ask.skill.1", 1_767_607_200_000, "amzn1.echo-api.request.1")
'EVT#amzn1.ask.skill.1#20260105T10#5'
>>> event_sk(1_767_607_200_000, "amzn1.echo-api.request.1")
'1767607200000#amzn1.echo-api.request.1'
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"

EVENT_PREFIX = "EVT#"
EVENT_WRITE_SHARDS = 8
_HOUR_FORMAT = "%Y%m%dT%H"


def event_shard(request_id: str) -> int:
    """Stable across processes and Python versions (unlike ``hash``)."""
    return zlib.crc32(request_id.encode()) % EVENT_WRITE_SHARDS


def event_hour(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime(_HOUR_FORMAT)


def event_pk(skill_id: str, timestamp_ms: int, request_id: str) -> str:
    return f"{EVENT_PREFIX}{skill_id}#{event_hour(timestamp_ms)}#{event_shard(request_id)}"


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
