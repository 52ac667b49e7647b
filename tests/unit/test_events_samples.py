"""The events/ samples for the aggregator and the reporting routes, through the handlers the template deploys.

Each handler is resolved by its template path, in the environment the template gives it, against
an in-process moto table created by ``create_table`` (no sockets). Every AWS call a handler makes
is recorded and must be one its role in template.yaml allows. The sample skill's events need
real HTTP (its recorder signs its own requests); ``tests/e2e/test_deploy_e2e.py`` runs those.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from alexa_skill_metrics.storage.keys import CUSTOMER_PREFIX, ROLLUP_PREFIX
from tests.conftest import TABLE, load_event, table_items
from tests.unit.test_template import (
    allowed_actions,
    http_routes,
    load_template,
    pending,
    reset_handler_caches,
    template_environment,
)

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
HOUR_MS = 1_767_607_200_000  # 2026-01-05T10:00:00Z, the hour of the sample's two events
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@contextmanager
def recorded_calls() -> Iterator[set[str]]:
    """Collects ``service:Operation`` of every botocore API call made inside the block."""
    from botocore.client import BaseClient

    calls: set[str] = set()
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def recording(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.add(f"{client.meta.service_model.service_name}:{operation_name}")
        return original(client, operation_name, api_params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        yield calls


def deployed_handler(template: dict[str, Any], function: str, monkeypatch: pytest.MonkeyPatch) -> Handler:
    """The function's handler as Lambda resolves it: by its template path, in its template environment."""
    module, attribute = template["Resources"][function]["Properties"]["Handler"].rsplit(".", 1)
    pending(module, attribute)
    for name, value in template_environment(template, function, TABLE).items():
        monkeypatch.setenv(name, value)
    reset_handler_caches()
    handler: Handler = getattr(importlib.import_module(module), attribute)
    return handler


@pytest.fixture(autouse=True)
def fresh_handlers() -> Iterator[None]:
    reset_handler_caches()
    yield
    reset_handler_caches()


def hour_rollup(client: Any) -> Any:
    from alexa_skill_metrics.storage.rollups import RollupStore

    found = RollupStore(TABLE, client).query(SKILL, "live", "PT1H", HOUR_MS, HOUR_MS + 3_600_000)
    assert len(found) == 1, found
    return found[0][1]


def aggregate_sample(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], set[str]]:
    handler = deployed_handler(template, "AggregatorFunction", monkeypatch)
    with recorded_calls() as calls:
        response = handler(load_event("aggregator-stream"), None)
    return response, calls


# --- aggregator ---------------------------------------------------------------------------------------------


def test_aggregator_rolls_up_the_event_inserts_and_ignores_the_rest(
    dynamodb: Any, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the table and the aggregator as deployed, and the stream sample unfiltered (the handler
    # must ignore the rollup update and the TTL deletion itself, e.g. under `sam local invoke`)
    # When Lambda delivers the batch
    response, calls = aggregate_sample(template, monkeypatch)
    # Then no record failed, and the launch and the roll are in the hour's rollup, one session
    assert response == {"batchItemFailures": []}
    rollup = hour_rollup(dynamodb)
    assert (rollup.utterances, rollup.sessions_started, rollup.customers.count()) == (2, 1, 1)
    assert rollup.requests_by_type == {"LaunchRequest": 1, "IntentRequest": 1}
    # And the ignored records left nothing: only rollups and customer state were written
    kinds = {item["pk"]["S"].split("#", 1)[0] + "#" for item in table_items(dynamodb)}
    assert kinds <= {ROLLUP_PREFIX, CUSTOMER_PREFIX}
    assert not any(
        "20251007" in item["sk"]["S"] or "2025-10" in item["sk"]["S"] for item in table_items(dynamodb)
    )
    # And every AWS call it made is one its role allows
    assert calls and calls <= allowed_actions(template, "AggregatorFunction")


def test_replaying_the_sample_changes_nothing(
    dynamodb: Any, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sample aggregated once
    aggregate_sample(template, monkeypatch)
    before = sorted(map(repr, table_items(dynamodb)))
    # When Lambda delivers the same batch again (a retry after a timeout)
    response, calls = aggregate_sample(template, monkeypatch)
    # Then it succeeds, every event still counts once, and no item changed
    assert response == {"batchItemFailures": []}
    assert hour_rollup(dynamodb).utterances == 2
    assert sorted(map(repr, table_items(dynamodb))) == before
    assert calls <= allowed_actions(template, "AggregatorFunction")


# --- reporting ----------------------------------------------------------------------------------------------


@pytest.fixture
def reporting(dynamodb: Any, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Handler:
    """The reporting handler as deployed, over the table after the aggregator consumed the stream sample."""
    pending("alexa_skill_metrics.reporting", "lambda_handler")
    aggregate_sample(template, monkeypatch)
    return deployed_handler(template, "ReportingFunction", monkeypatch)


def call(handler: Handler, sample: str) -> tuple[int, dict[str, Any], set[str]]:
    with recorded_calls() as calls:
        response = handler(load_event(sample), None)
    assert response["headers"]["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response["body"])
    return response["statusCode"], body, calls


def test_metric_route_answers_in_the_smapi_shape(reporting: Handler, template: dict[str, Any]) -> None:
    # When the SMAPI-style metric is asked for the sample's day, hourly
    status, body, calls = call(reporting, "reporting-metric-total-utterances")
    # Then it is 200 with SMAPI's fields, 24 hourly points, and the two utterances at 10:00
    assert status == 200
    assert body["metric"] == "totalUtterances"
    assert len(body["timestamps"]) == len(body["values"]) == 24
    points = {t: v for t, v in zip(body["timestamps"], body["values"], strict=True) if v}
    assert list(points.values()) == [2] and next(iter(points)).startswith("2026-01-05T10:00")
    assert calls and calls <= allowed_actions(template, "ReportingFunction")


def test_view_route_answers_the_overview(reporting: Handler, template: dict[str, Any]) -> None:
    status, body, calls = call(reporting, "reporting-view-overview")
    assert status == 200
    assert (body["utterances"]["total"], body["sessions"]["total"], body["customers"]["total"]) == (2, 1, 1)
    assert calls <= allowed_actions(template, "ReportingFunction")


def test_openapi_route_documents_every_route_of_the_template(
    reporting: Handler, template: dict[str, Any]
) -> None:
    status, body, calls = call(reporting, "reporting-openapi")
    assert status == 200 and body["openapi"].startswith("3.")
    for method, path in http_routes(template):
        assert method.lower() in body["paths"][path], path
    assert calls == set()  # the document is static: no table reads


def test_bad_parameter_is_a_400_naming_it(reporting: Handler) -> None:
    status, body, calls = call(reporting, "reporting-bad-period")
    assert status == 400
    assert body["parameter"] == "period" and "PT5M" in body["message"]
    assert calls == set()  # rejected before any read


def test_v2_metrics_route_answers_a_base64_post_as_api_gateway_sends_it(
    reporting: Handler, template: dict[str, Any]
) -> None:
    # Given Amazon's v2 body, base64-encoded by API Gateway, for the sample's day
    status, body, calls = call(reporting, "reporting-metrics-v2")
    # Then both queries are answered, echoing their ids, with the two utterances at 10:00
    assert status == 200
    utterances, customers = body["results"]
    assert (utterances["id"], utterances["label"], customers["label"]) == (
        "utterances",
        "Utterances per hour",
        "customers",
    )
    (series,) = utterances["data"]
    assert len(series["timestamps"]) == 24 and sum(series["values"]) == 2
    assert series["values"][10] == 2 and series["timestamps"][10] == 1_767_571_200_000 + 10 * 3_600_000
    assert [(d["groupedBy"]["groupedByValue"], d["values"]) for d in customers["data"]] == [("en-US", [1])]
    assert body["paginationContext"] == {"nextToken": None}
    assert calls and calls <= allowed_actions(template, "ReportingFunction")
