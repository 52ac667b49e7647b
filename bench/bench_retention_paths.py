"""Retention and paths reports from day rollups vs from raw events. Prints figures; asserts nothing.

Run: ``python bench/bench_retention_paths.py [--customers 10000] [--weeks 12] [--events 360000]``

Traffic: ``bench_aggregator.traffic`` (launches, intents, a reprompting intent, failures, skill
and user ends, silences, two locales) spread over ``--weeks`` weeks, each session from a random
one of ``--customers`` customers, so customers come back across the weeks; events carry the
recorder's path stamp.

1. The day rollups the aggregator stores for these events (``fold`` with sketches, ``P1D``, all
   intents: the items retention and paths read) are loaded into in-process moto.
2. The 12-week retention report (weekly cohorts, and daily cohorts over the same range) and the
   path tree of the whole range are built from those rollups (``StoredRollups``: items read, time)
   and recomputed from the raw events (``RecomputedRollups`` over the events held in memory: the
   items it would read from the table, and the fold's time; reading them through DynamoDB would
   come on top).

3. The aggregator's writes for the same traffic (``--cost-days``, a slice of whole days, since
   in-process moto aggregates a few hundred events a second): customer items are seeded with
   what the days before the slice left (first utterance, active days), then the slice's events
   go through the Lambda handler (``handler.process_records``, the real ``Aggregator``) as
   the event source mapping batches one stream shard's records: a batch closes at ``BatchSize``
   records or ``MaximumBatchingWindowInSeconds`` after its first record (template.yaml: 5,000
   and 60 s). Customers get pseudonyms of the recorder's length (22 characters). Writes and
   write units per 1,000 events are printed without the new state and what each part of it
   adds (``bench_aggregator.CallMeter``: customer active days, retention counters, paths and
   friction). Twice in one run (``--split both``): every rollup in 8 fixed parts
   (``Aggregator(split="always")``, the layout before adaptive parts) and adaptive parts.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import time
from dataclasses import replace
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_aggregator import (  # (it puts lambda_fn on sys.path)
    SKILL,
    START_MS,
    WRITES,
    CallMeter,
    stream_records,
    traffic,
)
from bench_reporting import ReplayClient

TABLE = "bench-retention-paths"
DAY_MS = 86_400_000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--events", type=int, default=360_000, help="about 8 sessions per customer")
    parser.add_argument(
        "--cost-days",
        default="35:42",
        help="the days (0-based, first:end) whose events go through the aggregator; '' for none",
    )
    parser.add_argument("--no-reports", action="store_true", help="measure the aggregator's writes only")
    parser.add_argument("--batch-size", type=int, default=5000, help="the event source mapping's BatchSize")
    parser.add_argument("--window", type=float, default=60.0, help="MaximumBatchingWindowInSeconds")
    parser.add_argument(
        "--split",
        choices=("both", *SPLITS),
        default="both",
        help="rollup parts: fixed (every rollup in 8 parts, as before), adaptive (split once batches race)",
    )
    args = parser.parse_args()
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)

    from alexa_skill_metrics.aggregation.rollup import fold
    from alexa_skill_metrics.model import ALL_INTENTS
    from alexa_skill_metrics.storage.rollups import StoredRollup, rollup_to_item

    began = time.perf_counter()
    days = args.weeks * 7
    events = [
        e
        for e in traffic(args.events, 0, args.customers, days=days)
        if e.timestamp_ms < START_MS + days * DAY_MS
    ]
    customers = len({e.customer for e in events if e.is_utterance})
    print(f"traffic: {len(events):,} events over {args.weeks} weeks from {customers:,} customers "
          f"({time.perf_counter() - began:.1f} s to generate)")  # fmt: skip
    if not args.no_reports:
        began = time.perf_counter()
        rollups = fold(events, granularities=("P1D",))
        items = [rollup_to_item(StoredRollup(k, r)) for k, r in rollups.items() if k.intent == ALL_INTENTS]
        elapsed = time.perf_counter() - began
        print(f"stored day rollups (all intents): {len(items):,} items, folded in {elapsed:.1f} s")
        measure(items, events, days)
    if args.cost_days:
        first, _, end = args.cost_days.partition(":")
        figures = {}
        for split in SPLITS if args.split == "both" else (args.split,):
            figures[split] = aggregator_cost(
                events, int(first), int(end or int(first) + 1), args.batch_size, args.window, split
            )
        if len(figures) == 2:
            print("\nper 1,000 events, the same slice: writes / write units / rollup items read")
            for split, (writes, units, read) in figures.items():
                print(f"  {SPLITS[split]:<44} {writes:>8.1f} / {units:>8.1f} / {read:>8.1f}")


def measure(items: list[Any], events: list[Any], days: int) -> None:
    """Load the day rollups into moto and print each report from them and from the raw events."""
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.reporting import EventList, RecomputedRollups, Reporter, StoredRollups
    from alexa_skill_metrics.reporting.params import format_time
    from alexa_skill_metrics.storage.rollups import RollupStore
    from alexa_skill_metrics.storage.table import create_table

    end_ms = START_MS + days * DAY_MS
    monday = START_MS - START_MS % DAY_MS  # 2026-01-05 is a Monday
    window = {"startTime": format_time(monday), "endTime": format_time(end_ms)}
    reports: list[tuple[str, Any]] = [
        (f"retention, {days // 7} weekly cohorts", lambda r: r.retention(SKILL, window)),
        (f"retention, {days} daily cohorts", lambda r: r.retention(SKILL, {**window, "cohort": "day"})),
        (f"paths, {days} days", lambda r: r.paths(SKILL, window)),
        (f"paths, {days} days, one locale", lambda r: r.paths(SKILL, {**window, "locale": "de-DE"})),
    ]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        for start in range(0, len(items), 25):
            client.batch_write_item(
                RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            )
        print(f"\n{'report':<34}|{'from day rollups':^31}|{'recomputed from raw events':^30}| same")
        print(f"{'':<34}|{'items read':>12}{'cpu ms':>8}{'moto ms':>9}  |{'items read':>14}{'cpu ms':>14}  |")
        for label, run in reports:
            store = RollupStore(TABLE, ReplayClient(client))  # type: ignore[arg-type]
            stored = Reporter(StoredRollups(store), clock=lambda: end_ms)
            began = time.perf_counter()
            run(stored)  # through moto (its Query answers are kept)
            moto_ms = (time.perf_counter() - began) * 1000
            items_read = store.items_read
            began = time.perf_counter()
            from_rollups = run(stored)  # the same answers replayed: this package's own time
            stored_ms = (time.perf_counter() - began) * 1000
            feed = EventList(events)
            recomputed = Reporter(RecomputedRollups(feed, since_ms=START_MS), clock=lambda: end_ms)
            began = time.perf_counter()
            from_events = run(recomputed)
            events_ms = (time.perf_counter() - began) * 1000
            same = "yes" if from_rollups == from_events else "NO"
            rollup_figures = f"{items_read:>12,}{stored_ms:>8,.0f}{moto_ms:>9,.0f}"
            print(f"{label:<34}|{rollup_figures}  |{feed.items_read:>14,}{events_ms:>14,.0f}  | {same}")
    print("""
items read: DynamoDB items a report reads (day rollups: days x locales, whatever the number of customers
  or events; recomputation: every event since the recording began, held in memory here, so its time
  leaves out reading them from DynamoDB). cpu ms: this package's own time (for rollups: decoding the
  items and building the report from Query answers replayed from memory). moto ms: the first run,
  through in-process moto, whose Query with a projection is far slower than DynamoDB's one round trip.""")


# Aggregator(split=...) -> label: the layout before adaptive parts, and now.
SPLITS = {"always": "before: every rollup in 8 parts (split='always')", "adaptive": "after: adaptive parts"}


def aggregator_cost(
    events: list[Any], first_day: int, end_day: int, batch_size: int, window_s: float, split: str
) -> tuple[float, float, float]:
    """Feed days ``[first_day, end_day)`` to the aggregator in Lambda's batches; print what it wrote.

    Returns writes, write units and rollup items read per 1,000 events.
    """
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.aggregation.handler import process_records
    from alexa_skill_metrics.storage.table import create_table

    pseudonyms = {c: _pseudonym(c) for c in {e.customer for e in events if e.customer is not None}}
    events = [e if e.customer is None else replace(e, customer=pseudonyms[e.customer]) for e in events]
    start, end = START_MS + first_day * DAY_MS, START_MS + end_day * DAY_MS
    before = [e for e in events if e.timestamp_ms < start]
    by_day: dict[int, list[Any]] = {}
    for e in events:
        if start <= e.timestamp_ms < end:
            by_day.setdefault((e.timestamp_ms - START_MS) // DAY_MS, []).append(e)
    now = [0.0]  # the aggregator's wall clock: when the batch is handed over (the moves' and acts' age)
    shape = f"BatchSize {batch_size:,}, {window_s:.0f} s window, one stream shard"
    print(f"\naggregator, {SPLITS[split]}, days {first_day}-{end_day - 1} (0-based) in Lambda's batches "
          f"({shape}), moto:")  # fmt: skip
    print(f"{'day':>5}{'events':>8}{'batches':>9}{'ev/batch':>9}{'writes/1k':>11}{'units/1k':>10}"
          f"{'new state: writes':>19}{'units':>8}")  # fmt: skip
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        meter = CallMeter(client)
        seeded = seed_customers(client, before)
        meter.reset()  # the seeding's writes are not the aggregator's (the meter remembers the items)
        aggregator = Aggregator(TABLE, client, clock=lambda: now[0], rollup_parts=8, split=split)
        batched = 0
        began = time.perf_counter()
        for day, day_events in sorted(by_day.items()):
            was = _figures(meter)
            records = stream_records(day_events)  # one day's records: sequence numbers in stream order
            batches = lambda_batches([e.received_ms / 1000 for e in day_events], batch_size, window_s)
            for lo, hi, closed_s in batches:
                now[0] = closed_s
                failed, _ = process_records(records[lo:hi], aggregator)
                if failed:
                    raise RuntimeError(f"{len(failed)} records failed on day {day}")
            n, batched = len(day_events), batched + len(batches)
            writes, units, base_writes, base_units, new_writes, new_units = (
                now_ - then for now_, then in zip(_figures(meter), was, strict=True)
            )
            print(f"{day:>5}{n:>8,}{len(batches):>9,}{n / len(batches):>9.1f}{writes * 1000 / n:>11.1f}"
                  f"{units * 1000 / n:>10.1f}{_added(new_writes, base_writes):>19}"
                  f"{_added(new_units, base_units):>8}")  # fmt: skip
        elapsed = time.perf_counter() - began
        items = rollup_items(client)
    n = sum(len(day_events) for day_events in by_day.values())
    writes, units = _figures(meter)[:2]
    print(f"\n  the slice: {n:,} events in {batched:,} batches ({n / batched:.1f} events a batch), "
          f"{seeded:,} customers seeded from {len(before):,} earlier events; {elapsed:.0f} s")  # fmt: skip
    print(f"    writes / write units per 1,000 events  {writes * 1000 / n:>10.1f} / {units * 1000 / n:.1f}")
    print("\n".join(meter.new_state_lines(n)))
    read = aggregator.rollups.items_read * 1000 / n
    print(f"    rollup items read per 1,000 events     {read:>10.1f}")
    print(f"    rollup items stored                    {len(items):>10,}   "
          f"(rollups {len({_rollup_of(item) for item in items}):,})")  # fmt: skip
    return writes * 1000 / n, units * 1000 / n, read


def rollup_items(client: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("scan").paginate(TableName=TABLE)
    return [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith("ROLL#")]


def _rollup_of(item: dict[str, Any]) -> tuple[str, str]:
    """A rollup item's rollup: its keys without the part."""
    return item["pk"]["S"], "#".join(item["sk"]["S"].split("#", 3)[:3])


def _figures(meter: CallMeter) -> tuple[int, ...]:
    """Writes, units, both without the new state, and both added by it, so far."""
    writes = sum(meter.calls[op] for op in WRITES)
    return (writes, meter.write_units, meter.base_writes, meter.base_units, sum(meter.new_writes.values()),
            sum(meter.new_units.values()))  # fmt: skip


def seed_customers(client: Any, events: list[Any]) -> int:
    """Write each customer's item as the aggregator left it after ``events``; return how many."""
    from alexa_skill_metrics.aggregation.retention import day_of
    from alexa_skill_metrics.aggregation.rollup import FirstUtterance
    from alexa_skill_metrics.storage.customers import CustomerState, state_to_item

    firsts: dict[str, FirstUtterance] = {}
    days: dict[str, set[int]] = {}
    for event in events:
        candidate = FirstUtterance.of(event)
        if candidate is None or event.customer is None:
            continue
        known = firsts.get(event.customer)
        if known is None or candidate.order < known.order:
            firsts[event.customer] = candidate
        days.setdefault(event.customer, set()).add(day_of(event.timestamp_ms))
    for customer, first in firsts.items():
        state = CustomerState(SKILL, "live", customer, first, days=sorted(days[customer]))
        client.put_item(TableName=TABLE, Item=state_to_item(state))
    return len(firsts)


def lambda_batches(visible_s: list[float], batch_size: int, window_s: float) -> list[tuple[int, int, float]]:
    """``(first, end, handed over at)`` of one stream shard's batches: ``batch_size`` records or the window.

    >>> lambda_batches([0.0, 10.0, 59.0, 61.0, 200.0], 5000, 60.0)
    [(0, 3, 60.0), (3, 4, 121.0), (4, 5, 260.0)]
    >>> lambda_batches([0.0, 1.0, 2.0], 2, 60.0)
    [(0, 2, 1.0), (2, 3, 62.0)]
    """
    batches = []
    first = 0
    while first < len(visible_s):
        closes = visible_s[first] + window_s
        end = first
        while end < len(visible_s) and end - first < batch_size and visible_s[end] < closes:
            end += 1
        batches.append((first, end, visible_s[end - 1] if end - first == batch_size else closes))
        first = end
    return batches


def _pseudonym(customer: str) -> str:
    """A stand-in of the recorder's pseudonym length (``recording.pseudonym``: 22 characters)."""
    return base64.urlsafe_b64encode(hashlib.sha256(customer.encode()).digest()[:16]).rstrip(b"=").decode()


def _added(part: int, base: int) -> str:
    return f"+{part / base:.1%}" if base else "n/a"


if __name__ == "__main__":
    main()
