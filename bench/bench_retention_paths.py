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

The aggregator's added writes for the new state are measured by ``bench_aggregator.py`` (see the
README: the same traffic against this version and the one before retention and paths).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_aggregator import SKILL, START_MS, traffic  # (it puts lambda_fn on sys.path)
from bench_reporting import ReplayClient

TABLE = "bench-retention-paths"
DAY_MS = 86_400_000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--events", type=int, default=360_000, help="about 8 sessions per customer")
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
    began = time.perf_counter()
    rollups = fold(events, granularities=("P1D",))
    items = [rollup_to_item(StoredRollup(k, r)) for k, r in rollups.items() if k.intent == ALL_INTENTS]
    elapsed = time.perf_counter() - began
    print(f"stored day rollups (all intents): {len(items):,} items, folded in {elapsed:.1f} s")

    measure(items, events, days)


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


if __name__ == "__main__":
    main()
