"""A top skill's peak behind the table: the real aggregator against DynamoDB's limits. Prints figures.

Run: ``python bench/bench_scale.py [--seconds 3] [--rates 5000,10000,25000] [--concurrency 16] [--backlog]``

What it simulates, on a virtual clock (``alexa_skill_metrics.simulation``), so that a few seconds of
a 25,000 requests-per-second peak run on a 2-core machine in minutes, with every timing as
it would be on AWS:

1. Traffic: a top skill, ``--rate`` requests per second for ``--seconds`` (plus the sessions
   already open when the window starts), 3 locales, 20 intents (Zipf-like popularity), sessions
   of customers drawn from 1,000,000 monthly customers, of whom ``--new-customers`` (5 %) are
   seen for the first time; the others already have their customer item (first utterance 30
   days ago), as returning customers of a live skill do.
2. The recorder's event writes: one ``PutItem`` of about 0.5 KB per request, after the response,
   into ``keys.event_pk`` (the skill's write shards). Each event partition key is one partition:
   1,000 write units per second; a throttled event write is retried once after 5-25 ms, then
   dropped (``storage.writer``: ``ATTEMPTS``, ``_RETRY_PAUSE_S``). Dropped events are not in the
   stream and not in the reference fold.
3. DynamoDB Streams: each event partition key's records land on one stream shard, in order,
   readable ``--stream-lag`` seconds after the write (an assumption: AWS documents "near-real
   time" only).
4. Lambda's event source mapping: one lane per shard (``ParallelizationFactor`` 1; every event
   partition key on its own partition at these rates), polling 4 times per second, invoking
   with ``BatchSize`` records (``--batch-size``, 5,000 in template.yaml) or when
   ``MaximumBatchingWindowInSeconds`` (``--window``, 60 in template.yaml) expires since the
   batch's first record; a batch stops short at 6 MB of payload (at the end of the simulated
   window, the traffic is taken to go on at the same rate, so the last batch fills as it
   would). A partial batch response retries from the lowest failed record (``MaximumRetryAttempts`` 5,
   then the rest goes to the on-failure destination and is counted as lost); a function error
   bisects the batch. Each lane is its own container: its own ``Aggregator`` and client.
5. The aggregator itself: ``handler.process_records``, unchanged, with a ``LimitedClient`` for
   DynamoDB (``simulation.client``: per-partition write and read units, item size, atomic conditional
   writes, botocore's retries of throttled calls, in-region latency) over in-process moto, and
   its CPU time scaled to the aggregator's share of a vCPU (``AGGREGATOR_MB``). Its writes within a batch run
   ``--concurrency`` at a time (16, the aggregator's default) on ``simulation.client.VirtualExecutor``:
   their round trips overlap, their CPU time shares the lane's one vCPU share.

Printed per rate: events per second aggregated, busiest lane's utilisation, conflicts and
throttle retries per batch, throttled requests (and those the client gave up on), peak write
units per second on the hottest item and on the hottest event partition, the largest rollup
item, request-to-report delay (request time to the end of the invocation that applied it; a
report reads rollups with eventually consistent reads, typically consistent within a second),
and whether the stored rollups equal a clean ``fold(events, exact=True)``: every counter and map
exactly, distinct customers within the sketches' error, latency counts exactly.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lambda_fn"))

from alexa_skill_metrics.model import SESSION_ENDED, SKILL_ENABLED, Event, Outcome
from alexa_skill_metrics.simulation.client import LimitedClient, VirtualExecutor
from alexa_skill_metrics.simulation.clock import VirtualClock
from alexa_skill_metrics.simulation.limits import Limits, item_size
from alexa_skill_metrics.simulation.table import MemoryTable
from bench_aggregator import SKILL, _event, stream_records

START_MS = 1_767_609_600_000  # 2026-01-05T10:40:00Z: the simulated peak
DAY_MS = START_MS // 86_400_000 * 86_400_000
TABLE = "bench-scale"
LOCALES = (("en-US", 60), ("en-GB", 25), ("de-DE", 15))
INTENTS = ["LaunchRequest"] + [f"Intent{i:02d}" for i in range(1, 20)]
CUSTOMERS = 1_000_000
SESSION_LEAD_S = 150.0  # sessions started this long before the window still send requests in it
SESSION_REQUESTS = 3.95  # mean requests per session of ``_session`` (measured over 20,000 sessions)
POLL_S = 0.25  # Lambda polls each stream shard 4 times per second
BATCH_SIZE = 5000  # template.yaml
CONCURRENCY = 16  # aggregation.apply.DEFAULT_CONCURRENCY
PAYLOAD_LIMIT = 6 * 1024 * 1024  # a synchronous invocation's payload
MAX_RETRY_ATTEMPTS = 5  # template.yaml
INVOKE_OVERHEAD_S = 0.015  # a warm invocation's own cost (an assumption)
AGGREGATOR_MB = 1769  # template.yaml: the aggregator's MemorySize
CPU_SCALE = 1769 / AGGREGATOR_MB  # Lambda gives a whole vCPU at 1,769 MB, proportionally less below
RECORDER_ATTEMPTS = 2
RECORDER_PAUSE_S = (0.005, 0.025)


# --- traffic ----------------------------------------------------------------------------------------


def traffic(rate: float, seconds: float, seed: int) -> list[Event]:
    """A top skill's requests with ``timestamp_ms`` in the window, in time order."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(INTENTS) - 1)]  # Zipf-like intent popularity
    events: list[Event] = []
    t = -SESSION_LEAD_S
    n = 0
    while t < seconds:
        t += rng.expovariate(rate / SESSION_REQUESTS)
        n += 1
        customer = f"c{rng.randrange(CUSTOMERS):07d}"
        locale = rng.choices([loc for loc, _ in LOCALES], weights=[w for _, w in LOCALES])[0]
        at = START_MS + int(t * 1000)
        for event in _session(rng, f"s{n}", customer, locale, at, weights):
            if START_MS <= event.timestamp_ms < START_MS + seconds * 1000:
                events.append(event)
    events.sort(key=lambda e: e.timestamp_ms)
    return events


def _session(
    rng: random.Random, sid: str, customer: str, locale: str, t: int, weights: list[float]
) -> list[Event]:
    common: dict[str, Any] = {"customer": customer, "session_id": sid, "locale": locale, "new_session": False}
    launch = {**common, "new_session": True, "should_end_session": False, "session_start_ms": t}
    out = [_event(f"{sid}-0", "LaunchRequest", t, handler_ms=rng.uniform(5, 40), **launch)]
    stamp = {"session_start_ms": t, "previous_ms": t, "last_intent": "LaunchRequest"}
    if rng.random() < 0.01:
        out.append(_event(f"{sid}-enable", SKILL_ENABLED, t - 2_000, customer=customer))
    for i in range(1, rng.randrange(2, 7)):
        t += rng.randrange(3_000, 25_000)
        intent = rng.choices(INTENTS[1:], weights=weights)[0]
        outcome = rng.choices([Outcome.RESPONSE, Outcome.HANDLED, Outcome.ESCAPED], weights=[30, 2, 1])[0]
        stop = rng.random() < 0.15
        should_end = stop if outcome is not Outcome.ESCAPED else None
        turn = {"intent": intent, "outcome": outcome, "should_end_session": should_end, **stamp, **common}
        out.append(_event(f"{sid}-{i}", "IntentRequest", t, handler_ms=rng.uniform(5, 120), **turn))
        if outcome is Outcome.ESCAPED:
            out.append(_event(f"{sid}-end", SESSION_ENDED, t + 900, end_reason="ERROR", **stamp, **common))
            return out
        if stop:
            return out
        stamp = {**stamp, "previous_ms": t, "last_intent": intent}
    reason = rng.choice(["USER_INITIATED", "EXCEEDED_MAX_REPROMPTS", None])
    if reason is not None or rng.random() < 0.5:
        out.append(_event(f"{sid}-end", SESSION_ENDED, t + 8_000, end_reason=reason, **stamp, **common))
    return out


# --- the recorder's writes and the stream -------------------------------------------------------------


@dataclass
class Written:
    events: list[Event]  # the ones that reached the table, in write order
    write_s: list[float]  # virtual write time of each
    dropped: int
    throttled: int
    peak_wcu: int
    peak_pk: str


def write_events(events: list[Event], seed: int) -> Written:
    """The recorder's PutItems against per-partition limits, in virtual time (no threads needed)."""
    from alexa_skill_metrics.storage.codec import event_partition_key, event_to_item

    rng = random.Random(seed)
    limits = Limits()
    queue = [
        ((e.received_ms + (e.handler_ms or 0)) / 1000 - START_MS / 1000 + 0.005, i, 1)
        for i, e in enumerate(events)
    ]
    heapq.heapify(queue)
    units = {
        i: max(1, math.ceil(item_size(event_to_item(e, retention_days=90)) / 1024))
        for i, e in enumerate(events)
    }
    done: list[tuple[float, int]] = []
    dropped = throttled = 0
    while queue:
        at, i, attempt = heapq.heappop(queue)
        pk = event_partition_key(events[i])
        if limits.try_write(pk, units[i], at):
            done.append((at, i))
            continue
        throttled += 1
        if attempt < RECORDER_ATTEMPTS:
            heapq.heappush(queue, (at + rng.uniform(*RECORDER_PAUSE_S), i, attempt + 1))
        else:
            dropped += 1
    done.sort()
    peak, pk = limits.peak_write()
    return Written([events[i] for _, i in done], [at for at, _ in done], dropped, throttled, peak, str(pk))


# --- Lambda's event source mapping ---------------------------------------------------------------


@dataclass
class LaneStats:
    batches: list[tuple[int, int, int]] = field(default_factory=list)  # (events, conflicts, throttle retries)
    delays: list[float] = field(default_factory=list)
    lost: int = 0
    function_errors: int = 0
    busy_s: float = 0.0
    cpu_s: float = 0.0


def lane(
    records: list[tuple[float, dict[str, Any], float]],
    clock: VirtualClock,
    client: LimitedClient,
    window_s: float,
    rate: float,
    stats: LaneStats,
    phase: float,
    batch_size: int,
    concurrency: int,
    split: str = "adaptive",
) -> Any:
    """One shard's poller: batches of its records in order, Lambda's retries and bisection."""
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.aggregation.handler import process_records

    aggregator = Aggregator(
        TABLE,
        client,  # type: ignore[arg-type]
        clock=lambda: START_MS / 1000 + clock.now,
        concurrency=concurrency,
        executor=VirtualExecutor(clock, client, concurrency),
        rollup_parts=8,
        split=split,
    )

    def body() -> None:
        pos, attempts, limit = 0, 0, batch_size
        while pos < len(records):
            first_visible = records[pos][0]
            end = pos + limit
            if end <= len(records):
                full_at = records[end - 1][0]
            else:  # the traffic goes on past the window: the batch fills at the lane's rate
                full_at = records[-1][0] + (end - len(records)) / rate
            ready = max(clock.now, min(full_at, first_visible + window_s))
            invoke_at = phase + math.ceil((ready - phase) / POLL_S) * POLL_S
            clock.sleep_until(invoke_at)
            batch = [r for r in records[pos:end] if r[0] <= clock.now] or [records[pos]]
            payload = list(itertools.accumulate(len(json.dumps(raw)) for _, raw, _ in batch))
            batch = batch[: max(1, bisect.bisect_right(payload, PAYLOAD_LIMIT))]  # Lambda's 6 MB
            started = clock.now
            clock.sleep_until(clock.now + INVOKE_OVERHEAD_S)
            retries_before = client.stats.retries
            client.mark_cpu()
            try:
                failed, result = process_records([raw for _, raw, _ in batch], aggregator)
            except Exception:
                client.spend_cpu()
                stats.function_errors += 1
                limit = max(1, len(batch) // 2)  # BisectBatchOnFunctionError
                attempts += 1
                continue
            client.spend_cpu()
            stats.busy_s += clock.now - started
            stats.cpu_s = client.stats.cpu_s
            stats.batches.append((len(batch), result.conflicts, client.stats.retries - retries_before))
            failed_set = set(failed)
            first = next(
                (i for i, (_, raw, _) in enumerate(batch) if raw["dynamodb"]["SequenceNumber"] in failed_set),
                len(batch),
            )
            stats.delays += [clock.now - request_s for _, _, request_s in batch[:first]]
            pos += first
            limit = batch_size
            if first == len(batch):
                attempts = 0
                continue
            attempts += 1
            if attempts > MAX_RETRY_ATTEMPTS:  # the rest of the batch goes to the on-failure destination
                stats.lost += len(batch) - first
                pos += len(batch) - first
                attempts = 0

    return body


# --- one run ----------------------------------------------------------------------------------------


def run(
    rate: float,
    seconds: float,
    window_s: float,
    stream_lag_s: float,
    seed: int,
    backend: str,
    new_share: float = 0.05,
    batch_size: int = BATCH_SIZE,
    backlog: bool = False,
    concurrency: int = CONCURRENCY,
    split: str = "adaptive",
) -> dict[str, Any]:
    import contextlib

    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.storage.codec import event_partition_key
    from alexa_skill_metrics.storage.table import ATTRIBUTE_DEFINITIONS, KEY_SCHEMA

    wall = time.perf_counter()
    events = traffic(rate, seconds, seed)
    written = write_events(events, seed)
    raws = stream_records(written.events)  # sequence numbers in write order
    by_pk: dict[str, list[tuple[float, dict[str, Any], float]]] = defaultdict(list)
    for event, at, raw in zip(written.events, written.write_s, raws, strict=True):
        request_s = event.timestamp_ms / 1000 - START_MS / 1000
        visible = 0.0 if backlog else at + stream_lag_s
        by_pk[event_partition_key(event)].append((visible, raw, request_s))
    with mock_aws() if backend == "moto" else contextlib.nullcontext():
        if backend == "moto":
            moto: Any = boto3.client("dynamodb", region_name="us-east-1")
            # The stream is simulated here, so moto need not record one (it is slow).
            moto.create_table(
                TableName=TABLE,
                KeySchema=KEY_SCHEMA,
                AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
                BillingMode="PAY_PER_REQUEST",
            )
        else:
            moto = MemoryTable()
        history = seed_customers(moto, written.events, new_share, seed)
        clock = VirtualClock()
        limits = Limits()
        lanes: list[LaneStats] = []
        clients: list[LimitedClient] = []
        bodies = []
        rng = random.Random(seed)
        for n, (_, records) in enumerate(sorted(by_pk.items())):
            client = LimitedClient(moto, limits, clock, cpu_scale=CPU_SCALE, seed=seed + n)
            clients.append(client)
            stats = LaneStats()
            lanes.append(stats)
            lane_rate = len(records) / seconds
            bodies.append(
                lane(
                    records,
                    clock,
                    client,
                    window_s,
                    lane_rate,
                    stats,
                    rng.uniform(0, POLL_S),
                    batch_size,
                    concurrency,
                    split,
                )
            )
        clock.run(bodies)
        exact, worst_customers = compare(moto, history + written.events)
    rollup_sizes = [size for (pk, _), size in limits.sizes.items() if pk.startswith("ROLL#")]
    batches = [b for s in lanes for b in s.batches]
    delays = sorted(d for s in lanes for d in s.delays)
    peak_item, hot_key = limits.peak_write(lambda key: key[0].startswith("ROLL#"))
    return {
        "rate": rate,
        "backend": backend,
        "backlog": backlog,
        "batch_size": batch_size,
        "concurrency": concurrency,
        "split": split,
        "new_share": new_share,
        "events": len(events),
        "lanes": len(lanes),
        "dropped": written.dropped,
        "event_throttled": written.throttled,
        "event_peak": written.peak_wcu,
        "aggregated_per_s": len(delays) / seconds,  # applied events per second of traffic
        "busiest": max(s.busy_s for s in lanes) / max(clock.now, seconds),
        "cpu_share": sum(s.cpu_s for s in lanes) / max(sum(s.busy_s for s in lanes), 1e-9),
        "calls_per_batch": {
            op: n / max(len(batches), 1) for op, n in sum((c.stats.calls for c in clients), Counter()).items()
        },
        "cost": cost_per_million(len(written.events), limits, len(batches), sum(s.busy_s for s in lanes)),
        "capacity": sum(sum(b[0] for b in s.batches) / s.busy_s for s in lanes if s.busy_s),
        "batches": len(batches),
        "events_per_batch": mean(b[0] for b in batches),
        "conflicts": (mean(b[1] for b in batches), max(b[1] for b in batches)),
        "retries": (mean(b[2] for b in batches), max(b[2] for b in batches)),
        "throttled": dict(limits.throttled),
        "gave_up": dict(limits.gave_up),
        "lost": sum(s.lost for s in lanes),
        "function_errors": sum(s.function_errors for s in lanes),
        "peak_item": peak_item,
        "hot_key": hot_key,
        "largest_rollup": max(rollup_sizes),
        "rollup_items": len(rollup_sizes),
        "delay": (delays[len(delays) // 2], delays[int(len(delays) * 0.99)], delays[-1]),
        "exact": exact,
        "customers_error": worst_customers,
        "virtual_s": clock.now,
        "wall_s": time.perf_counter() - wall,
    }


def seed_customers(table: Any, events: list[Event], new_share: float, seed: int) -> list[Event]:
    """Make all but ``new_share`` of the window's customers returning ones; return their history.

    A returning customer has a customer item whose first utterance was 30 days ago (written
    straight into the store, outside the limits); the history events are what a clean fold
    needs to agree that they are not new today.
    """
    from alexa_skill_metrics.aggregation.rollup import FirstUtterance
    from alexa_skill_metrics.storage.customers import CustomerState, state_to_item

    rng = random.Random(seed)
    locales = {}
    for event in events:
        if event.customer is not None and event.intent_key is not None:
            locales.setdefault(event.customer, event.locale or "en-US")
    history = []
    for customer, locale in sorted(locales.items()):
        if rng.random() < new_share:
            continue
        first = _event(
            f"first-{customer}",
            "LaunchRequest",
            START_MS - 30 * 86_400_000,
            customer=customer,
            locale=locale,
            new_session=True,
        )
        history.append(first)
        utterance = FirstUtterance.of(first)
        day = first.timestamp_ms // 86_400_000  # the active day the history event gives them
        state = CustomerState(SKILL, "live", customer, utterance, days=[day])
        table.put_item(TableName=TABLE, Item=state_to_item(state))
    return history


def compare(moto: Any, events: list[Event]) -> tuple[bool, float]:
    """Stored rollups (read as reports read them) against one clean exact fold of ``events``."""
    from alexa_skill_metrics.aggregation.retention import by_day
    from alexa_skill_metrics.aggregation.rollup import fold
    from alexa_skill_metrics.periods import GRANULARITIES
    from alexa_skill_metrics.storage.rollups import RollupStore

    store = RollupStore(TABLE, moto)
    stored = {}
    for granularity in GRANULARITIES:
        for intents in (False, True):
            for key, rollup in store.query(
                SKILL, "live", granularity, DAY_MS, DAY_MS + 86_400_000, intents=intents
            ):
                stored[key] = rollup
    reference = {k: r for k, r in fold(events, exact=True).items() if k.bucket_ms >= DAY_MS}
    exact = set(stored) == set(reference)
    # each day's retention counters over its locales (which locale holds one is delivery order's)
    exact = exact and by_day(stored.items()) == by_day(reference.items())
    worst = 0.0
    for key, want in reference.items():
        got = stored.get(key)
        if got is None:
            continue
        if _counters(got) != _counters(want) or got.latency.total() != want.latency.total():
            exact = False
        truth = want.customers.count()
        if truth:
            worst = max(worst, abs(got.customers.count() - truth) / truth)
    return exact and worst <= 0.05, worst


def _counters(rollup: Any) -> tuple[Any, ...]:
    """Every field of a rollup but its sketches (compared apart, within their error)."""
    from dataclasses import fields

    return tuple(getattr(rollup, f.name) for f in fields(rollup) if f.name not in _COMPARED_APART)


# Sketches are compared within their error, retention counters by day (``compare``).
_COMPARED_APART = ("customers", "latency", "endpoint", "retention")


# US East list prices (README, "What it costs"): on-demand DynamoDB, Lambda arm64.
PRICE_WRU, PRICE_RRU = 0.625e-6, 0.125e-6
PRICE_INVOCATION, PRICE_GB_S = 0.20e-6, 0.0000133334
AGGREGATOR_GB = AGGREGATOR_MB / 1024


def cost_per_million(events: int, limits: Limits, invocations: int, busy_s: float) -> dict[str, float]:
    """The aggregator's dollars per million events: its DynamoDB units and its Lambda time."""
    scale = 1_000_000 / max(events, 1)
    return {
        "wru": limits.write_units * scale,
        "rru": limits.read_units * scale,
        "dynamodb": (limits.write_units * PRICE_WRU + limits.read_units * PRICE_RRU) * scale,
        "lambda": (invocations * PRICE_INVOCATION + busy_s * AGGREGATOR_GB * PRICE_GB_S) * scale,
    }


def report(r: dict[str, Any]) -> None:
    throttled = ", ".join(f"{k} {v:,}" for k, v in sorted(r["throttled"].items())) or "none"
    gave_up = ", ".join(f"{k} {v:,}" for k, v in sorted(r["gave_up"].items())) or "none"
    p50, p99, worst = r["delay"]
    cost = r["cost"]
    backlog = ", all as a backlog" if r["backlog"] else ""
    print(
        f"\n{r['rate']:,.0f} requests/s ({r['backend']}, BatchSize {r['batch_size']:,}, "
        f"{r['concurrency']} writes in flight, rollup parts {r['split']}, "
        f"{r['new_share']:.0%} new customers{backlog}): {r['events']:,} events, {r['lanes']} stream lanes, "
        f"{r['virtual_s']:.1f} s simulated in {r['wall_s']:.0f} s wall"
    )
    lines = [
        (
            "event writes throttled / dropped",
            f"{r['event_throttled']:,} / {r['dropped']:,}"
            f"   (hottest event partition {r['event_peak']:,} WCU/s)",
        ),
        (
            "events aggregated per second",  # of the simulated traffic window
            f"{r['aggregated_per_s']:,.0f}   (busiest lane busy {r['busiest']:.0%})",
        ),
        ("aggregation capacity", f"{r['capacity']:,.0f} events/s   (every lane busy all the time)"),
        ("batch time computing", f"{r['cpu_share']:.0%}   (the rest waits on DynamoDB round trips)"),
        (
            "DynamoDB calls per batch",
            ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r["calls_per_batch"].items())),
        ),
        ("batches, events per batch", f"{r['batches']:,}, {r['events_per_batch']:,.0f}"),
        ("version conflicts per batch", f"mean {r['conflicts'][0]:.1f}, max {r['conflicts'][1]}"),
        ("throttle retries per batch", f"mean {r['retries'][0]:.2f}, max {r['retries'][1]}"),
        ("throttled requests", throttled),
        (
            "throttled on every attempt",
            f"{gave_up}; records lost {r['lost']:,}, function errors {r['function_errors']}",
        ),
        ("peak write units/s, one item", f"{r['peak_item']:,}   ({r['hot_key'][0]} {r['hot_key'][1]})"),
        ("largest rollup item", f"{r['largest_rollup'] / 1024:.1f} KB of {r['rollup_items']:,} items"),
        ("request-to-report delay", f"p50 {p50:.1f} s, p99 {p99:.1f} s, max {worst:.1f} s"),
        (
            "aggregator cost per M events",
            f"${cost['dynamodb'] + cost['lambda']:.2f}: DynamoDB ${cost['dynamodb']:.2f} "
            f"({cost['wru'] / 1e6:.2f} WRU, {cost['rru'] / 1e6:.2f} RRU per event), "
            f"Lambda ${cost['lambda']:.2f}",
        ),
        (
            "rollups equal a clean fold",
            f"{'yes' if r['exact'] else 'NO'}   (distinct customers within {r['customers_error']:.1%})",
        ),
    ]
    for label, value in lines:
        print(f"  {label:<32} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="simulated seconds of peak traffic")
    parser.add_argument("--rates", default="5000,10000,25000", help="requests per second, comma separated")
    parser.add_argument("--window", type=float, default=60.0, help="MaximumBatchingWindowInSeconds")
    parser.add_argument("--stream-lag", type=float, default=0.5, help="seconds from write to stream record")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="every record readable at once (catching up after an outage): measures the ceiling",
    )
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help="the event source mapping's BatchSize"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        help="the aggregator's writes in flight per batch (1: one after another, as before)",
    )
    parser.add_argument(
        "--new-customers",
        type=float,
        default=0.05,
        help="share of the window's customers never seen before (the rest have a customer item)",
    )
    parser.add_argument(
        "--backend",
        choices=("memory", "moto"),
        default="memory",
        help="the store behind the limits: a dict (fast) or in-process moto (about 100 events/s)",
    )
    parser.add_argument(
        "--split",
        choices=("adaptive", "always"),
        default="adaptive",
        help="rollup parts: split once parallel lanes race for a rollup, or every rollup in 8 parts",
    )
    args = parser.parse_args()
    print(__doc__.splitlines()[0])
    for rate in (float(r) for r in args.rates.split(",")):
        report(
            run(
                rate,
                args.seconds,
                args.window,
                args.stream_lag,
                args.seed,
                args.backend,
                args.new_customers,
                args.batch_size,
                args.backlog,
                args.concurrency,
                args.split,
            )
        )


if __name__ == "__main__":
    main()
