"""The OpenAPI 3.1 document served at ``GET /openapi.json``, built from the same definitions as the API.

Response schemas come from the report dataclasses (``schema.component_schemas``), parameter rules
from ``params`` and the metric and view registries, so what is documented is what is served.

Example
-------
>>> doc = openapi_document()
>>> sorted(doc["paths"])  # doctest: +NORMALIZE_WHITESPACE
['/openapi.json', '/v1/skills/{skillId}/metrics', '/v1/skills/{skillId}/views/paths',
 '/v1/skills/{skillId}/views/releases', '/v1/skills/{skillId}/views/retention',
 '/v1/skills/{skillId}/views/{view}',
 '/v2/skills/metrics', '/v2/skills/{skillId}/metrics']
>>> doc["components"]["schemas"]["MetricResponse"]["required"]
['metric', 'timestamps', 'values', 'nextToken']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.model import DEFAULT_MIN_CUSTOMERS, LEAST_MIN_CUSTOMERS
from alexa_skill_metrics.periods import PERIODS
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.metrics import METRICS, MetricResponse
from alexa_skill_metrics.reporting.params import (
    INTENT,
    LOCALE,
    MAX_MIN_CUSTOMERS,
    MAX_RANGE_DAYS,
    MAX_RESULTS,
    MAX_TOKEN_CHARS,
    MAX_VIEW_POINTS,
    RELEASE,
    SKILL_ID,
    SKILL_TYPES,
    VIEW_DEFAULT_PERIOD,
)
from alexa_skill_metrics.reporting.schema import component_schemas, doc
from alexa_skill_metrics.reporting.views import OWN_ROUTE_VIEWS, VIEW_NAMES, VIEWS
from alexa_skill_metrics.reporting.views.paths import PathsView
from alexa_skill_metrics.reporting.views.releases import ReleasesView
from alexa_skill_metrics.reporting.views.retention import COHORTS, DEFAULT_COHORTS, MAX_COHORTS, RetentionView

API_VERSION = "1.0.0"
_RANGE_RULES = (
    "Time is UTC; buckets align to the clock; the range is half-open [startTime, endTime). Times need not "
    "be aligned: a report covers every bucket that intersects the range (startTime floored, endTime "
    "ceiled to the report's bucket: the period's, 15 minutes for SINGLE, at least an hour for the "
    f"overview). At most {MAX_RANGE_DAYS} days. A bucket without traffic reports zeros."
)


@dataclass(frozen=True)
class ErrorBody:
    """Every error: 400 for a bad parameter (named in `parameter`), 404 for an unknown route."""

    status_code: int = field(metadata=doc("The HTTP status code"))
    message: str = field(metadata=doc("What is wrong and how to fix it"))
    parameter: str | None = field(metadata=doc("The parameter at fault, or null"))


def _param(
    name: str, where: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


def _common_parameters(*, metric: bool) -> list[dict[str, Any]]:
    period_schema: dict[str, Any] = {"type": "string", "enum": list(PERIODS)}
    if not metric:
        period_schema["default"] = VIEW_DEFAULT_PERIOD
    return [
        _param(
            "skillId",
            "path",
            "The skill: amzn1.ask.skill.<uuid>, or a legacy application id amzn1.echo-sdk-ams.app.<uuid> "
            "(skills created before 2016)",
            {"type": "string", "pattern": SKILL_ID.pattern},
            True,
        ),
        _param(
            "startTime",
            "query",
            "Start, ISO 8601 (inclusive). " + _RANGE_RULES,
            {"type": "string", "format": "date-time"},
            True,
        ),
        _param(
            "endTime",
            "query",
            "End, ISO 8601 (exclusive); after startTime",
            {"type": "string", "format": "date-time"},
            True,
        ),
        _param(
            "period",
            "query",
            "Size of each point: SINGLE (the whole range), PT15M, PT1H or P1D, and P1W (an extension "
            "beside Amazon's four: ISO weeks from Monday 00:00 UTC; unique customers of a week are a "
            "union of its days, never a sum)"
            + ("" if metric else f"; a view holds at most {MAX_VIEW_POINTS} points"),
            period_schema,
            metric,
        ),
        _param(
            "stage",
            "query",
            "Which stage's traffic",
            {"type": "string", "enum": list(STAGES), "default": "live"},
        ),
        _param(
            "locale",
            "query",
            "Only this locale's traffic, e.g. en-US",
            {"type": "string", "pattern": LOCALE.pattern},
        ),
        _param(
            "intent",
            "query",
            "Only this intent (or LaunchRequest); customer and utterance figures only",
            {"type": "string", "pattern": INTENT.pattern},
        ),
        _release_parameter(),
    ]


def _release_parameter() -> dict[str, Any]:
    return _param(
        "release",
        "query",
        "Only this release's traffic: METRICS_RELEASE's label, else the Lambda function version "
        "(e.g. 7, $LATEST); - for requests recorded without one. Request figures count under the "
        "release that served them, session figures under the release that started the session",
        {"type": "string", "pattern": RELEASE.pattern},
    )


def _responses(schema: dict[str, Any], description: str) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": {"description": "A parameter is missing or invalid; `parameter` names it", "content": error},
        "404": {"description": "No such route", "content": error},
    }


@cache
def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document (built once per process)."""
    schemas = component_schemas(
        *(spec.response for spec in VIEWS.values()),
        MetricResponse,
        ErrorBody,
        RetentionView,
        PathsView,
        ReleasesView,
    )
    for name, spec in VIEWS.items():
        schemas[spec.response.__name__]["properties"]["view"]["enum"] = [name]
    metric_description = "; ".join(f"{name}: {spec.description}" for name, spec in METRICS.items())
    view_refs = {name: f"#/components/schemas/{spec.response.__name__}" for name, spec in VIEWS.items()}
    metrics_parameters = [
        *_common_parameters(metric=True),
        _param("metric", "query", metric_description, {"type": "string", "enum": list(METRICS)}, True),
        _param(
            "skillType",
            "query",
            "Only custom skills are recorded",
            {"type": "string", "enum": list(SKILL_TYPES)},
        ),
        _param(
            "maxResults",
            "query",
            "Values per page",
            {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": MAX_RESULTS},
        ),
        _param(
            "nextToken",
            "query",
            "The previous page's nextToken; every other parameter unchanged",
            {"type": "string", "maxLength": MAX_TOKEN_CHARS},
        ),
    ]
    view_description = "; ".join(f"{name}: {spec.summary}" for name, spec in VIEWS.items())
    views_parameters = [
        *_common_parameters(metric=False),
        _param("view", "path", view_description, {"type": "string", "enum": list(VIEWS)}, True),
        _param(
            "minCustomers",
            "query",
            "slots view only (other views answer 400): k, the distinct customers who must have said "
            "an unresolved value in the range before it is listed in unresolvedValues",
            {
                "type": "integer",
                "minimum": LEAST_MIN_CUSTOMERS,
                "maximum": MAX_MIN_CUSTOMERS,
                "default": DEFAULT_MIN_CUSTOMERS,
            },
            False,
        ),
    ]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Alexa skill metrics",
            "version": API_VERSION,
            "description": "The Alexa developer console's metric views and the Skill Management API's "
            "get-metrics call, from your own recorded traffic. Every figure follows METRICS.md.",
        },
        "paths": {
            "/v1/skills/{skillId}/metrics": {
                "get": {
                    "operationId": "getMetrics",
                    "summary": "SMAPI get metrics: one metric per bucket, paginated",
                    "parameters": metrics_parameters,
                    "responses": _responses(
                        {"$ref": "#/components/schemas/MetricResponse"}, "One page of values"
                    ),
                }
            },
            "/v1/skills/{skillId}/views/{view}": {
                "get": {
                    "operationId": "getView",
                    "summary": "One metric view: the console's five, and friction",
                    "parameters": views_parameters,
                    "responses": _responses(
                        {
                            "oneOf": [{"$ref": ref} for ref in view_refs.values()],
                            "discriminator": {"propertyName": "view", "mapping": view_refs},
                        },
                        "The view",
                    ),
                }
            },
            **_retention_and_paths(),
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": schemas},
    }
    from alexa_skill_metrics.reporting.openapi_v2 import extend_document

    extend_document(document)
    return document


def _retention_and_paths() -> dict[str, Any]:
    """The retention and paths routes, whose parameters differ from the other views'."""
    skill, common = (
        _common_parameters(metric=False)[0],
        {p["name"]: p for p in _common_parameters(metric=False)},
    )
    retention_parameters = [
        skill,
        _param(
            "cohort",
            "query",
            "week: ISO-week cohorts with week offsets (the console's view); day: daily ones, day offsets",
            {"type": "string", "enum": list(COHORTS), "default": "week"},
        ),
        _param(
            "startTime",
            "query",
            f"Start of the first cohort (floored to its week or day); by default {DEFAULT_COHORTS['week']} "
            f"weekly or {DEFAULT_COHORTS['day']} daily cohorts before the end; at most {MAX_COHORTS['week']} "
            f"weeks or {MAX_COHORTS['day']} days",
            {"type": "string", "format": "date-time"},
        ),
        _param(
            "endTime",
            "query",
            "End of the report (its week or day is included); by default now",
            {"type": "string", "format": "date-time"},
        ),
        common["stage"],
        _param(
            "locale",
            "query",
            "Not accepted: a customer's cohort does not depend on the locale they used (400)",
            {"type": "string"},
        ),
        _param(
            "release",
            "query",
            "Not accepted: a customer's cohort does not depend on the release that served them (400)",
            {"type": "string"},
        ),
    ]
    paths_parameters = [
        skill,
        {**common["startTime"], "description": "Start, ISO 8601: sessions started from this UTC day on"},
        {**common["endTime"], "description": "End, ISO 8601 (exclusive), ceiled to the UTC day"},
        common["stage"],
        common["locale"],
        {**common["release"], "description": "Only sessions that started on this release"},
    ]
    releases_parameters = [
        skill,
        {**common["startTime"], "description": "Start, ISO 8601 (inclusive), floored to the hour"},
        {
            **common["endTime"],
            "description": "End, ISO 8601 (exclusive), ceiled to the hour; at most "
            f"{MAX_VIEW_POINTS} hours after startTime",
        },
        common["stage"],
        common["locale"],
        _param(
            "baseline",
            "query",
            "The release compared against; by default the one seen first before the candidate",
            {"type": "string", "pattern": RELEASE.pattern},
        ),
        _param(
            "candidate",
            "query",
            "The release judged; by default the one seen first most recently",
            {"type": "string", "pattern": RELEASE.pattern},
        ),
    ]
    return {
        "/v1/skills/{skillId}/views/retention": {
            "get": {
                "operationId": "getRetention",
                "summary": OWN_ROUTE_VIEWS["retention"],
                "parameters": retention_parameters,
                "responses": _responses({"$ref": "#/components/schemas/RetentionView"}, "The cohorts"),
            }
        },
        "/v1/skills/{skillId}/views/paths": {
            "get": {
                "operationId": "getPaths",
                "summary": OWN_ROUTE_VIEWS["paths"],
                "parameters": paths_parameters,
                "responses": _responses({"$ref": "#/components/schemas/PathsView"}, "The path tree"),
            }
        },
        "/v1/skills/{skillId}/views/releases": {
            "get": {
                "operationId": "getReleases",
                "summary": OWN_ROUTE_VIEWS["releases"],
                "parameters": releases_parameters,
                "responses": _responses(
                    {"$ref": "#/components/schemas/ReleasesView"}, "The releases and their comparison"
                ),
            }
        },
    }


def route_parameters(name: str) -> list[dict[str, Any]]:
    """The query parameters of the v1 route that serves view or metric ``name``, as defined above.

    What the CLI offers for each name, so it sends each route exactly the parameters it takes.

    >>> [p["name"] for p in route_parameters("paths")]
    ['startTime', 'endTime', 'stage', 'locale', 'release']
    """
    paths = openapi_document()["paths"]
    own = f"/v1/skills/{{skillId}}/views/{name}"
    if name in METRICS:
        route = "/v1/skills/{skillId}/metrics"
    elif own in paths:
        route = own
    elif name in VIEWS:
        route = "/v1/skills/{skillId}/views/{view}"
    else:
        raise BadRequest(
            "name",
            f"is {name[:40]!r}; use a view ({', '.join(VIEW_NAMES)}) or a metric ({', '.join(METRICS)})",
        )
    return [p for p in paths[route]["get"]["parameters"] if p["in"] == "query"]
