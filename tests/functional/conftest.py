"""Aggregator fixtures: seeded realistic traffic recorded through the real skill, as stream records.

The traffic is produced once per test session: the sample skill with the recorder installed
(``SkillMetrics``) answers simulated sessions against an in-process moto table, and the table's
stream is read back in the shape Lambda delivers. Each test then feeds those records, in the
order and batches it wants, to an aggregator writing into its own fresh table (``dynamodb``).
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from alexa_skill_metrics.aggregation.apply import StreamRecord, decode_record
from alexa_skill_metrics.aggregation.retention import by_day
from alexa_skill_metrics.aggregation.rollup import fold, new_rollup
from alexa_skill_metrics.model import DIALOG_MAPS, Event, Rollup, RollupKey
from alexa_skill_metrics.periods import GRANULARITIES
from alexa_skill_metrics.storage.rollups import RollupStore
from sample_skill.envelopes import DEMO_SKILL_ID, Envelopes
from sample_skill.traffic import game_dialog
from tests.conftest import KEY, table_items

TRAFFIC_START_MS = 1_767_568_200_000  # 2026-01-04T23:10:00Z: sessions cross hour and day boundaries
RANGE_START_MS = TRAFFIC_START_MS - 86_400_000
RANGE_END_MS = TRAFFIC_START_MS + 60 * 86_400_000  # the weeks traffic spans 5 weeks
WEEKS_MS = 35 * 86_400_000


@dataclass
class Traffic:
    records: list[dict[str, Any]]  # Lambda-shaped stream records of every recorded event, in stream order

    @property
    def decoded(self) -> list[StreamRecord]:
        out = []
        for raw in self.records:
            record = decode_record(raw)
            assert record is not None
            out.append(record)
        return out

    @property
    def events(self) -> list[Event]:
        return [r.event for r in self.decoded]


def simulate(
    handler: Callable[[dict[str, Any], Any], Any],
    seed: int,
    sessions: int,
    customers: int,
    spread_ms: int = 100 * 60_000,
) -> None:
    """Drive ``handler`` (the sample skill) with seeded sessions: every path METRICS.md names.

    Sessions start within ``spread_ms`` of ``TRAFFIC_START_MS``; customers come back across it.
    """
    rng = random.Random(seed)
    en = Envelopes()
    de = Envelopes(locale="de-DE", _ids=en._ids)  # shared counter: request ids stay unique
    starts = sorted(rng.randrange(0, spread_ms) for _ in range(sessions))
    for n, offset in enumerate(starts):
        user = f"u{rng.randrange(customers):03d}"
        env = de if int(user[1:]) % 4 == 0 else en
        _session(handler, env, rng, user, f"{seed}-{n}", TRAFFIC_START_MS + offset)
        if rng.random() < 0.08:
            handler(
                en.skill_event("AlexaSkillEvent.SkillEnabled", user=user, at_ms=TRAFFIC_START_MS + offset),
                None,
            )
        if rng.random() < 0.05:
            handler(en.can_fulfill("RollDiceIntent", user=user, at_ms=TRAFFIC_START_MS + offset + 10), None)


def _session(
    handler: Callable[..., Any], env: Envelopes, rng: random.Random, user: str, sid: str, t: int
) -> None:
    def call(envelope: dict[str, Any]) -> dict[str, Any] | None:
        try:
            reply: dict[str, Any] = handler(envelope, None)
        except Exception:
            return None  # escaped the skill: Alexa keeps the attributes of the last reply
        return reply

    if zlib.crc32(sid.encode()) % 6 == 0:  # a one-shot start (by hash: the seeded choices stay as they were)
        reply = call(
            env.intent("RollDiceIntent", user=user, session=sid, at_ms=t, new=True, slots={"sides": "6"})
        )
    else:
        reply = call(env.launch(user=user, session=sid, at_ms=t))
    attributes = reply["sessionAttributes"] if reply else {}
    if reply is not None and zlib.crc32(sid.encode()) % 4 == 1:
        # A game set up (a dialog), by a generator of its own: the seeded choices stay as they were.
        # Some customers leave in the middle of it, by the session's end drawn below (or none at all).
        dialogs = random.Random(zlib.crc32(sid.encode()))
        t, attributes = game_dialog(
            call, env, dialogs, user, sid, t + 4_000, attributes, leave=dialogs.random() < 0.4
        )
    for _ in range(rng.randrange(0, 6)):
        t += rng.choice((3_000, 8_000, 20_000, 70_000, 200_000))
        kind = rng.choices(["roll", "bad", "score", "help", "fallback"], weights=[6, 1, 2, 1, 1])[0]
        if kind in ("roll", "bad"):
            sides = {"sides": "1" if kind == "bad" else "6"}
            envelope = env.intent(
                "RollDiceIntent", user=user, session=sid, at_ms=t, slots=sides, attributes=attributes
            )
        else:
            name = {
                "score": "CheckScoreIntent",
                "help": "AMAZON.HelpIntent",
                "fallback": "AMAZON.FallbackIntent",
            }
            envelope = env.intent(name[kind], user=user, session=sid, at_ms=t, attributes=attributes)
        reply = call(envelope)
        if reply is None:  # CheckScoreIntent before any roll: the outage escapes, Alexa ends the session
            call(env.session_ended("ERROR", user=user, session=sid, at_ms=t + 900, attributes=attributes,
                                   error_type="INTERNAL_SERVICE_ERROR"))  # fmt: skip
            return
        attributes = reply["sessionAttributes"]
    t += rng.choice((2_000, 9_000, 40_000))
    end = rng.choices(["stop", "exit", "silence", "none"], weights=[4, 2, 2, 1])[0]
    if end == "stop":
        call(env.intent("AMAZON.StopIntent", user=user, session=sid, at_ms=t, attributes=attributes))
    elif end == "exit":
        call(env.session_ended("USER_INITIATED", user=user, session=sid, at_ms=t, attributes=attributes))
    elif end == "silence":
        call(
            env.session_ended(
                "EXCEEDED_MAX_REPROMPTS", user=user, session=sid, at_ms=t, attributes=attributes
            )
        )


def record_traffic(
    seed: int = 7,
    sessions: int = 140,
    customers: int = 45,
    spread_ms: int = 100 * 60_000,
    rollout: tuple[int, int] | None = None,
) -> Traffic:
    """Run the simulation through the real recorder into moto and read the stream back.

    ``rollout``: ``(start, canary)`` offsets from ``TRAFFIC_START_MS`` in ms: the sample skill's
    release 2 takes over from release 1 then, behind a weighted alias (30% during the canary),
    so sessions are served by both and every figure is kept per release.
    """
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics import SkillMetrics
    from alexa_skill_metrics.aggregation.stream import lambda_record
    from alexa_skill_metrics.storage.table import create_table
    from sample_skill.app import SLOT_VALUES, build_handler, release_handlers
    from sample_skill.traffic import Rollout

    saved = dict(os.environ)
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
    )
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_table(client, "traffic")
            # the sample skill's own opt-in: its colour slot's unresolved values reach the value index
            metrics = SkillMetrics(
                table_name="traffic", pseudonym_key=KEY, client=client, slot_values=SLOT_VALUES
            )
            handler = build_handler(metrics)
            if rollout is not None:
                at, canary = rollout
                handler = Rollout(
                    at_ms=TRAFFIC_START_MS + at, canary_ms=canary, canary_share=0.3, seed=seed
                ).serve(release_handlers(metrics))
            simulate(handler, seed, sessions, customers, spread_ms)
            records = stream_records(client, "traffic", lambda_record)
            mark_cold_starts([r["dynamodb"]["NewImage"] for r in records])
            return Traffic(records)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def stream_records(
    client: Any, table: str, convert: Callable[..., dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, in the shape Lambda delivers."""
    from alexa_skill_metrics.aggregation.stream import lambda_record, streams_client

    streams = streams_client()
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    iterator = iterator["ShardIterator"]
    out: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            return out
        out.extend((convert or lambda_record)(r, arn) for r in page["Records"])
        iterator = page["NextShardIterator"]


def mark_cold_starts(items: Sequence[dict[str, Any]], every: int = 17) -> int:
    """Mark about one utterance in ``every`` as a container's first request, as the recorder notes it.

    The simulation runs in one process, so its recorder sees one cold start at most; real skills
    start containers now and then. Deterministic (by request id), so reruns see the same traffic.
    Returns how many were marked.
    """
    marked = 0
    for item in items:
        if item.get("request_type", {}).get("S") not in ("LaunchRequest", "IntentRequest"):
            continue
        if "handler_ms" not in item:
            continue
        digest = zlib.crc32(item["sk"]["S"].encode())
        if digest % every == 0:
            item["cs"] = {"BOOL": True}
            item["su"] = {"N": f"{150 + digest % 700}.250"}
            marked += 1
    return marked


@pytest.fixture(scope="session")
def traffic() -> Traffic:
    return record_traffic(rollout=(40 * 60_000, 30 * 60_000))


@pytest.fixture(scope="session")
def weeks_traffic() -> Traffic:
    """Customers coming back over five weeks: retention cohorts, and paths over many days."""
    day = 86_400_000
    return record_traffic(seed=11, sessions=80, customers=14, spread_ms=WEEKS_MS, rollout=(14 * day, 3 * day))


def batches(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def stored_rollups(
    client: Any, table: str, skill_id: str = DEMO_SKILL_ID, stage: str = "live"
) -> dict[RollupKey, Rollup]:
    """Every stored rollup of the skill in the traffic's range, read through ``RollupStore.query``."""
    store = RollupStore(table, client)
    found: dict[RollupKey, Rollup] = {}
    for granularity in GRANULARITIES:
        for intents in (False, True):
            for key, rollup in store.query(
                skill_id, stage, granularity, RANGE_START_MS, RANGE_END_MS, intents=intents
            ):
                assert key not in found
                found[key] = rollup
    return found


def summary(rollup: Rollup) -> dict[str, Any]:
    return {
        "utterances": rollup.utterances,
        "failed_utterances": rollup.failed_utterances,
        "prompts": rollup.prompts,
        "responded": rollup.responded,
        "tracked_utterances": rollup.tracked_utterances,
        "new_customers": rollup.new_customers,
        "requests_by_type": rollup.requests_by_type,
        "sessions_started": rollup.sessions_started,
        "session_ends": rollup.session_ends,
        "open_sessions": rollup.open_sessions,
        "drop_off": rollup.drop_off,
        "enablements": rollup.enablements,
        "retention": rollup.retention,
        "path_edges": rollup.path_edges,
        "transitions": rollup.transitions,
        "path_open": rollup.path_open,
        "customers": rollup.customers.count(),
        "latency_values": rollup.latency.total(),
        "latency_p50": rollup.latency.quantile(0.5) if rollup.latency.total() < 200 else None,
        "unhandled": rollup.unhandled,
        "terminations": rollup.terminations,
        "retries": rollup.retries,
        "unhandled_after": rollup.unhandled_after,
        "terminated_after": rollup.terminated_after,
        "no_response_after": rollup.no_response_after,
        "exited_after": rollup.exited_after,
        "no_response_exits_after": rollup.no_response_exits_after,
        "kept_open": rollup.kept_open,
        "slot_counts": rollup.slot_counts,
        "intents_confirmed": rollup.intents_confirmed,
        "intents_denied": rollup.intents_denied,
        **{
            name: getattr(rollup, name)
            for name in ("dialogs_started", "dialogs_completed", "dialogs_switched")
        },
        **{name: getattr(rollup, name) for name in DIALOG_MAPS},
        "launches": rollup.launches,
        "one_shots": rollup.one_shots,
        "cold_starts": rollup.cold_starts,
        "endpoint_values": rollup.endpoint_summary().total(),
        "endpoint_p50": rollup.endpoint_summary().quantile(0.5) if rollup.latency.total() < 200 else None,
    }


def assert_values_indexed(client: Any, table: str, events: Sequence[Event]) -> None:
    """The value index holds each event with unresolved values once, with its values (none else)."""
    from alexa_skill_metrics.storage.keys import event_sk
    from alexa_skill_metrics.storage.slot_values import KIND

    index = [i for i in table_items(client, table) if i.get("kind", {}).get("S") == KIND]
    got = sorted((i["sk"]["S"], i["uv"]["S"]) for i in index)
    expected = sorted((event_sk(e.timestamp_ms, e.request_id), e.uv) for e in events if e.uv)
    assert got == expected, (len(got), len(expected))


def assert_matches_fold(
    client: Any, table: str, events: Sequence[Event], *, leaving_out: tuple[str, ...] = ()
) -> None:
    """Stored rollups equal one clean pass of ``fold(events, exact=True)``: counts and customers exactly.

    ``leaving_out`` names rollup fields not compared (only for what a mechanism documents it does
    not keep; since ``rebuild`` recounts retention too, no test needs it).
    """

    # Retention counters are compared as each day's sum over locales: which locale's rollup holds
    # one depends on delivery order (retention.by_day), the figures do not.
    def seen(rollup: Rollup) -> dict[str, Any]:
        return {k: v for k, v in summary(rollup).items() if k not in (*leaving_out, "retention")}

    empty = seen(new_rollup(exact=True))
    all_stored = stored_rollups(client, table)
    folded = fold(events, exact=True)
    if "retention" not in leaving_out:
        assert by_day(all_stored.items()) == by_day(folded.items())
    # An item whose figures all went back to zero (a retention counter moved to an earlier day
    # when an earlier utterance arrived late) holds nothing a report could see.
    stored = {k: r for k, r in all_stored.items() if seen(r) != empty}
    reference = {k: r for k, r in folded.items() if seen(r) != empty}
    assert stored, "nothing was stored"
    assert set(stored) == set(reference), {
        "missing": sorted(map(str, set(reference) - set(stored)))[:5],
        "extra": sorted(map(str, set(stored) - set(reference)))[:5],
    }
    for key, expected in reference.items():
        got = seen(stored.get(key, new_rollup()))
        assert got == seen(expected), (
            key,
            {k: (got[k], v) for k, v in seen(expected).items() if got[k] != v},
        )
    assert any(seen(r) != empty for r in stored.values())
