"""What the OpenAPI document says about Amazon's v2 metrics routes and about CSV (``format=csv``).

Kept beside ``openapi.py`` so that document grows by one call: ``extend_document`` adds the v2
paths, their request body and response schemas (from the same dataclasses and tables
``reporting.v2`` serves), and the ``format`` parameter with a ``text/csv`` answer to every report
route.

Example
-------
>>> from alexa_skill_metrics.reporting.openapi import openapi_document
>>> doc = openapi_document()
>>> doc["paths"]["/v2/skills/{skillId}/metrics"]["post"]["operationId"]
'getMetricsV2'
>>> sorted(doc["paths"]["/v1/skills/{skillId}/metrics"]["get"]["responses"]["200"]["content"])
['application/json', 'text/csv']
"""

from __future__ import annotations

from typing import Any

from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.reporting.export import FORMATS
from alexa_skill_metrics.reporting.params import LOCALE, MAX_RESULTS, MAX_TOKEN_CHARS, SKILL_ID
from alexa_skill_metrics.reporting.schema import component_schemas
from alexa_skill_metrics.reporting.v2 import (
    AGGREGATION_PERIODS,
    FIRST_PARTY_CANNOT,
    LOCALE_DIMENSION,
    MAX_ID_CHARS,
    MAX_QUERIES,
    METRICS_V2,
    NAMESPACES,
    STAGE_DIMENSION,
    STATS,
    MetricsListV2Response,
    MetricsV2Response,
)

_CSV_TEXT = (
    "RFC 4180 CSV with a header row, one row per point, UTC ISO 8601 times, empty cells for null (format=csv)"
)
_SOURCES = (
    "Names come from Amazon's Metrics API v2 documentation example and the public TypeScript client "
    "ask-metrics-v2 (Amazon publishes no definitions); each is mapped to a METRICS.md figure, listed in "
    "the name's description."
)


def _format_parameter() -> dict[str, Any]:
    return {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "json (default) or csv: " + _CSV_TEXT,
        "schema": {"type": "string", "enum": list(FORMATS), "default": "json"},
    }


def _responses(ref: str, description: str) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {
        "200": {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": ref}},
                "text/csv": {"schema": {"type": "string", "description": _CSV_TEXT}},
            },
        },
        "400": {
            "description": "A field or parameter is missing or invalid; `parameter` names it "
            "(e.g. metricQueries[0].stat)",
            "content": error,
        },
        "404": {"description": "No such route", "content": error},
    }


def _name_description() -> str:
    answered = "; ".join(
        f"{m.namespace} {m.name}: {m.maps_to}" for m in METRICS_V2.values() if m.unavailable is None
    )
    never = ", ".join(FIRST_PARTY_CANNOT)
    return (
        f"{_SOURCES} Answered: {answered}. Not knowable from the skill's own requests (a 400 says why): "
        f"{never}."
    )


def request_schema() -> dict[str, Any]:
    """JSON Schema of the ``POST /v2/skills/{skillId}/metrics`` body (Amazon's shape)."""
    epoch = {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "format": "date-time"},
        ]
    }
    dimension = {
        "type": "object",
        "description": "A filter: Alexa.Stage (live, development) or Alexa.Locale (e.g. en-US; not for "
        "Alexa.SkillEnablementEvents)",
        "properties": {
            "name": {
                "type": "string",
                "enum": [STAGE_DIMENSION, LOCALE_DIMENSION],
                "description": "Dimension",
            },
            "value": {"type": "string", "description": f"{list(STAGES)} or a locale ({LOCALE.pattern})"},
        },
        "required": ["name", "value"],
        "additionalProperties": False,
    }
    query = {
        "type": "object",
        "description": "One metric query",
        "properties": {
            "id": {
                "type": "string",
                "maxLength": MAX_ID_CHARS,
                "description": "Echoed in its result; unique",
            },
            "label": {"type": "string", "maxLength": MAX_ID_CHARS, "description": "Echoed; defaults to id"},
            "name": {"type": "string", "description": _name_description()},
            "metricNamespace": {
                "type": "string",
                "enum": list(NAMESPACES),
                "description": "The name's namespace",
            },
            "groupBy": {
                "description": "intent or locale (one data element per group); see each metric's "
                "supportedGroupByOptions. A one-element list is accepted too",
                "oneOf": [
                    {"type": "string", "enum": ["intent", "locale"]},
                    {
                        "type": "array",
                        "items": {"type": "string", "enum": ["intent", "locale"]},
                        "maxItems": 1,
                    },
                ],
            },
            "aggregationPeriod": {
                "type": "string",
                "enum": list(AGGREGATION_PERIODS),
                "description": "SINGLE (the range), BY_15, BY_HOUR, BY_DAY, BY_WEEK (ISO weeks from Monday "
                "00:00 UTC; customers of a week are a union of its days)",
            },
            "stat": {
                "type": "string",
                "enum": list(STATS),
                "description": "count for counts, avg for ratios, p50/p90/p99 for SKILL_LATENCY; default: "
                "the metric's first supportedStats",
            },
            "dimensions": {"type": "array", "items": dimension, "description": "Filters, each at most once"},
        },
        "required": ["id", "name", "metricNamespace", "aggregationPeriod"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "Amazon's Metrics API v2 body. Range rules as v1: half-open, UTC, at most 366 days, "
        "times widened to whole buckets",
        "properties": {
            "startTime": {**epoch, "description": "Start, epoch milliseconds (or ISO 8601), inclusive"},
            "endTime": {
                **epoch,
                "description": "End, epoch milliseconds (or ISO 8601), exclusive; after startTime",
            },
            "maxResultsPerQuery": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_RESULTS,
                "default": MAX_RESULTS,
                "description": "Points per query per page",
            },
            "nextToken": {
                "type": ["string", "null"],
                "maxLength": MAX_TOKEN_CHARS,
                "description": "The previous page's paginationContext.nextToken; the rest unchanged",
            },
            "metricQueries": {
                "type": "array",
                "items": query,
                "minItems": 1,
                "maxItems": MAX_QUERIES,
                "description": f"1 to {MAX_QUERIES} queries",
            },
        },
        "required": ["startTime", "endTime", "metricQueries"],
        "additionalProperties": False,
    }


def extend_document(document: dict[str, Any]) -> None:
    """Add the v2 routes and CSV to ``openapi.openapi_document``'s document, in place."""
    schemas = document["components"]["schemas"]
    schemas.update(component_schemas(MetricsV2Response, MetricsListV2Response))
    schemas["MetricsV2Request"] = request_schema()
    for path in ("/v1/skills/{skillId}/metrics", "/v1/skills/{skillId}/views/{view}"):
        operation = document["paths"][path]["get"]
        operation["parameters"].append(_format_parameter())
        operation["responses"]["200"]["content"]["text/csv"] = {
            "schema": {"type": "string", "description": _CSV_TEXT}
        }
    skill = {
        "name": "skillId",
        "in": "path",
        "required": True,
        "description": "The skill: amzn1.ask.skill.<uuid>",
        "schema": {"type": "string", "pattern": SKILL_ID.pattern},
    }
    document["paths"]["/v2/skills/{skillId}/metrics"] = {
        "post": {
            "operationId": "getMetricsV2",
            "summary": "Amazon's Metrics API v2: up to five metrics, grouped, with statistics and weeks",
            "description": _SOURCES + " Values are the v1 metrics' and the views' own figures.",
            "parameters": [skill, _format_parameter()],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/MetricsV2Request"}}
                },
            },
            "responses": _responses("#/components/schemas/MetricsV2Response", "One page of every query"),
        }
    }
    document["paths"]["/v2/skills/metrics"] = {
        "get": {
            "operationId": "listMetricsV2",
            "summary": "Amazon's Metrics API v2 list: the metrics of a namespace that are answered",
            "parameters": [
                {
                    "name": "metricNamespace",
                    "in": "query",
                    "required": True,
                    "description": "The namespace to list",
                    "schema": {"type": "string", "enum": list(NAMESPACES)},
                },
                {
                    "name": "maxResults",
                    "in": "query",
                    "required": False,
                    "description": "Accepted for Amazon's shape; the listing is always one page",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS},
                },
                {
                    "name": "nextToken",
                    "in": "query",
                    "required": False,
                    "description": "Accepted for Amazon's shape; there is no next page: any value is a 400",
                    "schema": {"type": "string"},
                },
                _format_parameter(),
            ],
            "responses": _responses("#/components/schemas/MetricsListV2Response", "The namespace's metrics"),
        }
    }
