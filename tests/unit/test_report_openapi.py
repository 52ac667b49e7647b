"""The OpenAPI document: valid, every field documented, and every response conforms to it."""

from __future__ import annotations

import doctest
import importlib
from typing import Any

import pytest

from alexa_skill_metrics.model import RollupKey
from alexa_skill_metrics.reporting.errors import BadRequest, NotFound
from alexa_skill_metrics.reporting.metrics import MetricRequest
from alexa_skill_metrics.reporting.openapi import openapi_document
from alexa_skill_metrics.reporting.params import ReportRequest
from alexa_skill_metrics.reporting.reporter import Reporter
from alexa_skill_metrics.reporting.views import VIEWS
from tests.unit.test_report_sources import ListSource
from tests.unit.test_views import rollup

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000
H = 3_600_000
WEEK = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z"}


def validator(schema_name: str) -> Any:
    from jsonschema import Draft202012Validator

    document = openapi_document()
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return Draft202012Validator(root)


def busy_source() -> ListSource:
    rows = []
    for hour in range(0, 48, 5):
        bucket = JAN5 + hour * H
        rows.append(
            (
                RollupKey(SKILL, "live", "PT1H", bucket, "en-US"),
                rollup(
                    ["a", f"c{hour}"],
                    [4.5, 12.0],
                    utterances=4,
                    failed_utterances=1,
                    sessions_started=2,
                    session_ends={"skill_ended": 1},
                    open_sessions={bucket // 60_000: 1},
                    drop_off={"RollDiceIntent": 1},
                    new_customers=1,
                    enablements=1,
                    unhandled=1,
                    terminations=1,
                    retries=1,
                    launches=2,
                    cold_starts=1,
                    unhandled_after={"LaunchRequest": 1},
                    terminated_after={"RollDiceIntent": 1},
                    no_response_after={"AMAZON.HelpIntent": 1},
                ),
            )
        )
        for intent in ("RollDiceIntent", "AMAZON.FallbackIntent"):
            rows.append(
                (
                    RollupKey(SKILL, "live", "PT1H", bucket, "en-US", intent),
                    rollup(["a"], [3.0], utterances=2),
                )
            )
    for day in (JAN5, JAN5 + 24 * H):  # the intents view reads whole days as days
        for intent in ("RollDiceIntent", "AMAZON.FallbackIntent"):
            rows.append(
                (RollupKey(SKILL, "live", "P1D", day, "en-US", intent), rollup(["a"], [3.0], utterances=5))
            )
    return ListSource(rows)


def test_the_document_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(openapi_document())


def test_every_schema_property_and_parameter_is_documented() -> None:
    document = openapi_document()
    for name, schema in document["components"]["schemas"].items():
        assert schema["description"] and not schema["description"].startswith(name + "("), name
        for prop, spec in schema["properties"].items():
            assert spec.get("description"), f"{name}.{prop} has no description"
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                assert parameter["description"], parameter["name"]


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("period", ["SINGLE", "PT1H", "P1D", "P1W"])
def test_every_view_conforms_to_its_schema(view: str, period: str) -> None:
    request = ReportRequest.from_params(SKILL, {**WEEK, "period": period})
    body = Reporter(busy_source(), clock=lambda: JAN5 + 30 * H).view(view, request)
    validator(VIEWS[view].response.__name__).validate(body)
    assert body.get("intents", [None]) and body.get("series", [None])
    # And the view name is what tells the five apart (the document's discriminator)
    assert openapi_document()["components"]["schemas"][VIEWS[view].response.__name__]["properties"]["view"][
        "enum"
    ] == [view]


def test_filtered_views_with_nulls_conform() -> None:
    source = busy_source()
    for view in ("customers", "utterances"):
        body = Reporter(source).view(
            view, ReportRequest.from_params(SKILL, {**WEEK, "intent": "RollDiceIntent"})
        )
        validator(VIEWS[view].response.__name__).validate(body)


def test_metric_and_error_bodies_conform() -> None:
    request = MetricRequest.from_params(
        SKILL, {**WEEK, "period": "PT1H", "metric": "uniqueCustomers", "maxResults": "50"}
    )
    validator("MetricResponse").validate(Reporter(busy_source()).metric(request))
    validator("ErrorBody").validate(BadRequest("period", "is wrong").body())
    validator("ErrorBody").validate(NotFound().body())


def test_a_body_with_an_undocumented_field_would_fail() -> None:
    from jsonschema import ValidationError

    request = ReportRequest.from_params(SKILL, WEEK)
    body = Reporter(busy_source()).view("intents", request)
    body["intents"][0]["extra"] = 1
    with pytest.raises(ValidationError):
        validator("IntentsView").validate(body)


@pytest.mark.parametrize(
    "module",
    [
        "alexa_skill_metrics.reporting",
        "alexa_skill_metrics.reporting.api",
        "alexa_skill_metrics.reporting.errors",
        "alexa_skill_metrics.reporting.handler",
        "alexa_skill_metrics.reporting.metrics",
        "alexa_skill_metrics.reporting.openapi",
        "alexa_skill_metrics.reporting.params",
        "alexa_skill_metrics.reporting.plan",
        "alexa_skill_metrics.reporting.reporter",
        "alexa_skill_metrics.reporting.schema",
        "alexa_skill_metrics.reporting.source",
        "alexa_skill_metrics.reporting.views",
        "alexa_skill_metrics.reporting.views.common",
        "alexa_skill_metrics.reporting.views.customers",
        "alexa_skill_metrics.reporting.views.friction",
        "alexa_skill_metrics.reporting.views.intents",
        "alexa_skill_metrics.reporting.views.overview",
        "alexa_skill_metrics.reporting.views.sessions",
        "alexa_skill_metrics.reporting.views.utterances",
        "alexa_skill_metrics.storage.events",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
