"""The HTTP API through Powertools' resolver: routes, JSON errors with status codes, never a 500 for input."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.model import RollupKey
from alexa_skill_metrics.reporting.api import build_app, http_event
from alexa_skill_metrics.reporting.reporter import Reporter
from tests.unit.test_report_sources import ListSource
from tests.unit.test_views import rollup

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000
WEEK = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z"}


def app(source: ListSource | None = None) -> Any:
    traffic = source or ListSource(
        [(RollupKey(SKILL, "live", "P1D", JAN5, "en-US"), rollup(["a"], utterances=3))]
    )
    return build_app(Reporter(traffic, clock=lambda: JAN5 + 8 * 86_400_000))


def get(
    path: str, query: dict[str, str] | None = None, method: str = "GET", source: Any = None
) -> tuple[int, Any]:
    response = app(source).resolve(http_event(path, query, method), {})
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_view_route_serves_the_view() -> None:
    status, body = get(f"/v1/skills/{SKILL}/views/utterances", WEEK)
    assert status == 200
    assert (body["view"], body["totals"]["utterances"], len(body["series"])) == ("utterances", 3, 7)


def test_friction_route_serves_the_friction_view() -> None:
    status, body = get(f"/v1/skills/{SKILL}/views/friction", {**WEEK, "locale": "en-US"})
    assert status == 200
    assert (body["view"], body["totals"]["utterances"], len(body["series"])) == ("friction", 3, 7)
    assert set(body["totals"]["quality"]) == {
        "unhandledRequests", "unhandledRequestRate", "defectiveTerminations", "defectiveTerminationRate",
    }  # fmt: skip


def test_metrics_route_has_exactly_the_smapi_shape() -> None:
    status, body = get(f"/v1/skills/{SKILL}/metrics", {**WEEK, "period": "P1D", "metric": "totalUtterances"})
    assert status == 200
    assert body == {
        "metric": "totalUtterances",
        "timestamps": [f"2026-01-{day:02d}T00:00:00Z" for day in range(5, 12)],
        "values": [3, 0, 0, 0, 0, 0, 0],
        "nextToken": None,
    }


def test_openapi_document_is_served() -> None:
    status, body = get("/openapi.json")
    assert status == 200 and body["openapi"].startswith("3.1")
    assert "/v1/skills/{skillId}/metrics" in body["paths"]


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        (f"/v1/skills/{SKILL}/views/funnel", WEEK, "view"),
        ("/v1/skills/not-a-skill/views/overview", WEEK, "skillId"),
        (f"/v1/skills/{SKILL}/views/overview", {**WEEK, "endTime": "2026-01-01T00:00:00Z"}, "endTime"),
        (f"/v1/skills/{SKILL}/views/overview", {"endTime": WEEK["endTime"]}, "startTime"),
        (f"/v1/skills/{SKILL}/views/sessions", {**WEEK, "intent": "RollDiceIntent"}, "intent"),
        (f"/v1/skills/{SKILL}/views/friction", {**WEEK, "intent": "RollDiceIntent"}, "intent"),
        (
            f"/v1/skills/{SKILL}/views/sessions",
            {**WEEK, "period": "PT15M", "endTime": "2026-03-01T00:00:00Z"},
            "period",
        ),
        (f"/v1/skills/{SKILL}/metrics", {**WEEK, "period": "P1D", "metric": "revenue"}, "metric"),
        (
            f"/v1/skills/{SKILL}/metrics",
            {**WEEK, "period": "P1D", "metric": "totalUtterances", "nextToken": "x"},
            "nextToken",
        ),
        (f"/v1/skills/{SKILL}/metrics", {**WEEK, "metric": "totalUtterances"}, "period"),
        ("/openapi.json", {"format": "yaml"}, "format"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    path: str, query: dict[str, str], parameter: str
) -> None:
    status, body = get(path, query)
    assert status == 400
    assert body["statusCode"] == 400 and body["parameter"] == parameter and parameter in body["message"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v1/skills", "GET"),
        (f"/v1/skills/{SKILL}", "GET"),
        (f"/v1/skills/{SKILL}/views", "GET"),
        (f"/v1/skills/{SKILL}/views/overview/extra", "GET"),
        (f"/v1/skills/{SKILL}/metrics", "POST"),
        ("/", "GET"),
    ],
)
def test_unknown_routes_are_404_json(path: str, method: str) -> None:
    status, body = get(path, WEEK, method)
    assert status == 404 and body["statusCode"] == 404 and body["parameter"] is None


class BrokenSource(ListSource):
    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the table is gone")


def test_a_server_side_failure_is_a_json_500_not_a_crash() -> None:
    status, body = get(f"/v1/skills/{SKILL}/views/overview", WEEK, source=BrokenSource([]))
    assert status == 500 and body["statusCode"] == 500 and "the table is gone" not in body["message"]


_NAMES = ["startTime", "endTime", "period", "stage", "locale", "intent", "metric", "skillType", "maxResults",
          "nextToken", "view", "x"]  # fmt: skip
_VALUES = ["", "2026-01-05T00:00:00Z", "2026-01-05", "2026-02-30T00:00:00Z", "-1", "0", "201", "PT1H",
           "SINGLE", "live", "en-US", "%00", "amzn1.ask.skill.x", "9" * 40, "djE6MTow",
           "2026-01-04T23:59:59+23:59",
           "RollDiceIntent", "totalSessions", "custom", "1e3", " ", "\u00e9", "NaN"]  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_random_input_never_gets_a_500(seed: int) -> None:
    # Given any combination of known and unknown parameters with odd values
    rng = random.Random(seed)
    query = {rng.choice(_NAMES): rng.choice(_VALUES) for _ in range(rng.randrange(0, 8))}
    if rng.random() < 0.7:
        query.setdefault("startTime", "2026-01-05T00:00:00Z")
        query.setdefault(
            "endTime", rng.choice(["2026-01-06T00:00:00Z", "2027-02-01T00:00:00Z", "2026-01-05T00:15:00Z"])
        )
    path = rng.choice(
        [
            f"/v1/skills/{SKILL}/metrics",
            f"/v1/skills/{SKILL}/views/{rng.choice(['overview', 'intents', 'x'])}",
        ]
    )
    # When it is requested, Then the answer is a 200 or a 400 that names a parameter
    status, body = get(path, query)
    assert status in (200, 400), body
    if status == 400:
        assert body["parameter"] and body["message"].startswith(body["parameter"])


def test_lambda_handler_is_built_lazily_and_fails_fast_without_a_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alexa_skill_metrics import reporting
    from alexa_skill_metrics.reporting import handler

    handler._default_handler.cache_clear()
    monkeypatch.delenv("METRICS_TABLE", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        reporting.lambda_handler  # noqa: B018 - resolving the handler is what the Lambda runtime does
    assert caught.value.setting == "METRICS_TABLE"
    # With the table configured it resolves to a handler (the DynamoDB client waits for the first report)
    monkeypatch.setenv("METRICS_TABLE", "skill-metrics")
    resolved = reporting.lambda_handler
    assert callable(resolved) and resolved is reporting.lambda_handler
    assert resolved(http_event("/nowhere"), None)["statusCode"] == 404
    handler._default_handler.cache_clear()
