"""The recorder's writes: bounded in time, never raising into the skill.

Three ways to write, one per delivery:

* ``put``: one ``PutItem`` while the customer waits (inline): at most two attempts of
  ``timeout_ms``, and a ``CircuitBreaker`` that stops writing for a growing cool-down after a
  write times out, cannot connect or meets a server error; what it skips is counted as dropped.
* ``put_by``: one ``PutItem`` after the reply (Lambda extension), where the only bound is the
  invocation's deadline: retried with exponential backoff and full jitter, each attempt waiting
  for DynamoDB's answer as long as the time left allows, until the deadline. A DynamoDB that
  answers within it never opens the breaker, however slow; one that only errors, refuses or stays
  silent until the deadline does.
* ``put_batch``: up to 25 events in one ``BatchWriteItem`` (web services' background workers),
  unprocessed items and throttled or failed calls retried with backoff until written, or until
  ``give_up_after_s`` of DynamoDB being down.

By default the calls go through ``SignedDynamoDB`` (a signed HTTP POST, short timeouts). A
boto3 client passed in is used as it is instead, with its own retry and timeout configuration
(for instrumented clients, or in-process moto in tests).

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> writer = EventWriter(Settings(table_name="skill-metrics"))   # no connection made yet
>>> writer.dropped
0
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.storage.breaker import CircuitBreaker
from alexa_skill_metrics.storage.codec import event_to_item
from alexa_skill_metrics.storage.keys import PK, SK
from alexa_skill_metrics.storage.signed_http import RETRYABLE, DynamoDBError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.model import Event

# First write wins: a retried request (same request id, same key) is not recorded twice.
_FIRST_WRITE = f"attribute_not_exists({PK})"
_DUPLICATE = "ConditionalCheckFailedException"
ATTEMPTS = 2
_RETRY_PAUSE_S = (0.005, 0.025)  # jittered, so a throttled burst does not retry in lockstep
CIRCUIT_OPEN = "CircuitOpen"  # the drop code of a write the breaker skipped
DEADLINE_CLOSE = "DeadlineClose"  # the drop code of a write with no time left to finish
BATCH_SIZE = 25  # BatchWriteItem's limit
# Exponential backoff with full jitter (pause drawn from 0 to the ceiling, which doubles per
# retry): retries of many writers spread out instead of arriving together.
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 1.0
# After the reply, each attempt waits for the answer as long as the time left allows; its read
# timeout is one of a few steps (``timeout_ms`` x 1.5^k) so that a kept-alive connection per
# step serves every invocation with the same time left.
_PATIENT_STEP = 1.5
_PATIENT_MAX_S = 60.0
# Nobody waits for a background batch either: a busy DynamoDB (or a loaded host) answering after
# the inline 400 ms would otherwise be asked again, the same items twice, while the queue fills.
BATCH_READ_TIMEOUT_S = 5.0


class Transport(Protocol):
    def call(
        self, operation: str, payload: dict[str, Any], read_timeout_s: float | None = None
    ) -> dict[str, Any]: ...


class BotocoreTransport:
    """A caller's boto3 client, its errors mapped onto ``DynamoDBError``; its own timeouts apply."""

    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client

    def call(
        self, operation: str, payload: dict[str, Any], read_timeout_s: float | None = None
    ) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        method = getattr(self._client, _snake(operation))
        try:
            result: dict[str, Any] = method(**payload)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            retryable = code in RETRYABLE or (isinstance(status, int) and status >= 500)
            raise DynamoDBError(code, retryable=retryable, status=status) from None
        except Exception as exc:
            # Timeouts and connection failures (botocore's HTTPClientError / ConnectionError
            # families) are transport failures, as in ``SignedDynamoDB``: they open the breaker.
            raise DynamoDBError(type(exc).__name__, retryable=_unreachable(exc)) from None
        return result


class EventWriter:
    """Writes events (``put``, ``put_by``, ``put_batch``); failures are logged, counted and swallowed.

    Safe to use from several threads: the counters are updated under a lock.
    """

    def __init__(
        self,
        settings: Settings,
        client: DynamoDBClient | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._settings = settings
        self._transport: Transport | None = BotocoreTransport(client) if client is not None else None
        self._own_timeouts = client is None  # a caller's client keeps its own
        self._attempts = 1 if client is not None else ATTEMPTS
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._counting = threading.Lock()
        self.written = 0
        self.duplicates = 0
        self.dropped = 0
        # Told of every event before its write, where the write happens (after the reply in Lambda):
        # the recorder's health metrics (``recording.health``). Its errors are its own.
        self.observer: Callable[[Event], None] | None = None

    @property
    def transport(self) -> Transport:
        if self._transport is None:  # first write: importing and configuring cost nothing
            from alexa_skill_metrics.storage.signed_http import SignedDynamoDB

            # One connection per background worker (``BackgroundDelivery``); Lambda uses one
            self._transport = SignedDynamoDB(timeout_s=self._settings.timeout_ms / 1000, connections=8)
        return self._transport

    @property
    def attempt_s(self) -> float:
        """The longest one attempt can take: connect plus read timeout."""
        return 2 * self._settings.timeout_ms / 1000

    def put(self, event: Event, deadline: float | None = None) -> bool:
        """Write ``event`` while the customer waits; return whether it is now stored (a duplicate counts).

        ``deadline`` (``time.monotonic`` seconds): no attempt starts that could end after it;
        the event is dropped instead.
        """
        self._observe((event,))
        if not self.breaker.allow():
            self._drop(CIRCUIT_OPEN, event, log=False)
            return False
        payload = self._put_payload(event)
        failure: DynamoDBError | None = None
        for attempt in range(1, self._attempts + 1):
            if deadline is not None and time.monotonic() + self.attempt_s > deadline:
                return self._give_up(event, DEADLINE_CLOSE, failure)
            try:
                self.transport.call("PutItem", payload)
            except DynamoDBError as exc:
                if exc.code == _DUPLICATE:
                    return self._stored(duplicate=True)
                failure = exc
                if exc.retryable and attempt < self._attempts:
                    time.sleep(random.uniform(*_RETRY_PAUSE_S))
                    continue
                return self._give_up(event, exc.code, failure)
            except Exception as exc:  # fail-open: a bug here must not reach the customer
                return self._give_up(event, type(exc).__name__, None)
            return self._stored()
        return False  # not reached: every attempt returns or continues

    def put_by(self, event: Event, deadline: float) -> bool:
        """Write ``event`` after the reply: retry with backoff until ``deadline`` (``time.monotonic``).

        No attempt starts that could end after the deadline; each waits for DynamoDB's answer as
        long as the time left allows, so a slow DynamoDB is waited for, not given up on.

        >>> from alexa_skill_metrics.config import Settings
        >>> EventWriter(Settings(table_name="t")).attempt_within(0.5)   # 400 ms connect + 400 ms read
        >>> EventWriter(Settings(table_name="t")).attempt_within(3.0)   # read: 400 ms x 1.5^4
        2.025
        """
        self._observe((event,))
        if not self.breaker.allow():
            self._drop(CIRCUIT_OPEN, event, log=False)
            return False
        if self.attempt_within(deadline - time.monotonic()) is None:
            return self._give_up(event, DEADLINE_CLOSE, None)  # not even the transport gets built
        payload = self._put_payload(event)
        try:
            # Built before the first attempt's timeout is chosen: a cold container's first build
            # takes a while (boto3's session and endpoint resolution), and the time left shrinks
            transport = self.transport
        except Exception as exc:  # no credentials, or any bug: fail-open
            return self._give_up(event, type(exc).__name__, None)
        failure: DynamoDBError | None = None
        for retry in itertools.count():
            read_s = self.attempt_within(deadline - time.monotonic())
            if read_s is None:
                return self._give_up(event, DEADLINE_CLOSE if failure is None else failure.code, failure)
            try:
                transport.call("PutItem", payload, read_timeout_s=read_s)
            except DynamoDBError as exc:
                if exc.code == _DUPLICATE:
                    return self._stored(duplicate=True)
                failure = exc
                if not exc.retryable:
                    return self._give_up(event, exc.code, failure)
                pause = _backoff(retry)
                if time.monotonic() + pause >= deadline:
                    return self._give_up(event, exc.code, failure)
                time.sleep(pause)
                continue
            except Exception as exc:  # fail-open, as in put()
                return self._give_up(event, type(exc).__name__, None)
            return self._stored()
        return False  # not reached: the loop returns

    def attempt_within(self, remaining_s: float) -> float | None:
        """The read timeout of an attempt that must end within ``remaining_s``; ``None``: no time for one."""
        base = self._settings.timeout_ms / 1000
        if remaining_s < 2 * base:
            return None
        if not self._own_timeouts:
            return base  # a caller's client: its timeouts are its own, ``timeout_ms`` the estimate
        read = base
        while base + read * _PATIENT_STEP <= remaining_s and read * _PATIENT_STEP <= _PATIENT_MAX_S:
            read = round(read * _PATIENT_STEP, 6)
        return read

    def put_batch(
        self,
        events: Sequence[Event],
        give_up_after_s: float = 30.0,
        between_retries: Callable[[], object] | None = None,
    ) -> int:
        """Write up to 25 events with ``BatchWriteItem``; return how many are now stored.

        Each call waits up to ``BATCH_READ_TIMEOUT_S`` for its answer. Unprocessed items are sent
        again, and a throttled, failed or unanswered call is retried, with backoff and jitter;
        events still unwritten after DynamoDB has been failing for ``give_up_after_s`` seconds, or
        that DynamoDB rejects, are dropped and counted. ``BatchWriteItem`` takes no condition: a
        request id written twice (an Alexa retry) overwrites its first item (``BackgroundDelivery``
        recognises the retries it has seen), and the stream reports the second write as a
        ``MODIFY``, which the aggregator does not count again. ``between_retries`` is called before each
        pause (the background delivery reports its queue's drops there while DynamoDB is down).
        """
        if len(events) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} events per batch, not {len(events)}")
        self._observe(events)
        table = self._settings.table_name
        items: dict[tuple[str, str], Event] = {}  # BatchWriteItem refuses a key twice in one call
        requests: list[dict[str, Any]] = []
        for event in events:
            item = event_to_item(event, self._settings.retention_days, self._settings.event_write_shards)
            key = (item[PK]["S"], item[SK]["S"])
            if key in items:
                continue
            items[key] = event
            requests.append({"PutRequest": {"Item": item}})
        stored = len(events) - len(items)  # the repeats are stored with their first copy
        failing_since: float | None = None
        for retry in itertools.count():
            try:
                answer = self.transport.call(
                    "BatchWriteItem", {"RequestItems": {table: requests}}, read_timeout_s=BATCH_READ_TIMEOUT_S
                )
            except DynamoDBError as exc:
                now = time.monotonic()
                failing_since = now if failing_since is None else failing_since
                if not exc.retryable or now - failing_since >= give_up_after_s:
                    self._drop_batch(list(items.values()), exc.code)
                    return stored
                self._pause(retry, between_retries)
                continue
            except Exception as exc:  # fail-open: keep the worker alive, count the loss
                self._drop_batch(list(items.values()), type(exc).__name__)
                return stored
            left = answer.get("UnprocessedItems", {}).get(table, [])
            done = len(requests) - len(left)
            stored += done
            self.tally(written=done)
            if not left:
                return stored
            failing_since = None  # DynamoDB answered: throttled, not down
            unwritten = {(r["PutRequest"]["Item"][PK]["S"], r["PutRequest"]["Item"][SK]["S"]) for r in left}
            items = {k: e for k, e in items.items() if k in unwritten}
            requests = left
            self._pause(retry, between_retries)
        return stored  # not reached: the loop returns

    @staticmethod
    def _pause(retry: int, between_retries: Callable[[], object] | None) -> None:
        if between_retries is not None:
            with contextlib.suppress(Exception):
                between_retries()
        time.sleep(_backoff(retry))

    def _observe(self, events: Sequence[Event]) -> None:
        """Tell the observer of each event about to be written; its errors are never the write's."""
        if self.observer is None:
            return
        for event in events:
            try:
                self.observer(event)
            except Exception as exc:  # the observer never stops a write
                telemetry.warn("skill metrics observer error", error=type(exc).__name__)

    def drop(self, event: Event, code: str) -> None:
        """Count ``event`` as dropped without trying to write it (a delivery that gave up on it)."""
        self._drop(code, event)

    def _put_payload(self, event: Event) -> dict[str, Any]:
        return {
            "TableName": self._settings.table_name,
            "Item": event_to_item(event, self._settings.retention_days, self._settings.event_write_shards),
            "ConditionExpression": _FIRST_WRITE,
        }

    def _stored(self, duplicate: bool = False) -> bool:
        self.breaker.succeeded()
        if duplicate:
            self.tally(duplicates=1)
        else:
            self.tally(written=1)
        return True

    def tally(self, written: int = 0, duplicates: int = 0, dropped: int = 0) -> int:
        """Add to the counters (several threads share a writer); return the new ``dropped``."""
        with self._counting:
            self.written += written
            self.duplicates += duplicates
            self.dropped += dropped
            return self.dropped

    def _give_up(self, event: Event, code: str, failure: DynamoDBError | None) -> bool:
        """Drop ``event``; tell the breaker what its last attempt showed about DynamoDB."""
        self._judge(failure)
        self._drop(code, event)
        return False

    def _judge(self, failure: DynamoDBError | None) -> None:
        """Down (no answer, or a server error): open the breaker; any other answer closes it."""
        if failure is not None and failure.down:
            cool_down_s = self.breaker.failed()
            with contextlib.suppress(Exception):
                telemetry.warn("metrics writes paused", error_code=failure.code, cool_down_s=cool_down_s)
        elif failure is not None and failure.status is not None:
            self.breaker.succeeded()  # DynamoDB answered: reachable, even if it said no
        else:
            self.breaker.release()

    def _drop_batch(self, events: list[Event], code: str) -> None:
        # The breaker is left as it is: the background workers back off themselves, and the
        # request threads never write
        dropped = self.tally(dropped=len(events))
        with contextlib.suppress(Exception):
            telemetry.warn(
                "metrics events dropped",
                error_code=code,
                retryable=code in RETRYABLE,
                dropped=len(events),
                dropped_in_container=dropped,
            )
            telemetry.count(telemetry.DROPS_METRIC, value=len(events), stage=self._settings.stage)

    def _drop(self, code: str, event: Event, log: bool = True) -> None:
        dropped = self.tally(dropped=1)
        try:
            if log:  # an open breaker says so once when it opens, not once per skipped event
                telemetry.warn(
                    "metrics event dropped",
                    error_code=code,
                    retryable=code in RETRYABLE,
                    request_type=event.request_type,
                    dropped_in_container=dropped,
                )
            telemetry.count(telemetry.DROPS_METRIC, stage=self._settings.stage)
        except Exception:
            pass


def _backoff(retry: int) -> float:
    """The pause before retry ``retry`` (0, 1, ...): full jitter under a doubling ceiling."""
    return random.uniform(0.0, min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** min(retry, 16)))


def _unreachable(exc: Exception) -> bool:
    """Whether a botocore exception is a timeout or connection failure (nothing answered)."""
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, (HTTPClientError, BotocoreConnectionError))


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
