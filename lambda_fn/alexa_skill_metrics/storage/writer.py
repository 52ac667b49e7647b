"""The recorder's one write per request: bounded in time, never raising into the skill.

By default the write goes through ``SignedDynamoDB`` (one signed HTTP POST, at most two
attempts, short timeouts). A boto3 client passed in is used as it is instead, with its own
retry configuration (for instrumented clients, or in-process moto in tests). Whatever the
delivery, a ``CircuitBreaker`` stops writing for a growing cool-down after a write times out or
cannot connect; what it skips is counted as dropped.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> writer = EventWriter(Settings(table_name="skill-metrics"))   # no connection made yet
>>> writer.dropped
0
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import TYPE_CHECKING, Any, Protocol

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.storage.breaker import CircuitBreaker
from alexa_skill_metrics.storage.codec import event_to_item
from alexa_skill_metrics.storage.keys import PK
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


class Transport(Protocol):
    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]: ...


class BotocoreTransport:
    """A caller's boto3 client, its errors mapped onto ``DynamoDBError``."""

    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        method = getattr(self._client, _snake(operation))
        try:
            result: dict[str, Any] = method(**payload)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise DynamoDBError(code, retryable=False, status=status) from None
        except Exception as exc:
            # Timeouts and connection failures (botocore's HTTPClientError / ConnectionError
            # families) are transport failures, as in ``SignedDynamoDB``: they open the breaker.
            raise DynamoDBError(type(exc).__name__, retryable=_unreachable(exc)) from None
        return result


class EventWriter:
    """Writes events with one ``PutItem`` each; failures are logged, counted and swallowed."""

    def __init__(
        self,
        settings: Settings,
        client: DynamoDBClient | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._settings = settings
        self._transport: Transport | None = BotocoreTransport(client) if client is not None else None
        self._attempts = 1 if client is not None else ATTEMPTS
        self.breaker = breaker if breaker is not None else CircuitBreaker()
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

            self._transport = SignedDynamoDB(timeout_s=self._settings.timeout_ms / 1000)
        return self._transport

    @property
    def attempt_s(self) -> float:
        """The longest one attempt can take: connect plus read timeout."""
        return 2 * self._settings.timeout_ms / 1000

    def put(self, event: Event, deadline: float | None = None) -> bool:
        """Write ``event``; return whether it is now stored (a duplicate counts as stored).

        ``deadline`` (``time.monotonic`` seconds): no attempt starts that could end after it;
        the event is dropped instead.
        """
        if self.observer is not None:
            try:
                self.observer(event)
            except Exception as exc:  # the observer never stops a write
                telemetry.warn("skill metrics observer error", error=type(exc).__name__)
        if not self.breaker.allow():
            self._drop(CIRCUIT_OPEN, event, log=False)
            return False
        payload = {
            "TableName": self._settings.table_name,
            "Item": event_to_item(event, self._settings.retention_days),
            "ConditionExpression": _FIRST_WRITE,
        }
        failure: DynamoDBError | None = None
        for attempt in range(1, self._attempts + 1):
            if deadline is not None and time.monotonic() + self.attempt_s > deadline:
                return self._give_up(event, DEADLINE_CLOSE, failure)
            try:
                self.transport.call("PutItem", payload)
            except DynamoDBError as exc:
                if exc.code == _DUPLICATE:
                    self.breaker.succeeded()
                    self.duplicates += 1
                    return True
                failure = exc
                if exc.retryable and attempt < self._attempts:
                    time.sleep(random.uniform(*_RETRY_PAUSE_S))
                    continue
                return self._give_up(event, exc.code, failure)
            except Exception as exc:  # fail-open: a bug here must not reach the customer
                return self._give_up(event, type(exc).__name__, None)
            self.breaker.succeeded()
            self.written += 1
            return True
        return False  # not reached: every attempt returns or continues

    def drop(self, event: Event, code: str) -> None:
        """Count ``event`` as dropped without trying to write it (a delivery that gave up on it)."""
        self._drop(code, event)

    def _give_up(self, event: Event, code: str, failure: DynamoDBError | None) -> bool:
        """Drop ``event``; tell the breaker what its last attempt showed about DynamoDB."""
        if failure is not None and failure.unreachable:
            cool_down_s = self.breaker.failed()
            with contextlib.suppress(Exception):
                telemetry.warn("metrics writes paused", error_code=failure.code, cool_down_s=cool_down_s)
        elif failure is not None and failure.status is not None:
            self.breaker.succeeded()  # DynamoDB answered: reachable, even if it said no
        else:
            self.breaker.release()
        self._drop(code, event)
        return False

    def _drop(self, code: str, event: Event, log: bool = True) -> None:
        self.dropped += 1
        try:
            if log:  # an open breaker says so once when it opens, not once per skipped event
                telemetry.warn(
                    "metrics event dropped",
                    error_code=code,
                    retryable=code in RETRYABLE,
                    request_type=event.request_type,
                    dropped_in_container=self.dropped,
                )
            telemetry.count(telemetry.DROPS_METRIC, stage=self._settings.stage)
        except Exception:
            pass


def _unreachable(exc: Exception) -> bool:
    """Whether a botocore exception is a timeout or connection failure (nothing answered)."""
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, (HTTPClientError, BotocoreConnectionError))


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
