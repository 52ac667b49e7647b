"""ViewEndpoint: the view URL, the SigV4 signature for execute-api, and the API's errors (no sockets).

The signing client is ``reporting.client.ReportingEndpoint``; these tests hold the dashboard's use of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError

from alexa_skill_metrics.dashboard import DashboardError, EndpointError, ViewEndpoint

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
API = "https://abc123.execute-api.eu-west-1.amazonaws.com"
PARAMS = {
    "startTime": "2026-01-05T00:00:00Z",
    "endTime": "2026-01-12T00:00:00Z",
    "period": "P1D",
    "locale": None,
}
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/(?P<region>[a-z0-9-]+)/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=[0-9a-f]{64}"
)


@dataclass
class Reply:
    status_code: int
    content: bytes


@dataclass
class FakeHttp:
    """Stands in for botocore's URLLib3Session: records the prepared requests, answers a fixed reply."""

    reply: Reply
    sent: list[AWSPreparedRequest] = field(default_factory=list)

    def send(self, request: AWSPreparedRequest) -> Reply:
        self.sent.append(request)
        return self.reply


@dataclass
class FakeSession:
    region_name: str | None = "us-east-1"
    credentials: Credentials | None = field(
        default_factory=lambda: Credentials("AKIDEXAMPLE", "secret-example", "session-token")
    )

    def get_credentials(self) -> Credentials | None:
        return self.credentials


def endpoint(reply: Reply, **kwargs: Any) -> tuple[ViewEndpoint, FakeHttp]:
    http = FakeHttp(reply)
    return ViewEndpoint(
        API, SKILL, PARAMS, session=kwargs.pop("session", FakeSession()), http=http, **kwargs
    ), http


def ok(body: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(body).encode())


def test_url_names_skill_and_view_with_the_given_parameters_only() -> None:
    view_endpoint, _ = endpoint(ok({}))
    assert view_endpoint.url("intents") == (
        f"{API}/v1/skills/{SKILL}/views/intents"
        "?endTime=2026-01-12T00%3A00%3A00Z&period=P1D&startTime=2026-01-05T00%3A00%3A00Z"
    )


def test_region_comes_from_the_host_then_the_session_then_an_error() -> None:
    assert ViewEndpoint(API, SKILL, {}, session=FakeSession("us-east-1")).region == "eu-west-1"
    custom = "https://metrics.example.com"
    assert ViewEndpoint(custom, SKILL, {}, session=FakeSession("ap-southeast-2")).region == "ap-southeast-2"
    assert (
        ViewEndpoint(custom, SKILL, {}, session=FakeSession(None), region="us-west-2").region == "us-west-2"
    )
    with pytest.raises(EndpointError, match="set AWS_REGION"):
        _ = ViewEndpoint(custom, SKILL, {}, session=FakeSession(None)).region


def test_fetch_sends_a_get_signed_for_execute_api_that_verifies() -> None:
    # Given an endpoint whose API answers a view
    view_endpoint, http = endpoint(ok({"view": "sessions"}))
    # When a view is fetched
    body = view_endpoint.fetch("sessions")
    # Then one GET went to the view's URL, signed with SigV4 for execute-api in the host's region
    assert body == {"view": "sessions"}
    (sent,) = http.sent
    assert sent.method == "GET" and sent.url == view_endpoint.url("sessions")
    found = AUTHORIZATION.fullmatch(sent.headers["Authorization"])
    assert found and found["region"] == "eu-west-1"
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(found["signed"].split(";"))
    assert sent.headers["X-Amz-Security-Token"] == "session-token"
    # And the signature is the one botocore computes for the same request and time
    assert sent.headers["Authorization"] == resign(sent)


def resign(sent: AWSPreparedRequest) -> str:
    """The Authorization botocore's SigV4 gives the request as sent, at its own X-Amz-Date."""
    signer = SigV4Auth(
        Credentials("AKIDEXAMPLE", "secret-example", "session-token"), "execute-api", "eu-west-1"
    )
    again = AWSRequest(method=sent.method, url=sent.url, headers={"Accept": "application/json"})
    again.context["timestamp"] = sent.headers["X-Amz-Date"]
    again.headers["X-Amz-Date"] = again.context["timestamp"]
    again.headers["X-Amz-Security-Token"] = "session-token"
    canonical = signer.canonical_request(again)
    signature = signer.signature(signer.string_to_sign(again, canonical), again)
    headers = signer.signed_headers(signer.headers_to_sign(again))
    return (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(again)}, SignedHeaders={headers}, Signature={signature}"
    )


@pytest.mark.parametrize(
    ("reply", "status", "parameter", "message"),
    [
        (
            Reply(400, b'{"statusCode": 400, "message": "period is \'PT5M\'", "parameter": "period"}'),
            400,
            "period",
            "period is 'PT5M'",
        ),
        (Reply(403, b'{"message":"Forbidden"}'), 403, None, "Forbidden"),
        (Reply(502, b"Bad gateway"), 502, None, "HTTP 502"),
        (Reply(200, b"<html>not an API</html>"), 200, None, "HTTP 200 without a JSON report"),
    ],
)
def test_errors_carry_the_apis_status_message_and_parameter(
    reply: Reply, status: int, parameter: str | None, message: str
) -> None:
    view_endpoint, _ = endpoint(reply)
    with pytest.raises(EndpointError, match=re.escape(message)) as raised:
        view_endpoint.fetch("overview")
    assert raised.value.status == status and raised.value.parameter == parameter


def test_only_views_are_fetched() -> None:
    view_endpoint, http = endpoint(ok({}))
    with pytest.raises(DashboardError, match="not a view"):
        view_endpoint.fetch("totalSessions")
    assert http.sent == []


def test_no_credentials_is_botocores_error_which_the_cli_explains() -> None:
    view_endpoint, http = endpoint(ok({}), session=FakeSession(credentials=None))
    with pytest.raises(NoCredentialsError):
        view_endpoint.fetch("overview")
    assert http.sent == []
