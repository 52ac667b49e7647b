"""The reporting Lambda: HTTP API payload 2.0 events in, JSON reports out.

``alexa_skill_metrics.reporting.lambda_handler`` is built on first access, which is the Lambda
runtime resolving the handler at cold start: a missing or invalid ``METRICS_TABLE`` fails right
there with a ``ConfigurationError`` naming it, before any request is taken. The DynamoDB client
is built once per container, on the first report.

Example
-------
>>> handler = create_handler(Settings(table_name="skill-metrics"))   # no client built yet
>>> handler({"rawPath": "/nowhere", "requestContext": {"http": {"method": "GET", "path": "/nowhere"},
...          "stage": "$default"}}, None)["statusCode"]
404
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def create_handler(
    settings: Settings | None = None,
    *,
    client: DynamoDBClient | None = None,
    clock: Callable[[], int] | None = None,
) -> LambdaHandler:
    """A reporting Lambda handler over the stored rollups of ``settings.table_name``.

    ``settings`` defaults to ``Settings.from_env()`` (``METRICS_TABLE``), raising
    ``ConfigurationError`` when it is missing or invalid.
    """
    from alexa_skill_metrics.reporting.api import build_app
    from alexa_skill_metrics.reporting.reporter import Reporter
    from alexa_skill_metrics.reporting.source import StoredRollups
    from alexa_skill_metrics.storage.rollups import RollupStore

    settings = settings or Settings.from_env()
    app = build_app(Reporter(StoredRollups(RollupStore(settings.table_name, client)), clock=clock))

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


@cache
def _default_handler() -> LambdaHandler:
    return create_handler()


def __getattr__(name: str) -> Any:
    # PEP 562: the runtime's getattr(module, "lambda_handler") at cold start builds it, once.
    if name == "lambda_handler":
        return _default_handler()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
