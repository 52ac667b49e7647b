"""Structured logs and CloudWatch metrics of the package itself, created on first use.

Powertools' Logger and metrics cost import time, so they are only imported when something
must be said; the skill's healthy path never touches them. Nothing logged here carries customer
data: callers pass counts, names and exception class names only.
"""

from __future__ import annotations

import io
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "alexa-skill-metrics"
METRIC_NAMESPACE = "AlexaSkillMetrics"
DROPS_METRIC = "RecorderDrops"


class _CurrentStdout(io.TextIOBase):
    """Writes to whatever ``sys.stdout`` is at write time (Lambda's, or a test's capture)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@cache
def logger() -> Logger:
    import logging

    from aws_lambda_powertools import Logger

    return Logger(
        service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE),
        logger_handler=logging.StreamHandler(_CurrentStdout()),
    )


def count(metric: str, value: float = 1, **dimensions: str) -> None:
    """Emit one CloudWatch metric as an Embedded Metric Format log line (no API call)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=metric, unit=MetricUnit.Count, value=value, namespace=METRIC_NAMESPACE) as m:
        for name, dim in dimensions.items():
            m.add_dimension(name=name, value=dim)


def warn(message: str, **fields: Any) -> None:
    logger().warning(message, extra=fields)


def error(message: str, **fields: Any) -> None:
    logger().error(message, extra=fields)


def info(message: str, **fields: Any) -> None:
    logger().info(message, extra=fields)
