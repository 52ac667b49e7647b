"""The aggregator's throughput and DynamoDB cost per 1,000 events. Prints figures; asserts nothing.

Run: ``python bench/bench_aggregator.py [--events 20000] [--rate 20] [--customers 3000]
[--slots [--values]] [--dialogs]``

``--values``: the colour slot is opted in (``slot_values``), so each utterance whose colour did not
resolve carries one of 40 values, which the aggregator copies into the value index (part 6).

Traffic: a busy skill's sessions (launch, several intents, a reprompting intent, failures, skill
and user ends, silences), ``--rate`` requests per second from ``--customers`` customers in two
locales, as the recorder stamps them, in stream order (write shards interleaved by time).

1. The pure fold (``rollup.fold``, sketches) over batches of 1,000 events: the CPU floor.
2. The Lambda handler's path (``handler.process_records``: Powertools' batch processor, decoding,
   customer and rollup reads and conditional writes) against in-process moto, batches of 1,000.
   DynamoDB API calls are counted with a botocore ``before-call`` hook, and the time spent inside
   them (botocore plus moto) is measured separately, since moto is far slower than DynamoDB.
   Write units (per started KB of each item) are split into what the aggregator writes without
   the state added for retention, paths and friction, and what each part of that state adds
   (``CallMeter``).
3. The same batches delivered again (Lambda's retries): what a redelivery costs.

All three twice in one run (``--split both``): every rollup in 8 fixed parts
(``Aggregator(split="always")``, the layout before adaptive parts), then adaptive parts, and a
summary of writes and write units per 1,000 events of both.
``--release 42`` gives every event a release (the rollups are then keyed by it: compare the write
units with a run without it); ``--canary 0.1`` adds a second release serving a tenth of the
requests of the second half (a weighted alias: sessions served by both).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lambda_fn"))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from alexa_skill_metrics.model import SESSION_ENDED, SKILL_ENABLED, DialogStep, Event, Outcome  # noqa: E402
from alexa_skill_metrics.simulation.limits import item_size  # noqa: E402
from alexa_skill_metrics.storage.codec import event_to_item  # noqa: E402

try:  # absent in versions before paths: the same traffic then carries no path (a baseline run)
    from alexa_skill_metrics.pathtree import ROOT, child_of

    PATHS = True
except ImportError:
    PATHS = False

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-0000000000be"
START_MS = 1_767_607_200_000  # 2026-01-05T10:00:00Z
BATCH = 1000
TABLE = "bench-aggregator"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/2026-01-05T00:00:00.000"
INTENTS = [
    "RollDiceIntent",
    "CheckScoreIntent",
    "AMAZON.HelpIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.StopIntent",
]
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
READS = ("GetItem", "BatchGetItem", "Query", "Scan")


def traffic(
    count: int, rate: float, customers: int, seed: int = 1, cold_starts: float = 0.0, days: float = 0
) -> list[Event]:
    """About ``count`` events of realistic sessions at ``rate`` requests per second, in time order.

    ``cold_starts``: the share of utterances that are a container's first request (with start-up).
    With ``days``, the rate is chosen so that the sessions spread over that many days instead
    (customers then come back on other days, as retention needs).
    """
    rng = random.Random(seed)
    events: list[Event] = []
    t = START_MS
    n = 0
    if days:
        rate = count / (days * 86_400)
    while len(events) < count:
        t += int(rng.expovariate(rate / 4.5) * 1000)  # a session makes about 4.5 requests
        n += 1
        customer = f"cust-{rng.randrange(customers):06d}"
        locale = "de-DE" if zlib.crc32(customer.encode()) % 5 == 0 else "en-US"
        events.extend(_session(rng, f"session-{n}", customer, locale, t))
        if rng.random() < 0.02:
            events.append(_event(f"enable-{n}", SKILL_ENABLED, t, customer=customer))
    events.sort(key=lambda e: e.timestamp_ms)
    cold = random.Random(seed + 1)  # its own generator: the sessions are the same at any cold-start rate
    return [
        replace(e, cold_start=True, startup_ms=cold.uniform(250, 900))
        if e.is_utterance and cold.random() < cold_starts
        else e
        for e in events[:count]
    ]


def with_slots(events: list[Event], seed: int = 3) -> list[Event]:
    """Give every RollDiceIntent utterance four slots (statuses as the recorder codes them).

    Its own generator: the sessions stay those of ``traffic``. Mostly resolved, some unresolved or
    errored, static and dynamic authorities, now and then a denied confirmation.
    """
    rng = random.Random(seed)
    codes = ["frr--", "frrr-", "fuuu-", "fruu-", "fxx--", "fn---", "e----", "frr-d", "frr-c"]
    weights = [30, 10, 6, 4, 1, 8, 5, 1, 1]

    def slots() -> str:
        chosen = rng.choices(codes, weights=weights, k=4)
        return " ".join(
            f"{name}:{code}" for name, code in zip(("sides", "colour", "count", "size"), chosen, strict=True)
        )

    return [
        replace(e, slots=slots(), confirmation=rng.choice([None] * 20 + ["c", "d"]))
        if e.intent == "RollDiceIntent"
        else e
        for e in events
    ]


def with_dialogs(events: list[Event], share: float = 0.3, seed: int = 5) -> list[Event]:
    """Turn the first utterances of ``share`` of the sessions into a dialog (SetUpGameIntent).

    STARTED, one to three more turns, COMPLETED where the session lasts that long (else it is
    abandoned, or left open); each reply asks a question; each event's ``dialog`` is what the
    recorder would write, by the same rule (``model.dialog_after``), its own generator.
    """
    rng = random.Random(seed)
    by_session: dict[str, list[int]] = defaultdict(list)
    for n, e in enumerate(events):
        if e.session_id is not None:
            by_session[e.session_id].append(n)
    out = list(events)
    for positions in by_session.values():
        utterances = [n for n in positions if out[n].request_type == "IntentRequest"]
        if not utterances or rng.random() >= share:
            continue
        turns = utterances[: rng.randrange(2, 5)]
        open_dialog = None
        for n in positions:
            e = out[n]
            state = None
            if n in turns:
                k = turns.index(n)
                state = "s" if k == 0 else "c" if k == len(turns) - 1 and k >= 2 else "p"
                e = replace(e, intent="SetUpGameIntent")
            asked = rng.choice(["e:players", "d", "c:dice"]) if state in ("s", "p") else None
            if state == "s" or open_dialog is not None:
                e = replace(e, dialog=DialogStep(state, asked, open_dialog).encode())
            change = e.dialog_change
            if change is not None:
                open_dialog = change.after
            out[n] = e
    return out


def with_values(events: list[Event], seed: int = 4) -> list[Event]:
    """The unresolved colour of each ``with_slots`` utterance said as one of 40 values (``uv``)."""
    from alexa_skill_metrics.model import encode_values

    rng = random.Random(seed)
    return [
        replace(e, uv=encode_values([("colour", f"colour word {rng.randrange(40)}")]))
        if e.slots and "colour:fu" in e.slots
        else e
        for e in events
    ]


def _event(request_id: str, request_type: str, at: int, **fields: Any) -> Event:
    times = {"timestamp_ms": at, "received_ms": at + 35}
    return Event(skill_id=SKILL, request_id=request_id, request_type=request_type, **times, **fields)


def _session(rng: random.Random, sid: str, customer: str, locale: str, t: int) -> list[Event]:
    common: dict[str, Any] = {"customer": customer, "session_id": sid, "locale": locale, "new_session": False}
    launch = {**common, "new_session": True, "should_end_session": False, "session_start_ms": t}
    out = [_event(f"{sid}-0", "LaunchRequest", t, handler_ms=rng.uniform(5, 40), **launch)]
    stamp: dict[str, Any] = {"session_start_ms": t, "previous_ms": t, "last_intent": "LaunchRequest",
                             "last_prompt": True, "last_unhandled": False}  # fmt: skip
    if PATHS:  # the recorder's stamp carries the session's path so far (absent before paths existed)
        stamp["path_node"] = child_of(ROOT, "LaunchRequest")
    for i in range(1, rng.randrange(2, 7)):
        t += rng.randrange(3_000, 25_000)
        intent = rng.choices(INTENTS, weights=[10, 3, 2, 1, 2])[0]
        outcome = rng.choices([Outcome.RESPONSE, Outcome.HANDLED, Outcome.ESCAPED], weights=[30, 2, 1])[0]
        stop = intent == "AMAZON.StopIntent"
        should_end = stop if outcome is not Outcome.ESCAPED else None
        turn = {"intent": intent, "outcome": outcome, "should_end_session": should_end, **stamp, **common}
        out.append(_event(f"{sid}-{i}", "IntentRequest", t, handler_ms=rng.uniform(5, 120), **turn))
        if outcome is Outcome.ESCAPED:
            out.append(_event(f"{sid}-end", SESSION_ENDED, t + 900, end_reason="ERROR", **stamp, **common))
            return out
        if stop:
            return out
        unhandled = outcome is not Outcome.RESPONSE or intent == "AMAZON.FallbackIntent"
        prompted = outcome is Outcome.RESPONSE and should_end is False
        stamp = {**stamp, "previous_ms": t, "last_intent": intent, "last_prompt": prompted,
                 "last_unhandled": unhandled}  # fmt: skip
        if PATHS:
            stamp["path_node"] = child_of(stamp["path_node"], intent)
    reason = rng.choice(["USER_INITIATED", "EXCEEDED_MAX_REPROMPTS", None])
    if reason is not None or rng.random() < 0.5:
        out.append(_event(f"{sid}-end", SESSION_ENDED, t + 8_000, end_reason=reason, **stamp, **common))
    return out


def with_releases(events: list[Event], release: str, canary: float, seed: int = 3) -> list[Event]:
    """Every event served by ``release``; from halfway a ``canary`` share by release ``canary``.

    As the recorder does it: an event names the release that served it, and, where that is not
    the release that started its session, the starting one (``Event.session_release``).
    """
    rng = random.Random(seed)
    halfway = events[len(events) // 2].timestamp_ms
    started: dict[str | None, str] = {}
    out = []
    for e in events:
        served = "canary" if canary and e.timestamp_ms >= halfway and rng.random() < canary else release
        if e.starts_session:
            started[e.session_id] = served
        first = started.get(e.session_id, release)
        out.append(replace(e, release=served, session_release=None if first == served else first))
    return out


def next_day(events: list[Event]) -> list[Event]:
    """The sessions (and other requests) starting in the second half, 24 hours later."""
    from dataclasses import replace

    middle = events[len(events) // 2].timestamp_ms
    day = 86_400_000
    moved = []
    for e in events:
        if (e.session_start_ms or e.timestamp_ms) < middle:
            moved.append(e)
            continue
        times: dict[str, Any] = {"timestamp_ms": e.timestamp_ms + day, "received_ms": e.received_ms + day}
        for name in ("session_start_ms", "previous_ms"):
            value = getattr(e, name)
            times[name] = None if value is None else value + day
        moved.append(replace(e, **times))
    return sorted(moved, key=lambda e: e.timestamp_ms)


def stream_records(events: list[Event]) -> list[dict[str, Any]]:
    """Lambda-shaped INSERT records of the events, sequence numbers in stream order."""
    records = []
    for n, event in enumerate(events):
        item = event_to_item(event, retention_days=90)
        dynamodb = {
            "ApproximateCreationDateTime": event.received_ms / 1000,
            "Keys": {"pk": item["pk"], "sk": item["sk"]},
            "NewImage": item,
            "SequenceNumber": f"{1_100_000_000_000_000_000_000 + n}",
            "SizeBytes": 400,
            "StreamViewType": "NEW_IMAGE",
        }
        records.append({"eventID": f"e{n}", "eventName": "INSERT", "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": dynamodb,
                        "eventSourceARN": STREAM_ARN})  # fmt: skip
    return records


# The state added for retention, paths and friction, by what it serves (README, "Retention and paths,
# aggregator cost"): every other attribute was written before it existed.
CUSTOMER_DAYS = "(1) customer active days"
RETENTION_COUNTERS = "(2) retention counters"
PATHS_FRICTION = "(3) paths, friction, endpoint"
SLOTS = "(4) slots and confirmations"
DIALOGS = "(5) dialogs"
VALUES = "(6) unresolved values (value index)"
NEW_STATE_PARTS = (CUSTOMER_DAYS, RETENTION_COUNTERS, PATHS_FRICTION, SLOTS, DIALOGS, VALUES)
_IDENTITY = ("pk", "sk", "kind", "v", "customers", "latency")  # what an untouched new rollup holds
_BOOKKEEPING = ("ver", "wm")  # written with every change, whatever it is


def _new_state_attributes() -> dict[str, str]:
    from alexa_skill_metrics.storage.rollups import DIALOG_ATTRIBUTES, QUALITY_ATTRIBUTES, SLOT_ATTRIBUTES

    paths = ("path_edges", "transitions", "path_open", *QUALITY_ATTRIBUTES)
    return (
        {"days": CUSTOMER_DAYS, "acts": CUSTOMER_DAYS, "retention": RETENTION_COUNTERS}
        | dict.fromkeys(paths, PATHS_FRICTION)
        | dict.fromkeys(SLOT_ATTRIBUTES, SLOTS)
        | dict.fromkeys(DIALOG_ATTRIBUTES, DIALOGS)
    )


class CallMeter:
    """Counts DynamoDB API calls by operation, the wall time inside them, and what the new state costs.

    Each PutItem is weighed in write units (one per started KB of the item, as DynamoDB bills it)
    with and without the attributes of the new state (``_new_state_attributes``), and is told
    apart as a write the aggregator would make without the new state or one it makes only for
    it: a customer write that leaves the first utterance as it was (it records an active day), a
    rollup write that changes nothing but new-state attributes (watermarks and version aside).
    The first write of an item is compared with an untouched new one. Only successful writes
    update what is known of an item.
    """

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.write_units = 0  # what DynamoDB bills a PutItem: one unit per started KB of the item
        self.base_writes = 0  # writes the aggregator makes without the new state
        self.base_units = 0  # their units without the new state's attributes
        self.new_writes: Counter[str] = Counter()  # writes made only for a part of the new state
        self.new_units: Counter[str] = Counter()  # units added by each part (whole writes or attributes)
        self.seconds = 0.0
        self._started = 0.0
        self._new = _new_state_attributes()
        self._known: dict[tuple[str, str], dict[str, Any]] = {}  # last stored item, bookkeeping aside
        self._pending: tuple[tuple[str, str], dict[str, Any]] | None = None
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)
        client.meta.events.register("before-parameter-build.dynamodb.PutItem", self._put_params)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        self._started = time.perf_counter()

    def _put_params(self, params: dict[str, Any], **_: Any) -> None:
        item = {name: value for name, value in params["Item"].items() if name not in _BOOKKEEPING}
        key = (item["pk"]["S"], item["sk"]["S"])
        known = self._known.get(key, {name: item[name] for name in _IDENTITY if name in item})
        units = _units(params["Item"])
        self.write_units += units
        self._pending = (key, item)
        if item.get("kind", {}).get("S") == "uvalue":  # a whole write made only for the values
            self.new_writes[VALUES] += 1
            self.new_units[VALUES] += units
            return
        if item.get("kind", {}).get("S") == "customer":
            only_new = key in self._known and known.get("first") == item.get("first")
        else:
            only_new = _without(item, self._new) == _without(known, self._new)
        if only_new:
            changed = [self._new[n] for n in self._new if item.get(n) != known.get(n)] or [PATHS_FRICTION]
            part = min(changed)  # the parts' names sort in their order: (1), (2), (3)
            self.new_writes[part] += 1
            self.new_units[part] += units
            return
        self.base_writes += 1
        left = params["Item"]
        for part in NEW_STATE_PARTS:  # each part's attributes taken off in turn: what they add
            rest = {name: value for name, value in left.items() if self._new.get(name) != part}
            self.new_units[part] += units - _units(rest)
            left, units = rest, _units(rest)
        self.base_units += units

    def _after(self, model: Any, http_response: Any = None, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started
        if model.name == "PutItem" and self._pending is not None:
            if http_response is not None and http_response.status_code == 200:
                key, item = self._pending
                self._known[key] = item
            self._pending = None

    def reset(self) -> None:
        """Zero the figures (what is known of stored items stays)."""
        self.calls.clear()
        self.write_units = self.base_writes = self.base_units = 0
        self.new_writes.clear()
        self.new_units.clear()
        self.seconds = 0.0

    def new_state_lines(self, events: int) -> list[str]:
        """Writes and write units per 1,000 events: without the new state, and what each part adds."""
        per_k = 1000 / events
        writes, units = sum(self.new_writes.values()), sum(self.new_units.values())
        lines = [
            f"    without the new state (writes/units)   {self.base_writes * per_k:>10.1f} / "
            f"{self.base_units * per_k:.1f}",
            f"    added by the new state                 {writes * per_k:>10.1f} / {units * per_k:.1f}"
            f"   (+{_share(writes, self.base_writes)} writes, +{_share(units, self.base_units)} units)",
        ]
        for part in NEW_STATE_PARTS:
            share = _share(self.new_units[part], self.base_units)
            figures = f"{self.new_writes[part] * per_k:>10.1f} / {self.new_units[part] * per_k:.1f}"
            lines.append(f"      {part:<36} {figures}   (+{share} units)")
        return lines


def _units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def _without(item: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in names}


def bench_fold(events: list[Event]) -> None:
    from alexa_skill_metrics.aggregation.rollup import fold

    for exact in (False, True):
        started = time.perf_counter()
        keys = 0
        for i in range(0, len(events), BATCH):
            keys += len(fold(events[i : i + BATCH], exact=exact))
        elapsed = time.perf_counter() - started
        label = "exact summaries" if exact else "sketches (what the aggregator stores)"
        print(f"  fold, {label:<38} {len(events) / elapsed:>10,.0f} events/s   "
              f"{keys / (len(events) / BATCH):,.0f} rollups touched per batch")  # fmt: skip


# Aggregator(split=...) -> label: the layout before adaptive parts, and now.
SPLITS = {"always": "before: every rollup in 8 parts (split='always')", "adaptive": "after: adaptive parts"}


def bench_aggregator(records: list[dict[str, Any]], split: str) -> dict[str, tuple[float, float]]:
    """Both halves and a redelivery through the handler; return each phase's writes and units per 1,000."""
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.storage.table import create_table

    half = len(records) // 2 // BATCH * BATCH
    figures = {}
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        meter = CallMeter(client)
        aggregator = Aggregator(TABLE, client, rollup_parts=8, split=split)
        phases = (
            ("first half, empty table (every customer is new)", records[:half]),
            ("second half (customers mostly known: the steady state)", records[half:]),
            ("second half delivered again (Lambda's redelivery)", records[half:]),
        )
        for label, part in phases:
            figures[label] = _phase(label, part, aggregator, meter)
        items = [item for item in _scan(client) if item["pk"]["S"].startswith("ROLL#")]
        sizes = sorted(item_size(item) for item in items)
        median, largest = sizes[len(sizes) // 2] / 1024, sizes[-1] / 1024
        print(f"\n  rollup items stored: {len(items):,}; median {median:.1f} KiB, largest {largest:.1f} KiB")
    return figures


def _phase(
    label: str, records: list[dict[str, Any]], aggregator: Any, meter: CallMeter
) -> tuple[float, float]:
    from alexa_skill_metrics.aggregation.handler import process_records

    meter.reset()
    aggregator.rollups.items_read = aggregator.customers.items_read = 0
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    for i in range(0, len(records), BATCH):
        failed, result = process_records(records[i : i + BATCH], aggregator)
        stats.update(failed=len(failed), rollups=result.rollups_written, customers=result.customers_written,
                     conflicts=result.conflicts)  # fmt: skip
    elapsed = time.perf_counter() - started
    per_k = 1000 / len(records)
    writes = sum(meter.calls[op] for op in WRITES)
    reads = sum(meter.calls[op] for op in READS)
    own = elapsed - meter.seconds
    items = aggregator.rollups.items_read + aggregator.customers.items_read
    rollups, customers = stats["rollups"] * per_k, stats["customers"] * per_k
    lines = [
        f"\n  {label}: {len(records):,} events in batches of {BATCH:,}",
        f"    throughput against in-process moto     {len(records) / elapsed:>10,.0f} events/s",
        f"    of which inside DynamoDB calls (moto)  {meter.seconds / elapsed:>10.0%}",
        f"    aggregator + botocore CPU alone        {len(records) / own:>10,.0f} events/s (moto's time out)",
        f"    DynamoDB writes per 1,000 events       {writes * per_k:>10.1f}   "
        f"(PutItem: {rollups:.1f} rollup items, {customers:.1f} customer items)",
        f"    DynamoDB write units per 1,000 events  {meter.write_units * per_k:>10.1f}   (KB, rounded up)",
        *meter.new_state_lines(len(records)),
        f"    DynamoDB read calls per 1,000 events   {reads * per_k:>10.1f}   "
        + ", ".join(f"{op} {meter.calls[op] * per_k:.1f}" for op in READS if meter.calls[op]),
        f"    items read per 1,000 events            {items * per_k:>10.1f}",
        f"    version conflicts / failed records     {stats['conflicts']:>10} / {stats['failed']}",
    ]
    print("\n".join(lines))
    return writes * per_k, meter.write_units * per_k


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _scan(client: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator("scan").paginate(TableName=TABLE) for item in page["Items"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second of the simulated skill")
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument(
        "--cold-starts", type=float, default=0.01, help="share of utterances that are cold starts"
    )
    parser.add_argument("--days", type=float, default=0, help="spread the events over this many days")
    parser.add_argument("--release", help="every event's release (the rollups are keyed by it)")
    parser.add_argument(
        "--canary", type=float, default=0.0, help="with --release: a second release's share from halfway"
    )
    parser.add_argument(
        "--next-day",
        action="store_true",
        help="move the sessions of the second half to the next day: known customers return on a new day "
        "(every one's first request of the day writes their customer item: retention's worst case)",
    )
    parser.add_argument(
        "--dialogs", action="store_true", help="a third of the sessions start with a dialog (SetUpGameIntent)"
    )
    parser.add_argument(
        "--slots", action="store_true", help="every RollDiceIntent utterance carries four slots' statuses"
    )
    parser.add_argument(
        "--values",
        action="store_true",
        help="with --slots: unresolved colours carry values (the value index)",
    )
    parser.add_argument(
        "--split",
        choices=("both", *SPLITS),
        default="both",
        help="rollup parts: fixed (every rollup in 8 parts, as before), adaptive (split once batches race)",
    )
    args = parser.parse_args()

    events = traffic(args.events, args.rate, args.customers, cold_starts=args.cold_starts, days=args.days)
    if args.slots:
        events = with_slots(events)
        if args.values:
            events = with_values(events)
    if args.dialogs:
        events = with_dialogs(events)
    if args.next_day:
        events = next_day(events)
    if args.release:
        events = with_releases(events, args.release, args.canary)
    records = stream_records(events)
    span_min = (events[-1].timestamp_ms - events[0].timestamp_ms) / 60_000
    kinds = Counter(e.request_type for e in events)
    rate = len(events) / max(span_min * 60, 1)
    print(f"traffic: {len(events):,} events over {span_min:.0f} min ({rate:.3g} req/s), "
          f"{len({e.customer for e in events}):,} customers, "
          + ", ".join(f"{k} {v:,}" for k, v in kinds.most_common()))  # fmt: skip
    print(f"  cold starts: {sum(e.cold_start for e in events):,} ({args.cold_starts:.1%} of utterances)")
    releases = Counter(getattr(e, "release", None) or "-" for e in events)
    print("  releases: " + ", ".join(f"{r} {n:,}" for r, n in releases.most_common()))
    print("\npure fold (no I/O), batches of 1,000:")
    bench_fold(events)
    figures = {}
    for split in SPLITS if args.split == "both" else (args.split,):
        print(f"\naggregator (Lambda handler path) against in-process moto, {SPLITS[split]}:")
        figures[split] = bench_aggregator(records, split)
    if len(figures) == 2:
        print("\nper 1,000 events, writes / write units:")
        for label in figures["always"]:
            before, after = figures["always"][label], figures["adaptive"][label]
            print(f"  {label:<56} before {before[0]:>6.1f} / {before[1]:>7.1f}   "
                  f"after {after[0]:>6.1f} / {after[1]:>7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
