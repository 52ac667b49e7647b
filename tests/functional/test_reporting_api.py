"""The reporting Lambda end to end: HTTP API payload 2.0 events in, reports from moto's stored rollups out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.reporting.api import http_event
from alexa_skill_metrics.reporting.handler import create_handler
from tests.functional.reporting_fixtures import (
    DAY_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    events_of,
    moto_table,
    record,
    view_request,
)

TABLE = "reporting-api"
TWO_DAYS = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-07T00:00:00Z"}
NOW = START_MS + 3 * DAY_MS


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    items = record(customers=40, days=2, seed=31)
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, items)
        yield Deployment(client, TABLE, events_of(items), now_ms=NOW)


def call(handler: Any, path: str, query: dict[str, str] | None = None) -> tuple[int, Any]:
    response = handler(http_event(path, query), None)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("view", ["overview", "customers", "sessions", "utterances", "intents"])
def test_views_over_http_are_the_in_process_reports(deployment: Deployment, view: str) -> None:
    # Given the reporting Lambda over the aggregated table
    handler = create_handler(Settings(table_name=TABLE), client=deployment.client, clock=lambda: NOW)
    # When a view is requested through an HTTP API event
    status, body = call(handler, f"/v1/skills/{SKILL}/views/{view}", {**TWO_DAYS, "period": "PT1H"})
    # Then it is the in-process report, with traffic in it
    assert status == 200
    assert body == deployment.stored().view(
        view, view_request(START_MS, START_MS + 2 * DAY_MS, period="PT1H")
    )
    assert json.dumps(body).count('"utterances": 0') < len(json.dumps(body)) / 50


def test_metric_pages_over_http(deployment: Deployment) -> None:
    handler = create_handler(Settings(table_name=TABLE), client=deployment.client, clock=lambda: NOW)
    query = {**TWO_DAYS, "period": "PT1H", "metric": "totalSessions", "maxResults": "20", "stage": "live",
             "skillType": "custom"}  # fmt: skip
    values: list[int] = []
    pages = 0
    while True:
        status, body = call(handler, f"/v1/skills/{SKILL}/metrics", query)
        assert status == 200 and set(body) == {"metric", "timestamps", "values", "nextToken"}
        values += body["values"]
        pages += 1
        if body["nextToken"] is None:
            break
        query["nextToken"] = body["nextToken"]
    assert pages == 3 and len(values) == 48
    sessions = deployment.stored().view(
        "sessions", view_request(START_MS, START_MS + 2 * DAY_MS, period="SINGLE")
    )
    assert sum(values) == sessions["totals"]["started"] > 0


def test_the_public_entry_point_reads_the_table_from_the_environment(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alexa_skill_metrics import reporting
    from alexa_skill_metrics.reporting import handler as module

    # Given only the environment a deployed function has
    module._default_handler.cache_clear()
    monkeypatch.setenv("METRICS_TABLE", TABLE)
    try:
        # When the runtime resolves and calls alexa_skill_metrics.reporting.lambda_handler
        status, body = call(reporting.lambda_handler, f"/v1/skills/{SKILL}/metrics",
                            {**TWO_DAYS, "period": "P1D", "metric": "totalUtterances"})  # fmt: skip
        # Then it reports from that table
        assert status == 200 and sum(body["values"]) > 0
        status, body = call(reporting.lambda_handler, "/openapi.json")
        assert status == 200 and body["info"]["title"]
    finally:
        module._default_handler.cache_clear()


def test_bad_input_over_http_is_a_400_and_nothing_is_read(deployment: Deployment) -> None:
    handler = create_handler(Settings(table_name=TABLE), client=deployment.client)
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    deployment.client.meta.events.register("before-call.dynamodb", count)
    try:
        status, body = call(handler, f"/v1/skills/{SKILL}/views/overview", {**TWO_DAYS, "stage": "beta"})
    finally:
        deployment.client.meta.events.unregister("before-call.dynamodb", count)
    assert (status, body["parameter"]) == (400, "stage")
    assert calls == []
