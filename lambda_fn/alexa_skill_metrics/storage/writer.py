"""The recorder's one write per request: bounded in time, never raising into the skill.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> writer = EventWriter(Settings(table_name="skill-metrics"))   # no client built yet
>>> writer.dropped
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.storage.codec import event_to_item
from alexa_skill_metrics.storage.keys import PK

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.model import Event

# First write wins: a retried request (same request id, same key) is not recorded twice.
_FIRST_WRITE = f"attribute_not_exists({PK})"


def recorder_client(settings: Settings) -> DynamoDBClient:
    """A DynamoDB client for the skill's hot path.

    Short connect and read timeouts, two attempts in all, and the ``standard`` retry mode in
    place of botocore's legacy DynamoDB policy (ten attempts, ~25 s of back-off). Parameter
    validation is off: the item is built by our own codec, and validation is most of botocore's
    per-call CPU. Endpoint, region and credentials come from boto3's standard configuration.
    """
    import boto3
    from botocore.config import Config

    timeout = settings.timeout_ms / 1000
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": 2},
        parameter_validation=False,
        tcp_keepalive=True,
    )
    return boto3.session.Session().client("dynamodb", config=config)


class EventWriter:
    """Writes events with one ``PutItem`` each; failures are logged, counted and swallowed."""

    def __init__(self, settings: Settings, client: DynamoDBClient | None = None) -> None:
        self._settings = settings
        self._client = client  # built on first write: importing or configuring costs nothing
        self.written = 0
        self.duplicates = 0
        self.dropped = 0

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = recorder_client(self._settings)
        return self._client

    def put(self, event: Event) -> bool:
        """Write ``event``; return whether it is now stored (a duplicate counts as stored)."""
        try:
            self.client.put_item(
                TableName=self._settings.table_name,
                Item=event_to_item(event, self._settings.retention_days),
                ConditionExpression=_FIRST_WRITE,
            )
        except Exception as exc:  # fail-open: the skill's reply must not depend on metrics
            if _is_duplicate(exc):
                self.duplicates += 1
                return True
            self._drop(exc, event)
            return False
        self.written += 1
        return True

    def _drop(self, exc: Exception, event: Event) -> None:
        self.dropped += 1
        try:
            telemetry.warn(
                "metrics event dropped",
                error=type(exc).__name__,
                error_code=_error_code(exc),
                request_type=event.request_type,
                dropped_in_container=self.dropped,
            )
            telemetry.count(telemetry.DROPS_METRIC, stage=self._settings.stage)
        except Exception:  # noqa: S110 - reporting a drop must not become a failure itself
            pass


def _error_code(exc: Exception) -> str | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None


def _is_duplicate(exc: Exception) -> bool:
    return _error_code(exc) == "ConditionalCheckFailedException"
