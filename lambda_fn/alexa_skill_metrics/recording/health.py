"""The skill's health as CloudWatch metrics: one Embedded Metric Format (EMF) log line per utterance.

Per utterance, in namespace ``HEALTH_NAMESPACE``: ``Utterances`` (1), ``FailedUtterances`` and
``UnhandledUtterances`` (0 or 1, METRICS.md's rules: ``Event.failed``, ``Event.unhandled``), and
``EndpointTime`` (milliseconds, ``Event.endpoint_ms``, when there is a handler time). Two
dimension sets: ``SkillId, Stage`` (the skill's health, whatever version) and ``SkillId, Stage,
FunctionVersion`` (one version's: what a canary deployment's alarms watch; ``AWS_LAMBDA_FUNCTION_VERSION``,
``-`` outside Lambda). CloudWatch Logs turns the line into metrics: no API call.

The line is written where the event's write happens (``EventWriter.observer``): in Lambda after the
reply is posted, in a web service on the background thread. Powertools' ``EphemeralMetrics``
builds it: an instance of its own, so the skill's own Powertools ``Metrics`` (whose state is
shared by every ``Metrics`` instance) neither sees these metrics nor lends them its dimensions;
the skill's ``POWERTOOLS_SERVICE_NAME``, namespace and ``POWERTOOLS_METRICS_DISABLED`` settings are
for its own metrics and do not change these (``METRICS_HEALTH=off`` does). Powertools' metrics
cost about 0.2 s to import, so they are imported at the first utterance, off the customer's path.

Example
-------
>>> from alexa_skill_metrics.model import Event, Outcome
>>> health = HealthMetrics("live", function_version="7")
>>> e = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="IntentRequest", intent="Roll",
...           timestamp_ms=1_767_607_200_000, received_ms=1_767_607_200_040, outcome=Outcome.HANDLED,
...           handler_ms=12.5)
>>> doc = health.document(e)
>>> doc["FailedUtterances"], doc["EndpointTime"], doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
([1.0], [12.5], [['SkillId', 'Stage'], ['SkillId', 'Stage', 'FunctionVersion']])
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from alexa_skill_metrics.model import Event

HEALTH_NAMESPACE = "AlexaSkillHealth"
UTTERANCES, FAILED, UNHANDLED, ENDPOINT = (
    "Utterances",
    "FailedUtterances",
    "UnhandledUtterances",
    "EndpointTime",
)
NO_VERSION = "-"


class HealthMetrics:
    """Writes one EMF line per utterance to stdout (CloudWatch Logs in Lambda); never raises.

    Parameters
    ----------
    stage:
        The deployment's stage (``Settings.stage``), a dimension.
    function_version:
        The Lambda function version serving this container; by default ``AWS_LAMBDA_FUNCTION_VERSION``.
    """

    def __init__(self, stage: str, function_version: str | None = None) -> None:
        self.stage = stage
        self.function_version = (
            function_version or os.environ.get("AWS_LAMBDA_FUNCTION_VERSION") or NO_VERSION
        )
        self._metrics: EphemeralMetrics | None = None
        self._failed = False  # said once that a line could not be made
        self.lines = 0

    def __call__(self, event: Event) -> None:
        """Emit the utterance's line (other requests have none)."""
        if not event.is_utterance:
            return
        try:
            document = self.document(event)
            sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
            self.lines += 1
        except Exception as exc:
            if not self._failed:
                self._failed = True
                telemetry.warn("skill health metrics error", error=type(exc).__name__)

    def document(self, event: Event) -> dict[str, Any]:
        """The EMF document of one utterance (Powertools' serialisation, our own instance)."""
        from aws_lambda_powertools.metrics import MetricUnit

        metrics = self._instance()
        try:
            metrics.add_dimension(name="SkillId", value=event.skill_id)
            metrics.add_dimension(name="Stage", value=self.stage)
            metrics.add_dimensions(
                SkillId=event.skill_id, Stage=self.stage, FunctionVersion=self.function_version
            )
            metrics.add_metric(name=UTTERANCES, unit=MetricUnit.Count, value=1)
            metrics.add_metric(name=FAILED, unit=MetricUnit.Count, value=int(event.failed))
            metrics.add_metric(name=UNHANDLED, unit=MetricUnit.Count, value=int(event.unhandled))
            endpoint_ms = event.endpoint_ms
            if endpoint_ms is not None:
                metrics.add_metric(name=ENDPOINT, unit=MetricUnit.Milliseconds, value=round(endpoint_ms, 3))
            document: dict[str, Any] = dict(metrics.serialize_metric_set())
        finally:
            metrics.clear_metrics()
        return document

    def _instance(self) -> EphemeralMetrics:
        if self._metrics is None:
            from aws_lambda_powertools.metrics import EphemeralMetrics

            metrics = EphemeralMetrics(namespace=HEALTH_NAMESPACE)
            # Powertools would add the skill's POWERTOOLS_SERVICE_NAME as a "service" dimension
            metrics.service = None  # type: ignore[assignment]  # Powertools types it str; None is "no service"
            self._metrics = metrics
        return self._metrics
