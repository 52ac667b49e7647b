"""The HTTP API: Powertools' HTTP API (payload 2.0) resolver: v1 GET routes, Amazon's v2 metrics routes.

Every report route also answers ``format=csv`` (``text/csv``, see ``export``).

Routes read parameters, call the ``Reporter`` and return its dict; errors are ``HttpError``s
turned into JSON with their own status. Anything unexpected is logged (class name only, no
request data) and answered with a JSON 500, never a stack trace.

Example
-------
>>> from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups
>>> app = build_app(Reporter(RecomputedRollups(EventList([]))))
>>> response = app.resolve(http_event("/v1/skills/bad/views/overview"), {})
>>> response["statusCode"], json.loads(response["body"])["parameter"]
(400, 'skillId')
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.reporting.errors import BadRequest, HttpError, NotFound
from alexa_skill_metrics.reporting.export import CSV, FORMATS, to_csv
from alexa_skill_metrics.reporting.metrics import MetricRequest
from alexa_skill_metrics.reporting.openapi import openapi_document
from alexa_skill_metrics.reporting.params import ReportRequest, check_known, choice
from alexa_skill_metrics.reporting.reporter import Reporter
from alexa_skill_metrics.reporting.schema import to_json
from alexa_skill_metrics.reporting.v2 import MetricsV2Request, list_metrics_v2

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

JSON = "application/json"


def build_app(reporter: Reporter) -> APIGatewayHttpResolver:
    """The resolver with its routes bound to ``reporter``."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError

    app = APIGatewayHttpResolver()

    def params() -> dict[str, str]:
        return dict(app.current_event.query_string_parameters or {})

    def as_requested(body: dict[str, Any], wanted: str) -> dict[str, Any] | Response[str]:
        if wanted == "csv":
            return Response(status_code=200, content_type=CSV, body=to_csv(body))
        return body

    @app.get("/v1/skills/<skill_id>/metrics")
    def get_metrics(skill_id: str) -> dict[str, Any] | Response[str]:
        query, wanted = split_format(params())
        return as_requested(reporter.metric(MetricRequest.from_params(skill_id, query)), wanted)

    # Registered before the generic view route, which would otherwise take these names.
    @app.get("/v1/skills/<skill_id>/views/retention")
    def get_retention(skill_id: str) -> dict[str, Any]:
        return reporter.retention(skill_id, params())

    @app.get("/v1/skills/<skill_id>/views/paths")
    def get_paths(skill_id: str) -> dict[str, Any]:
        return reporter.paths(skill_id, params())

    @app.get("/v1/skills/<skill_id>/views/releases")
    def get_releases(skill_id: str) -> dict[str, Any]:
        return reporter.releases(skill_id, params())

    @app.get("/v1/skills/<skill_id>/views/<view>")
    def get_view(skill_id: str, view: str) -> dict[str, Any] | Response[str]:
        query, wanted = split_format(params())
        return as_requested(reporter.view(view, ReportRequest.from_params(skill_id, query)), wanted)

    @app.post("/v2/skills/<skill_id>/metrics")
    def post_metrics_v2(skill_id: str) -> dict[str, Any] | Response[str]:
        query, wanted = split_format(params())
        check_known(query, ())
        request = MetricsV2Request.from_body(skill_id, request_body(app.current_event))
        return as_requested(reporter.metrics_v2(request), wanted)

    @app.get("/v2/skills/metrics")
    def get_metrics_list_v2() -> dict[str, Any] | Response[str]:
        query, wanted = split_format(params())
        return as_requested(to_json(list_metrics_v2(query)), wanted)

    @app.get("/openapi.json")
    def get_openapi() -> dict[str, Any]:
        check_known(params(), ())
        return openapi_document()

    def answer(error: HttpError) -> Response[str]:
        return Response(status_code=error.status, content_type=JSON, body=json.dumps(error.body()))

    def not_found(_: NotFoundError) -> Response[str]:
        return answer(NotFound())

    def unexpected(error: Exception) -> Response[str]:
        # Reports carry no customer data, so the traceback is safe to log and what an operator needs.
        telemetry.logger().exception("report failed", extra={"error": type(error).__name__})
        body = {"statusCode": 500, "message": "internal error; the request was fine", "parameter": None}
        return Response(status_code=500, content_type=JSON, body=json.dumps(body))

    # Registered by call, not as decorators: Powertools' decorator is untyped.
    app.exception_handler(HttpError)(answer)
    app.exception_handler(NotFoundError)(not_found)
    app.exception_handler(Exception)(unexpected)
    return app


def split_format(params: dict[str, str]) -> tuple[dict[str, str], str]:
    """The query without ``format``, and the format asked for: ``json`` (default) or ``csv``."""
    rest = {k: v for k, v in params.items() if k != "format"}
    return rest, choice("format", params.get("format"), FORMATS, "json")


def request_body(event: APIGatewayProxyEventV2) -> str | None:
    """The request's body as text, base64-decoded when API Gateway encoded it."""
    try:
        return event.decoded_body
    except ValueError:  # binascii.Error, UnicodeDecodeError: not base64 of UTF-8 text
        raise BadRequest("body", "is not UTF-8 JSON (or not valid base64 when isBase64Encoded)") from None


def http_event(
    path: str,
    query: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
    *,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """A minimal HTTP API payload 2.0 event, for tests, the CLI and ``sam local``-like use.

    A ``body`` is sent as API Gateway sends it: as is, or base64-encoded when ``base64_encoded``.
    """
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "queryStringParameters": query or None,
        "headers": {"accept": JSON},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "stage": "$default",
            "requestId": "local",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        import base64

        event["headers"] = {"accept": JSON, "content-type": JSON}
        event["body"] = base64.b64encode(body.encode()).decode() if base64_encoded else body
        event["isBase64Encoded"] = base64_encoded
    return event


__all__ = ["BadRequest", "build_app", "http_event"]
