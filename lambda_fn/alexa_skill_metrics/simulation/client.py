"""A boto3 DynamoDB client stand-in that takes DynamoDB's latency and limits, on the virtual clock.

One ``LimitedClient`` per simulated Lambda lane (its own container), all sharing one
``limits.Limits`` and one store (in-process moto or ``table.MemoryTable``). Each call takes the
modelled latency; in the middle of it, at one virtual instant (only one thread runs, so each
request is atomic, as DynamoDB's single-item writes are), it is checked against the limits and,
if admitted, executed by the store. Throttled requests are retried the way the aggregator's
botocore client (``analytics_client``: standard mode, 4 attempts in all) retries them, with its
full-jitter exponential back-off, in virtual time. ``VirtualExecutor`` is the aggregator's
thread pool on the same clock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.simulation.clock import VirtualClock
from alexa_skill_metrics.simulation.limits import MAX_ITEM_BYTES, Limits, item_size

CLIENT_ATTEMPTS = 4  # analytics_client: retries={"mode": "standard", "total_max_attempts": 4}
# Round trips inside a region: DynamoDB's "single-digit millisecond" latency (an assumption, not a limit).
LATENCY_S = {"PutItem": 0.006, "GetItem": 0.004, "BatchGetItem": 0.008, "Query": 0.010}
CALL_CPU_S = 0.0005  # botocore's own work per call (serialise, sign, parse), not measured inside moto


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
            admitted: list[dict[str, Any]] = []
            unprocessed: list[dict[str, Any]] = []
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
