"""What real DynamoDB enforces and moto does not, in front of in-process moto, on a virtual clock.

Used by ``bench_scale.py``. Two parts:

``VirtualClock``
    A discrete-event scheduler for threads. Every simulated Lambda invocation lane is a real
    thread running the real aggregator code, but exactly one thread runs at a time: the one whose
    virtual time is the earliest. A thread moves its own virtual time forward by sleeping
    (``sleep_until``): for DynamoDB latency, for the CPU time it just spent (measured with
    ``time.thread_time``, scaled to the Lambda's share of a vCPU), for back-offs and polling
    intervals. So a second of simulated traffic costs whatever wall time the machine needs to run
    the code, and the interleaving of reads and conditional writes between lanes is the one
    their virtual timings give: conflicts happen where they would happen on AWS.

``LimitedClient``
    A boto3 DynamoDB client stand-in (the methods the aggregator calls) over a moto client. Each
    call takes the modelled latency; in the middle of it, at one virtual instant (only one thread
    runs, so each request is atomic, as DynamoDB's single-item writes are), it is checked against
    the limits below and, if admitted, executed by moto. Throttled requests are retried the way
    the aggregator's botocore client (``analytics_client``: standard mode, 4 attempts in all)
    retries them, with its full-jitter exponential back-off, in virtual time.

Limits modelled, and where AWS documents them
    * Write throughput per partition: 1,000 write units per second, 3,000 read units per second
      ("Each partition on the table can serve up to 3,000 read request units or 1,000 write
      request units", developer guide: Partitions and data distribution; knowledge center:
      on-demand table throttling). An item lives on exactly one partition, so one item can never
      take more; the model gives every item its own partition (what adaptive capacity's
      isolation of frequently accessed items does at best: developer guide, "Burst and adaptive
      capacity"), and every event partition key value one partition (its sort keys increase
      with time, so split for heat cannot spread it: same page). 1-second sliding windows.
      Beyond it the request fails with ``ProvisionedThroughputExceededException`` and throttling
      reason ``TableWriteKeyRangeThroughputExceeded`` (developer guide: DynamoDB throttling
      resolution guide; API reference: ThrottlingReason); ``BatchGetItem`` returns the throttled
      keys as ``UnprocessedKeys`` and fails only if none could be read (API reference:
      BatchGetItem).
    * Write units: one per started KB of the item written, a ``PutItem`` whose condition fails
      consumes them too (developer guide: "Read/write capacity units": "If a ConditionExpression
      evaluates to false ... still consumes write capacity"); strongly consistent reads one read
      unit per started 4 KB.
    * Item size: 400 KB at most, else ``ValidationException`` (developer guide: Quotas, "Item
      size"); sizes as DynamoDB counts them (attribute names plus values).
    * Conditional writes are atomic per request: moto evaluates the condition and writes within
      one request, and the scheduler runs no other request meanwhile.

The store behind it: in-process moto, or (``MemoryTable``, the default of ``bench_scale.py``) a
dictionary that serves the five calls the aggregator and reports make, with the same two
conditions (``attribute_not_exists(#pk)``, ``#ver = :ver``) and the same key-range query. moto
takes about 5 ms of this machine's CPU per call, which caps a run at about 100 events per wall
second; ``bench_scale.py --backend moto`` runs the same simulation on moto at a low rate, to
check that both give the same figures.

Not modelled: table-level on-demand ramp-up (a new on-demand table takes 4,000 write units per
second at once and doubles its previous peak within 30 minutes: the knowledge-center page above)
and account quotas (40,000 write units per second per table by default). Both are table-wide
and far above the per-partition limits that bind first here.

Example
-------
>>> clock = VirtualClock()
>>> seen = []
>>> def lane(name, step):
...     def body():
...         for _ in range(2):
...             clock.sleep_until(clock.now + step)
...             seen.append((name, clock.now))
...     return body
>>> clock.run([lane("a", 0.3), lane("b", 0.2)])
>>> seen
[('b', 0.2), ('a', 0.3), ('b', 0.4), ('a', 0.6)]
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from bench_aggregator import _item_size as item_size

PARTITION_WCU = 1_000  # write units per second per partition
PARTITION_RCU = 3_000  # read units per second per partition
MAX_ITEM_BYTES = 400 * 1024
CLIENT_ATTEMPTS = 4  # analytics_client: retries={"mode": "standard", "total_max_attempts": 4}
# Round trips inside a region: DynamoDB's "single-digit millisecond" latency (an assumption, not a limit).
LATENCY_S = {"PutItem": 0.006, "GetItem": 0.004, "BatchGetItem": 0.008, "Query": 0.010}
CALL_CPU_S = 0.0005  # botocore's own work per call (serialise, sign, parse), not measured inside moto


class MemoryTable:
    """The calls the aggregator and ``RollupStore.query`` make, served from a dict (one table)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def put_item(self, *, TableName: str, Item: dict[str, Any], **kwargs: Any) -> Any:
        pk, sk = Item["pk"]["S"], Item["sk"]["S"]
        stored = self.items[pk].get(sk)
        condition = kwargs.get("ConditionExpression")
        if condition == "attribute_not_exists(#pk)":
            ok = stored is None
        elif condition == "#ver = :ver":
            name = kwargs["ExpressionAttributeNames"]["#ver"]
            ok = stored is not None and stored.get(name) == kwargs["ExpressionAttributeValues"][":ver"]
        elif condition is None:
            ok = True
        else:
            raise NotImplementedError(condition)
        if not ok:
            from botocore.exceptions import ClientError

            error: Any = {
                "Error": {
                    "Code": "ConditionalCheckFailedException",
                    "Message": "The conditional request failed",
                }
            }
            raise ClientError(error, "PutItem")
        self.items[pk][sk] = Item
        return {}

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> Any:
        item = self.items.get(Key["pk"]["S"], {}).get(Key["sk"]["S"])
        return {} if item is None else {"Item": item}

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> Any:
        (table, request), *_ = RequestItems.items()
        found = [self.get_item(TableName=table, Key=k).get("Item") for k in request["Keys"]]
        return {"Responses": {table: [i for i in found if i is not None]}, "UnprocessedKeys": {}}

    def query(self, **kwargs: Any) -> Any:
        if kwargs["KeyConditionExpression"] != "#pk = :pk AND #sk BETWEEN :low AND :high":
            raise NotImplementedError(kwargs["KeyConditionExpression"])
        values = kwargs["ExpressionAttributeValues"]
        low, high = values[":low"]["S"], values[":high"]["S"]
        found = [
            item for sk, item in sorted(self.items.get(values[":pk"]["S"], {}).items()) if low <= sk <= high
        ]
        return {"Items": found, "Count": len(found), "ScannedCount": len(found)}


class VirtualClock:
    """Runs threads one at a time in virtual-time order (see the module docstring)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()
        self._local = threading.local()

    def run(self, bodies: list[Callable[[], None]]) -> None:
        """Run every body in its own thread, all starting at the current virtual time; wait for all."""
        errors: list[BaseException] = []
        threads = []
        for body in bodies:
            gate = threading.Event()
            heapq.heappush(self._heap, (self.now, next(self._order), gate))
            threads.append(threading.Thread(target=self._main, args=(body, gate, errors), daemon=True))
        for thread in threads:
            thread.start()
        self._wake_next()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _main(self, body: Callable[[], None], gate: threading.Event, errors: list[BaseException]) -> None:
        self._local.gate = gate
        gate.wait()
        try:
            body()
        except BaseException as exc:  # surfaced by run(); the other lanes must still finish
            errors.append(exc)
        finally:
            self._wake_next()

    def map(self, task: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
        """``task`` of every item in ``workers`` new threads that start now; continue when all are done.

        Called from a running thread (a lane), which resumes at the virtual time the last worker
        ends, as a thread pool's ``map`` returns when its last task does.
        """
        work = deque(enumerate(items))
        results: list[Any] = [None] * len(items)
        errors: list[BaseException] = []
        parent: threading.Event = self._local.gate
        remaining = [min(workers, len(items))]
        if not remaining[0]:
            return results

        def main(gate: threading.Event) -> None:
            self._local.gate = gate
            gate.wait()
            try:
                while work:  # one thread runs at a time: no other takes the item in between
                    index, item = work.popleft()
                    results[index] = task(item)
            except BaseException as exc:  # re-raised in the parent, as a pool's map does
                errors.append(exc)
            finally:
                with self._lock:
                    remaining[0] -= 1
                    if not remaining[0]:
                        heapq.heappush(self._heap, (self.now, next(self._order), parent))
                self._wake_next()

        threads = []
        with self._lock:
            for _ in range(remaining[0]):
                gate = threading.Event()
                heapq.heappush(self._heap, (self.now, next(self._order), gate))
                threads.append(threading.Thread(target=main, args=(gate,), daemon=True))
        for thread in threads:
            thread.start()
        parent.clear()
        self._wake_next()
        parent.wait()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    def sleep_until(self, when: float) -> None:
        """Let every thread with earlier business run first; continue at ``when``."""
        gate: threading.Event = self._local.gate
        gate.clear()
        with self._lock:
            heapq.heappush(self._heap, (max(when, self.now), next(self._order), gate))
        self._wake_next()
        gate.wait()

    def _wake_next(self) -> None:
        with self._lock:
            if not self._heap:
                return
            self.now, _, gate = heapq.heappop(self._heap)
        gate.set()


class Window:
    """Units consumed in the last second (sliding)."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.total = 0

    def used(self, now: float) -> int:
        while self.entries and self.entries[0][0] <= now - 1.0:
            self.total -= self.entries.popleft()[1]
        return self.total

    def add(self, now: float, units: int) -> None:
        self.entries.append((now, units))
        self.total += units


@dataclass
class Limits:
    """Per-partition accounting shared by every client of one simulated table."""

    writes: dict[Any, Window] = field(default_factory=lambda: defaultdict(Window))
    reads: dict[Any, Window] = field(default_factory=lambda: defaultdict(Window))
    per_second: dict[tuple[Any, int], int] = field(default_factory=lambda: defaultdict(int))
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)
    throttled: Counter[str] = field(default_factory=Counter)  # throttled requests (first and later attempts)
    gave_up: Counter[str] = field(default_factory=Counter)  # throttled on every attempt: the caller saw it
    conflict_units: int = 0  # write units spent on conditional writes that failed
    write_units: int = 0  # consumed in all (billed)
    read_units: int = 0

    def try_write(self, key: Any, units: int, now: float) -> bool:
        window = self.writes[key]
        if window.used(now) + units > PARTITION_WCU:
            return False
        window.add(now, units)
        self.per_second[(key, int(now))] += units
        self.write_units += units
        return True

    def try_read(self, key: Any, units: int, now: float) -> bool:
        window = self.reads[key]
        if window.used(now) + units > PARTITION_RCU:
            return False
        window.add(now, units)
        self.read_units += units
        return True

    def peak_write(self, keep: Callable[[Any], bool] = lambda _: True) -> tuple[int, Any]:
        """Highest write units consumed in one (whole virtual) second by one partition, and which."""
        best = (0, None)
        for (key, _), units in self.per_second.items():
            if units > best[0] and keep(key):
                best = (units, key)
        return best


class VirtualExecutor(Executor):
    """What the aggregator's thread pool does, on the virtual clock: ``map`` over ``workers`` threads.

    Every worker thread is a thread of the lane's container: its DynamoDB calls wait in parallel,
    its CPU time shares the lane's vCPU with the others (``LimitedClient.spend_cpu``).
    """

    def __init__(self, clock: VirtualClock, client: LimitedClient, workers: int) -> None:
        self._clock = clock
        self._client = client
        self._workers = workers

    def map(
        self, fn: Callable[..., Any], *iterables: Any, timeout: float | None = None, chunksize: int = 1
    ) -> Any:
        def task(args: tuple[Any, ...]) -> Any:
            self._client.mark_cpu()
            try:
                return fn(*args)
            finally:
                self._client.spend_cpu()

        self._client.spend_cpu()  # what the caller computed before handing the work out
        try:
            return iter(self._clock.map(task, list(zip(*iterables, strict=True)), self._workers))
        finally:
            self._client.mark_cpu()


def throttle_error(operation: str) -> Exception:
    from botocore.exceptions import ClientError

    reason = (
        "TableWriteKeyRangeThroughputExceeded"
        if operation == "PutItem"
        else "TableReadKeyRangeThroughputExceeded"
    )
    response: Any = {
        "Error": {
            "Code": "ProvisionedThroughputExceededException",
            "Message": "Throughput exceeds the limit",
        },
        "ThrottlingReasons": [{"reason": reason}],
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, operation)


class _Throttled(Exception):
    pass


@dataclass
class CallStats:
    """What one client (one Lambda lane) saw: calls, throttle retries."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    cpu_s: float = 0.0  # virtual seconds spent computing (scaled), the rest of a batch waits on DynamoDB


class LimitedClient:
    """The DynamoDB calls the aggregator makes, limited as DynamoDB limits them, on virtual time.

    One per simulated Lambda lane (its own container), all sharing one ``Limits`` and moto client.
    ``cpu_scale`` turns this machine's CPU seconds into the Lambda's (1.0: same speed; a 1,024 MB
    function gets 1024/1769 of a vCPU, so 1.73).
    """

    def __init__(
        self, moto: Any, limits: Limits, clock: VirtualClock, *, cpu_scale: float, seed: int
    ) -> None:
        self._moto = moto
        self._limits = limits
        self._clock = clock
        self._cpu_scale = cpu_scale
        self._rng = random.Random(seed)
        self._cpu = threading.local()  # each thread of the lane measures its own CPU time
        self._cpu_free_s = 0.0  # the lane's share of a vCPU is busy until then
        self.stats = CallStats()

    # --- CPU: whatever the caller computed since its last call takes virtual time too -------------

    def mark_cpu(self) -> None:
        self._cpu.mark = time.thread_time()

    def spend_cpu(self, extra_s: float = 0.0) -> None:
        """Take the CPU time this thread used since its mark; the lane's threads share one CPU."""
        spent = (time.thread_time() - getattr(self._cpu, "mark", 0.0)) * self._cpu_scale + extra_s
        self.stats.cpu_s += spent
        self._cpu_free_s = max(self._clock.now, self._cpu_free_s) + spent
        self._clock.sleep_until(self._cpu_free_s)

    # --- the calls ---------------------------------------------------------------------------------

    def put_item(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        item = kwargs["Item"]
        key = (item["pk"]["S"], item["sk"]["S"])
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            response: Any = {
                "Error": {
                    "Code": "ValidationException",
                    "Message": "Item size has exceeded the maximum allowed size",
                }
            }
            raise ClientError(response, "PutItem")
        units = max(1, math.ceil(max(size, self._limits.sizes.get(key, 0)) / 1024))

        def attempt(now: float) -> Any:
            if not self._limits.try_write(key, units, now):
                raise _Throttled
            try:
                result = self._moto.put_item(**kwargs)
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    self._limits.conflict_units += units  # consumed all the same
                raise
            self._limits.sizes[key] = size
            return result

        return self._call("PutItem", attempt)

    def get_item(self, **kwargs: Any) -> Any:
        key = (kwargs["Key"]["pk"]["S"], kwargs["Key"]["sk"]["S"])

        def attempt(now: float) -> Any:
            if not self._limits.try_read(key, self._read_units(key), now):
                raise _Throttled
            return self._moto.get_item(**kwargs)

        return self._call("GetItem", attempt)

    def batch_get_item(self, **kwargs: Any) -> Any:
        (table, request), *_ = kwargs["RequestItems"].items()

        def attempt(now: float) -> Any:
            admitted, unprocessed = [], []
            for k in request["Keys"]:
                key = (k["pk"]["S"], k["sk"]["S"])
                ok = self._limits.try_read(key, self._read_units(key), now)
                (admitted if ok else unprocessed).append(k)
            if not admitted:
                raise _Throttled
            response = dict(self._moto.batch_get_item(RequestItems={table: {**request, "Keys": admitted}}))
            if unprocessed:
                self._limits.throttled["BatchGetItem keys"] += len(unprocessed)
                response["UnprocessedKeys"] = {table: {**request, "Keys": unprocessed}}
            return response

        return self._call("BatchGetItem", attempt)

    def query(self, **kwargs: Any) -> Any:
        return self._call("Query", lambda now: self._moto.query(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._moto, name)

    def _read_units(self, key: tuple[str, str]) -> int:
        return max(1, math.ceil(self._limits.sizes.get(key, 1) / 4096))

    def _call(self, operation: str, attempt: Callable[[float], Any]) -> Any:
        """One API call as botocore's standard retry mode makes it, in virtual time."""
        self.spend_cpu(CALL_CPU_S)
        self.stats.calls[operation] += 1
        half = LATENCY_S[operation] / 2
        try:
            for number in range(1, CLIENT_ATTEMPTS + 1):
                self._clock.sleep_until(self._clock.now + half)
                try:
                    result = attempt(self._clock.now)
                except _Throttled:
                    self._limits.throttled[operation] += 1
                    self._clock.sleep_until(self._clock.now + half)
                    if number == CLIENT_ATTEMPTS:
                        self._limits.gave_up[operation] += 1
                        raise throttle_error(operation) from None
                    self.stats.retries += 1
                    backoff = min(self._rng.random() * 2 ** (number - 1), 20.0)  # botocore's full jitter
                    self._clock.sleep_until(self._clock.now + backoff)
                    continue
                except Exception:
                    self._clock.sleep_until(self._clock.now + half)
                    raise
                self._clock.sleep_until(self._clock.now + half)
                return result
            raise AssertionError("not reached")
        finally:
            self.mark_cpu()  # moto's own CPU is not the Lambda's
