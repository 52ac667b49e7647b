"""The HTTP API: Powertools' HTTP API (payload 2.0) resolver with three GET routes.

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
from alexa_skill_metrics.reporting.metrics import MetricRequest
from alexa_skill_metrics.reporting.openapi import openapi_document
from alexa_skill_metrics.reporting.params import ReportRequest, check_known
from alexa_skill_metrics.reporting.reporter import Reporter

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

JSON = "application/json"


def build_app(reporter: Reporter) -> APIGatewayHttpResolver:
    """The resolver with its routes bound to ``reporter``."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError

    app = APIGatewayHttpResolver()

    def params() -> dict[str, str]:
        return dict(app.current_event.query_string_parameters or {})

    @app.get("/v1/skills/<skill_id>/metrics")
    def get_metrics(skill_id: str) -> dict[str, Any]:
        return reporter.metric(MetricRequest.from_params(skill_id, params()))

    # Registered before the generic view route, which would otherwise take these names.
    @app.get("/v1/skills/<skill_id>/views/retention")
    def get_retention(skill_id: str) -> dict[str, Any]:
        return reporter.retention(skill_id, params())

    @app.get("/v1/skills/<skill_id>/views/paths")
    def get_paths(skill_id: str) -> dict[str, Any]:
        return reporter.paths(skill_id, params())

    @app.get("/v1/skills/<skill_id>/views/<view>")
    def get_view(skill_id: str, view: str) -> dict[str, Any]:
        request = ReportRequest.from_params(skill_id, params())
        return reporter.view(view, request)

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


def http_event(path: str, query: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
    """A minimal HTTP API payload 2.0 event, for tests, the CLI and ``sam local``-like use."""
    return {
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


__all__ = ["BadRequest", "build_app", "http_event"]
