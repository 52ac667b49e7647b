"""Reporting benchmark: the views (friction too) and the metrics call over 90 days, rollups vs raw events.

Prints figures; asserts nothing. Run with ``python bench/bench_reporting.py`` (``--help`` for sizes).

What it does
    1. Records ``--days`` of seeded traffic for a busy skill: the sample skill with the recorder
       installed answers ``sample_skill.traffic.Simulation`` (customers returning over days, three
       locales, reprompts, failures). The recorder's items are captured in memory.
    2. Loads those raw events into an in-process moto table, and the rollups the aggregator
       stores for them (``fold``: what it holds after processing exactly these events; 15-minute,
       hourly and daily, all-intents and per-intent) through the rollup item codec.
    3. Times each view and a metric call (``PT1H`` and ``P1D`` over the whole range) from the
       stored rollups, then the same report recomputed from the raw events (event reader + exact
       fold), printing latency, DynamoDB items read and calls, and the ratio.

About moto
    moto 5 answers every Query by sorting every item of the table, so its Query time grows with
    the table rather than with the partition read, unlike DynamoDB's. This script makes moto's
    Query read only the queried partition (same results) so the figures measure this package,
    not that artefact; the table has no stream, as nothing here reads it. Latency in moto is still
    CPU spent serialising through botocore and moto in-process: compare the ratio and the items
    read, which are what DynamoDB bills (a 1 MB Query page is one round trip of ~10 ms there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "lambda_fn")]

START_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z
DAY_MS = 86_400_000
TABLE = "bench-reporting"
KEY = "bench-pseudonym-key-0123456789"
VIEWS = ("overview", "customers", "sessions", "utterances", "intents", "friction")


class CapturingClient:
    """Stands in for DynamoDB under the recorder (first write of a key wins, like its condition)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        item = kwargs["Item"]
        self.items.setdefault((item["pk"]["S"], item["sk"]["S"]), item)
        return {}


def record(customers: int, days: int, seed: int) -> list[dict[str, Any]]:
    from alexa_skill_metrics import SkillMetrics
    from sample_skill.app import build_handler
    from sample_skill.envelopes import DEMO_SKILL_ID
    from sample_skill.traffic import Simulation

    client = CapturingClient()
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=client)  # type: ignore[arg-type]
    simulation = Simulation(
        customers=customers, days=days, seed=seed, start_ms=START_MS, skill_id=DEMO_SKILL_ID
    )
    simulation.run(build_handler(metrics))
    return list(client.items.values())


@contextmanager
def partition_local_queries() -> Iterator[None]:
    """Make moto's Query look at the queried partition only (see the module docstring)."""
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition  # the instance attribute hides the method for this call
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original  # type: ignore[method-assign]


def load(client: Any, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        client.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time in ms over ``repeat`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--customers", type=int, default=1_000, help="people in the simulation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per report from rollups (median)")
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The raw event items of the simulation and the rollup items the aggregator stores for them."""
    from alexa_skill_metrics.aggregation.rollup import fold
    from alexa_skill_metrics.storage.codec import item_to_event
    from alexa_skill_metrics.storage.rollups import StoredRollup, rollup_to_item

    began = time.perf_counter()
    items = record(args.customers, args.days, args.seed)
    events = [item_to_event(item) for item in items]
    print(f"recorded {len(items):,} requests through the sample skill and the recorder "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    began = time.perf_counter()
    rollups = fold(events)
    rollup_items = [rollup_to_item(StoredRollup(key, rollup)) for key, rollup in rollups.items()]
    shape = Counter((key.granularity, "intent" if key.intent != "*" else "all") for key in rollups)
    print(f"folded {len(rollup_items):,} rollup items in {time.perf_counter() - began:.1f} s: "
          + ", ".join(f"{g}/{kind} {n:,}" for (g, kind), n in sorted(shape.items())))  # fmt: skip
    utterances = sum(e.is_utterance for e in events)
    customers = len({e.customer for e in events if e.is_utterance})
    print(f"traffic: {utterances:,} utterances, {customers:,} distinct customers, "
          f"{len(events) / (args.days * 24):.0f} requests per hour on average")  # fmt: skip
    return items, rollup_items


def cases(end_ms: int) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """(label, period, run(reporter)) for the five views and two metrics, PT1H and P1D."""
    from alexa_skill_metrics.reporting import MetricRequest, ReportRequest
    from alexa_skill_metrics.reporting.params import format_time
    from sample_skill.envelopes import DEMO_SKILL_ID

    window = {"startTime": format_time(START_MS), "endTime": format_time(end_ms)}

    def view(name: str, period: str) -> Callable[[Any], Any]:
        request = ReportRequest.from_params(DEMO_SKILL_ID, {**window, "period": period})
        return lambda reporter: reporter.view(name, request)

    def metric(name: str, period: str) -> Callable[[Any], Any]:
        def all_pages(reporter: Any) -> list[int]:
            request = MetricRequest.from_params(DEMO_SKILL_ID, {**window, "period": period, "metric": name})
            values: list[int] = []
            while True:
                body = reporter.metric(request)
                values += body["values"]
                if body["nextToken"] is None:
                    return values
                request = request.with_token(body["nextToken"])

        return all_pages

    found = [(f"view {name}", period, view(name, period)) for name in VIEWS for period in ("PT1H", "P1D")]
    found += [(f"metric {name} (all pages)", period, metric(name, period))
              for name in ("uniqueCustomers", "totalSessions") for period in ("PT1H", "P1D")]  # fmt: skip
    return found


def measure(client: Any, end_ms: int, repeat: int) -> None:
    """Print the table: every case from stored rollups and recomputed from raw events."""
    from alexa_skill_metrics.reporting import EventList, RecomputedRollups, Reporter, StoredRollups
    from alexa_skill_metrics.reporting.source import SESSION_TAIL_MS
    from alexa_skill_metrics.storage.events import EventReader
    from alexa_skill_metrics.storage.rollups import RollupStore
    from sample_skill.envelopes import DEMO_SKILL_ID

    def clock() -> int:
        return end_ms + 3_600_000

    todo = cases(end_ms)
    # Warm up imports and first-use caches on a small report.
    Reporter(StoredRollups(RollupStore(TABLE, client)), clock=clock).view("overview", _one_day())

    # The recomputation reads every event of the range (and the session tail after it) the same
    # way for every report: read once through moto here, then served from memory to each report.
    reader = EventReader(TABLE, client)
    began = time.perf_counter()
    read_back = list(reader.read(DEMO_SKILL_ID, START_MS, end_ms + SESSION_TAIL_MS))
    read_ms = (time.perf_counter() - began) * 1000
    print(f"recomputation input: {len(read_back):,} events read back with {reader.calls:,} Query calls "
          f"in {read_ms / 1000:.1f} s through moto (the same for every report below)\n")  # fmt: skip

    header = (f"{'report':<36}{'period':<6}|{'items':>7}{'calls':>6}{'moto ms':>9}{'cpu ms':>8} |"
              f"{'items':>9}{'calls':>7}{'cpu ms':>9} |{'cpu':>7}{'moto':>7}")  # fmt: skip
    print(f"{'':<42}|{'from rollups':^30} |{'from raw events':^25} |{'ratio':^14}")
    print(header)
    print("-" * len(header))
    for label, period, run in todo:
        store = RollupStore(TABLE, ReplayClient(client))  # type: ignore[arg-type]
        stored = Reporter(StoredRollups(store), clock=clock)
        moto_ms, _ = timed(lambda: run(stored), 1)  # noqa: B023 - called right here
        items_read, calls = store.items_read, store.calls
        cpu_ms, _ = timed(lambda: run(stored), repeat)  # noqa: B023
        feed = EventList(read_back)
        recomputed = Reporter(RecomputedRollups(feed), clock=clock)
        events_ms, _ = timed(lambda: run(recomputed), 1)  # noqa: B023
        ratios = f"{events_ms / cpu_ms:>6.0f}x{(read_ms + events_ms) / moto_ms:>6.0f}x"
        print(f"{label:<36}{period:<6}|{items_read:>7,}{calls:>6}{moto_ms:>9.0f}{cpu_ms:>8.0f} |"
              f"{feed.items_read:>9,}{reader.calls:>7,}{events_ms:>9.0f} |{ratios}", flush=True)  # fmt: skip
    print(f"""
items / calls: DynamoDB items read and Query calls (pages) per report: what DynamoDB bills and waits on.
moto ms: one run against in-process moto (botocore + moto's serialisation dominate it).
cpu ms: this package's own time: for rollups, decoding items and building the report, replayed from
  the recorded Query answers (median of {repeat} runs); for raw events, the exact fold and the
  report from events already read (one run; reading them is the line above the table).
events calls: the Query calls of reading the whole range once (a metric page re-reads its own hours).
ratio cpu: events cpu / rollups cpu. ratio moto: (event read through moto + events cpu) / rollups moto ms.""")


def _one_day() -> Any:
    from alexa_skill_metrics.reporting import ReportRequest
    from alexa_skill_metrics.reporting.params import format_time
    from sample_skill.envelopes import DEMO_SKILL_ID

    day = {"startTime": format_time(START_MS), "endTime": format_time(START_MS + DAY_MS)}
    return ReportRequest.from_params(DEMO_SKILL_ID, day)


def main() -> None:
    args = parse_args()
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.storage.table import ATTRIBUTE_DEFINITIONS, BILLING_MODE, KEY_SCHEMA

    print(
        f"# Reporting benchmark: {args.days} days, {args.customers:,} simulated customers, seed {args.seed}"
    )
    items, rollup_items = prepare(args)
    with mock_aws(), partition_local_queries():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=KEY_SCHEMA,  # type: ignore[arg-type]
            AttributeDefinitions=ATTRIBUTE_DEFINITIONS,  # type: ignore[arg-type]
            BillingMode=BILLING_MODE,  # type: ignore[arg-type]
        )
        began = time.perf_counter()
        load(client, items)
        load(client, rollup_items)
        print(f"loaded events and rollups into moto in {time.perf_counter() - began:.1f} s\n")
        measure(client, START_MS + args.days * DAY_MS, args.repeat)


class ReplayClient:
    """Answers each distinct Query from moto once and then from memory.

    Separates this package's CPU (decoding, folding, building reports) from moto's in-process
    serialisation, which stands in for DynamoDB's network time.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._answers: dict[str, Any] = {}

    def query(self, **kwargs: Any) -> Any:
        key = repr(sorted(kwargs.items()))
        if key not in self._answers:
            self._answers[key] = self._client.query(**kwargs)
        return self._answers[key]


if __name__ == "__main__":
    main()
