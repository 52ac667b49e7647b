"""The recorder's one write per request: bounded in time, never raising into the skill.

By default the write goes through ``SignedDynamoDB`` (one signed HTTP POST, at most two
attempts, short timeouts). A boto3 client passed in is used as it is instead, with its own
retry configuration (for instrumented clients, or in-process moto in tests).

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> writer = EventWriter(Settings(table_name="skill-metrics"))   # no connection made yet
>>> writer.dropped
0
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Protocol

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.storage.codec import event_to_item
from alexa_skill_metrics.storage.keys import PK
from alexa_skill_metrics.storage.signed_http import RETRYABLE, DynamoDBError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.model import Event

# First write wins: a retried request (same request id, same key) is not recorded twice.
_FIRST_WRITE = f"attribute_not_exists({PK})"
_DUPLICATE = "ConditionalCheckFailedException"
ATTEMPTS = 2
_RETRY_PAUSE_S = (0.005, 0.025)  # jittered, so a throttled burst does not retry in lockstep


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
            raise DynamoDBError(code, retryable=False) from None
        except Exception as exc:
            raise DynamoDBError(type(exc).__name__, retryable=False) from None
        return result


class EventWriter:
    """Writes events with one ``PutItem`` each; failures are logged, counted and swallowed."""

    def __init__(self, settings: Settings, client: DynamoDBClient | None = None) -> None:
        self._settings = settings
        self._transport: Transport | None = BotocoreTransport(client) if client is not None else None
        self._attempts = 1 if client is not None else ATTEMPTS
        self.written = 0
        self.duplicates = 0
        self.dropped = 0

    @property
    def transport(self) -> Transport:
        if self._transport is None:  # first write: importing and configuring cost nothing
            from alexa_skill_metrics.storage.signed_http import SignedDynamoDB

            self._transport = SignedDynamoDB(timeout_s=self._settings.timeout_ms / 1000)
        return self._transport

    def put(self, event: Event) -> bool:
        """Write ``event``; return whether it is now stored (a duplicate counts as stored)."""
        payload = {
            "TableName": self._settings.table_name,
            "Item": event_to_item(event, self._settings.retention_days),
            "ConditionExpression": _FIRST_WRITE,
        }
        for attempt in range(1, self._attempts + 1):
            try:
                self.transport.call("PutItem", payload)
            except DynamoDBError as exc:
                if exc.code == _DUPLICATE:
                    self.duplicates += 1
                    return True
                if exc.retryable and attempt < self._attempts:
                    time.sleep(random.uniform(*_RETRY_PAUSE_S))
                    continue
                self._drop(exc.code, event)
                return False
            except Exception as exc:  # fail-open: a bug here must not reach the customer
                self._drop(type(exc).__name__, event)
                return False
            self.written += 1
            return True
        return False  # not reached: every attempt returns or continues

    def _drop(self, code: str, event: Event) -> None:
        self.dropped += 1
        try:
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


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
