"""Reporting: the console's five metric views and SMAPI's get-metrics call, from rollups or raw events.

Public entry points (stable):

* ``lambda_handler`` - the reporting Lambda (HTTP API payload 2.0 events), configured from
  ``METRICS_TABLE``; built lazily, on first access.
* ``Reporter(source, clock=...)`` - the in-process API the CLI and the dashboard call:
  ``.view(name, ReportRequest) -> dict``, ``.metric(MetricRequest) -> dict`` and
  ``.metrics_v2(MetricsV2Request) -> dict`` (Amazon's Metrics API v2) return exactly the JSON
  bodies the HTTP API serves; ``BadRequest`` names a bad parameter.
* ``MetricsClient`` - a typed client of the v1 and v2 metrics calls, for a deployed stack (SigV4)
  or Amazon's Skill Management API (an LWA token).
* Sources: ``StoredRollups(RollupStore(table))`` and ``RecomputedRollups(EventReader(table))``.

Importing this package loads nothing heavy (no Powertools, boto3 or sketches).

Example
-------
>>> from alexa_skill_metrics.reporting import EventList, RecomputedRollups, ReportRequest, Reporter
>>> request = ReportRequest.from_params("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
...     {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z"})
>>> view = Reporter(RecomputedRollups(EventList([])), clock=lambda: 0).view("sessions", request)
>>> view["totals"]["started"], len(view["series"])
(0, 7)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alexa_skill_metrics._lazy import lazy_exports

__all__ = [
    "METRICS",
    "VIEWS",
    "BadRequest",
    "EventList",
    "HttpError",
    "MetricRequest",
    "MetricsClient",
    "MetricsV2Request",
    "RecomputedRollups",
    "ReportRequest",
    "Reporter",
    "RollupSource",
    "StoredRollups",
    "create_handler",
    "lambda_handler",
    "openapi_document",
]

if TYPE_CHECKING:
    from alexa_skill_metrics.reporting.errors import BadRequest, HttpError
    from alexa_skill_metrics.reporting.handler import create_handler
    from alexa_skill_metrics.reporting.metrics import METRICS, MetricRequest
    from alexa_skill_metrics.reporting.metrics_client import MetricsClient
    from alexa_skill_metrics.reporting.openapi import openapi_document
    from alexa_skill_metrics.reporting.params import ReportRequest
    from alexa_skill_metrics.reporting.reporter import Reporter
    from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups, RollupSource, StoredRollups
    from alexa_skill_metrics.reporting.v2 import MetricsV2Request
    from alexa_skill_metrics.reporting.views import VIEWS

_LAZY = {
    "METRICS": "alexa_skill_metrics.reporting.metrics",
    "VIEWS": "alexa_skill_metrics.reporting.views",
    "BadRequest": "alexa_skill_metrics.reporting.errors",
    "HttpError": "alexa_skill_metrics.reporting.errors",
    "EventList": "alexa_skill_metrics.reporting.source",
    "MetricRequest": "alexa_skill_metrics.reporting.metrics",
    "MetricsClient": "alexa_skill_metrics.reporting.metrics_client",
    "MetricsV2Request": "alexa_skill_metrics.reporting.v2",
    "RecomputedRollups": "alexa_skill_metrics.reporting.source",
    "ReportRequest": "alexa_skill_metrics.reporting.params",
    "Reporter": "alexa_skill_metrics.reporting.reporter",
    "RollupSource": "alexa_skill_metrics.reporting.source",
    "StoredRollups": "alexa_skill_metrics.reporting.source",
    "create_handler": "alexa_skill_metrics.reporting.handler",
    "lambda_handler": "alexa_skill_metrics.reporting.handler",
    "openapi_document": "alexa_skill_metrics.reporting.openapi",
}


__getattr__ = lazy_exports(__name__, _LAZY)
