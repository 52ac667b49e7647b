"""The typed metrics client, ``skill-metrics query`` and ``skill-metrics compare`` over real HTTP on loopback.

Two local servers stand in for the two hosts the client talks to:

* our stack: a loopback HTTP server that turns each request into the HTTP API payload 2.0 event
  API Gateway would send and answers with the reporting handler over a moto table; it refuses
  requests without a SigV4 ``Authorization`` header, as the IAM-authorised routes do;
* Amazon's SMAPI Metrics API v1: a stub built from its documented shape (``GET
  /v1/skills/{skillId}/metrics`` with startTime, endTime, period, metric, stage, skillType,
  locale, intent, maxResults, nextToken; answers ``{metric, timestamps, values, nextToken}``),
  which checks the LWA bearer token and pages its answer.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from alexa_skill_metrics.cli import Context, cli
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.reporting.api import http_event
from alexa_skill_metrics.reporting.client import EndpointError
from alexa_skill_metrics.reporting.handler import create_handler
from alexa_skill_metrics.reporting.metrics_client import MetricsClient, ask_cli_token
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.v2 import MetricsV2Request
from tests.functional.reporting_fixtures import (
    DAY_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    events_of,
    metric_pages,
    moto_table,
    record,
)

TABLE = "cli-metrics"
DAYS = 3
END_MS = START_MS + DAYS * DAY_MS
TOKEN = "Atza|test-access-token"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    items = record(customers=30, days=DAYS, seed=41)
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, items)
        yield Deployment(client, TABLE, events_of(items), now_ms=END_MS + 30 * 60_000)


@pytest.fixture(scope="module")
def stack(deployment: Deployment) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Our API on loopback: each request becomes the payload 2.0 event API Gateway would send."""
    handler = create_handler(
        Settings(table_name=TABLE), client=deployment.client, clock=lambda: deployment.now_ms
    )
    seen: list[dict[str, str]] = []

    class Stack(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer("GET")

        def do_POST(self) -> None:
            self.answer("POST")

        def answer(self, method: str) -> None:
            seen.append(dict(self.headers))
            if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
                self.reply(403, b'{"message": "Forbidden"}', "application/json")
                return
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else None
            event = http_event(url.path, dict(parse_qsl(url.query)) or None, method, body)
            response = handler(event, None)
            self.reply(response["statusCode"], response["body"].encode(), response["headers"]["Content-Type"])

        def reply(self, status: int, content: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Stack) as url:
        yield url, seen


@pytest.fixture(scope="module")
def amazon(deployment: Deployment) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Amazon's v1 get-metrics, stubbed: our stored figures, but one more utterance on the second day."""
    asked: list[dict[str, str]] = []

    class Amazon(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query))
            asked.append(params)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.reply(401, {"message": "The auth token is invalid/expired"})
            if url.path != f"/v1/skills/{SKILL}/metrics" or params.get("skillType") != "custom":
                return self.reply(400, {"message": "Bad request", "violations": []})
            query = {
                k: v for k, v in params.items() if k in ("startTime", "endTime", "period", "metric", "stage")
            }
            figures = metric_pages(
                deployment.stored(),
                _ms(params["startTime"]),
                _ms(params["endTime"]),
                **{k: v for k, v in query.items() if k not in ("startTime", "endTime")},
            )
            values = list(figures["values"])
            if params["metric"] == "totalUtterances" and len(values) > 1:
                values[1] += 1
            offset = int(params.get("nextToken") or 0)
            size = int(params.get("maxResults") or 2)  # small pages, so the client must follow nextToken
            following = offset + size if offset + size < len(values) else None
            return self.reply(
                200,
                {
                    "metric": params["metric"],
                    "timestamps": figures["timestamps"][offset : offset + size],
                    "values": values[offset : offset + size],
                    "nextToken": None if following is None else str(following),
                },
            )

        def reply(self, status: int, body: dict[str, Any]) -> None:
            content = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Amazon) as url:
        yield url, asked


class serving:
    """A ``ThreadingHTTPServer`` on a free loopback port for the ``with`` block; yields its URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ms(iso: str) -> int:
    from alexa_skill_metrics.reporting.params import parse_time

    return parse_time("t", iso)


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    environ = {"METRICS_TABLE": TABLE, **(env or {})}
    return CliRunner().invoke(cli, args, obj=Context.from_environ(environ), env=env)


def compare_args(*extra: str) -> list[str]:
    """``skill-metrics compare`` of totalUtterances over the deployment's days, and ``extra``."""
    return [
        "compare",
        "--skill-id",
        SKILL,
        "--metric",
        "totalUtterances",
        "--start",
        format_time(START_MS),
        "--end",
        format_time(END_MS),
        *extra,
    ]


V2_BODY = {
    "startTime": START_MS,
    "endTime": END_MS,
    "maxResultsPerQuery": 2,
    "metricQueries": [
        {
            "id": "u",
            "name": "UTTERANCES",
            "metricNamespace": "Alexa.Custom",
            "aggregationPeriod": "BY_DAY",
            "groupBy": "locale",
        },
        {"id": "c", "name": "CUSTOMERS", "metricNamespace": "Alexa.Custom", "aggregationPeriod": "SINGLE"},
    ],
}


def full_answer(deployment: Deployment) -> dict[str, Any]:
    body = {**V2_BODY, "maxResultsPerQuery": 200}
    return deployment.stored().metrics_v2(MetricsV2Request.from_body(SKILL, json.dumps(body)))


def test_the_client_calls_our_stack_v1_and_v2_signed(deployment: Deployment, stack: Any) -> None:
    url, seen = stack
    client = MetricsClient.for_stack(url, region="us-east-1")
    # v1, every page
    pages = list(
        client.iter_metrics(
            SKILL,
            start_time=format_time(START_MS),
            end_time=format_time(END_MS),
            period="PT1H",
            metric="totalUtterances",
            max_results=50,
        )
    )
    assert len(pages) == 2
    expected = metric_pages(deployment.stored(), START_MS, END_MS, period="PT1H", metric="totalUtterances")
    assert [v for p in pages for v in p["values"]] == expected["values"]
    # v2, every page, equals the in-process answer
    v2_pages = list(client.iter_metrics_v2(SKILL, V2_BODY))  # type: ignore[arg-type]
    assert len(v2_pages) == 2
    merged = [v for p in v2_pages for d in p["results"][0]["data"] for v in d["values"]]
    assert (
        sum(merged) == sum(v for d in full_answer(deployment)["results"][0]["data"] for v in d["values"]) > 0
    )
    listing = client.list_metrics_v2("Alexa.Custom")
    assert "SKILL_LATENCY" in [m["name"] for m in listing["metrics"]]
    assert seen and all(h["Authorization"].startswith("AWS4-HMAC-SHA256 ") for h in seen)
    # A bad field comes back as the API's own 400, naming it
    with pytest.raises(EndpointError) as error:
        client.get_metrics_v2(SKILL, {**V2_BODY, "metricQueries": V2_BODY["metricQueries"] * 3})  # type: ignore[typeddict-item]
    assert error.value.status == 400 and error.value.parameter == "metricQueries"


def test_query_from_a_body_file_and_from_arguments_agree(deployment: Deployment, tmp_path: Path) -> None:
    # Given the same v2 request as a file and as arguments
    path = tmp_path / "body.json"
    path.write_text(json.dumps(V2_BODY))
    from_file = invoke(["query", "--skill-id", SKILL, "--body", str(path)])
    from_args = invoke(
        [
            "query",
            "--skill-id",
            SKILL,
            "--metric",
            "Alexa.Custom:UTTERANCES",
            "--start",
            str(START_MS),
            "--end",
            str(END_MS),
            "--period",
            "BY_DAY",
            "--group-by",
            "locale",
            "--max-results",
            "2",
        ]
    )
    assert from_file.exit_code == 0, from_file.output
    assert from_args.exit_code == 0, from_args.output
    # Then every page is followed and merged into the full answer
    answer = json.loads(from_file.output)
    assert answer == full_answer(deployment)
    assert json.loads(from_args.output)["results"][0]["data"] == answer["results"][0]["data"]


def test_query_prints_csv_one_row_per_point(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text(json.dumps(V2_BODY))
    result = invoke(["query", "--skill-id", SKILL, "--body", str(path), "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    answer = full_answer(deployment)
    points = sum(len(d["values"]) for r in answer["results"] for d in r["data"])
    assert len(rows) == points
    assert rows[0]["timestamp"] == "2026-01-05T00:00:00Z" and rows[0]["groupedByField"] == "locale"


def test_query_refuses_a_bad_body_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text(json.dumps({**V2_BODY, "metricQueries": [{"id": "x", "name": "NOPE"}]}))
    result = invoke(["query", "--skill-id", SKILL, "--body", str(path)])
    assert result.exit_code != 0
    assert "metricQueries[0]" in str(result.exception) + result.output


def test_compare_prints_amazons_figures_beside_ours(deployment: Deployment, amazon: Any) -> None:
    url, asked = amazon
    # When compare runs with an LWA token against the stubbed Amazon
    result = invoke(
        compare_args("--period", "P1D", "--amazon-endpoint", url, "--csv"),
        {"ASK_ACCESS_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    # Then Amazon's documented parameters were sent, and every page of Amazon's answer read
    assert asked[0]["skillType"] == "custom" and asked[0]["metric"] == "totalUtterances"
    assert len([a for a in asked if a.get("nextToken")]) == 1  # 3 days in pages of 2
    # And each bucket shows both figures and the difference (Amazon counted one more on day 2)
    rows = list(csv.DictReader(io.StringIO(result.output)))
    ours = metric_pages(deployment.stored(), START_MS, END_MS, period="P1D", metric="totalUtterances")
    assert [r["timestamp"] for r in rows] == ours["timestamps"]
    assert [int(r["ours"]) for r in rows] == ours["values"]
    assert [int(r["difference"]) for r in rows] == [0, -1, 0]
    assert rows[1]["relative"] and float(rows[1]["relative"]) < 0


def test_compare_as_a_table_and_with_the_ask_cli_token(
    deployment: Deployment, amazon: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = amazon
    config = tmp_path / "cli_config"
    config.write_text(json.dumps({"profiles": {"default": {"token": {"access_token": TOKEN}}}}))
    monkeypatch.setattr("alexa_skill_metrics.reporting.metrics_client.ASK_CLI_CONFIG", config)
    assert ask_cli_token() == TOKEN
    result = invoke(compare_args("--amazon-endpoint", url))
    assert result.exit_code == 0, result.output
    assert "1 of 3 buckets differ" in result.output and "-1" in result.output
    assert TOKEN not in result.output


def test_compare_with_a_wrong_token_says_what_amazon_said(amazon: Any) -> None:
    url, _ = amazon
    result = invoke(compare_args("--amazon-endpoint", url, "--token", "expired"))
    # One line naming Amazon's own answer, exit 1, no traceback (the CLI's rule for endpoint errors)
    assert result.exit_code == 1, result.output
    assert "invalid/expired" in result.output and "Traceback" not in result.output


def test_the_amazon_client_sends_the_bearer_token_and_amazons_parameters(amazon: Any) -> None:
    url, asked = amazon
    client = MetricsClient.for_amazon(TOKEN, endpoint=url)
    page = client.get_metrics(
        SKILL,
        start_time=format_time(START_MS),
        end_time=format_time(END_MS),
        period="P1D",
        metric="uniqueCustomers",
        locale="en-US",
        max_results=5,
    )
    assert set(page) == {"metric", "timestamps", "values", "nextToken"}
    assert {k: asked[-1][k] for k in ("period", "metric", "stage", "skillType", "locale", "maxResults")} == {
        "period": "P1D",
        "metric": "uniqueCustomers",
        "stage": "live",
        "skillType": "custom",
        "locale": "en-US",
        "maxResults": "5",
    }
    assert TOKEN not in repr(client.transport)
