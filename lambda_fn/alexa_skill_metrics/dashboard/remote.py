"""Views from a deployed reporting API: ``GET /v1/skills/{id}/views/{view}`` signed with SigV4.

The API's routes use IAM authorisation, so each request is signed for the ``execute-api``
service with the caller's boto3 credentials (profile, environment, SSO, role: whatever boto3
finds), and the region is taken from the endpoint's host
(``<api>.execute-api.<region>.amazonaws.com``), else from boto3's configuration.

Example
-------
>>> endpoint = ViewEndpoint("https://abc123.execute-api.eu-west-1.amazonaws.com/",
...     "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
...     {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z", "locale": None})
>>> endpoint.region
'eu-west-1'
>>> endpoint.url("sessions").split("/v1/")[1]
'skills/amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce/views/sessions?endTime=2026-01-12T00%3A00%3A00Z&startTime=2026-01-05T00%3A00%3A00Z'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from alexa_skill_metrics.dashboard.collect import DashboardError

SERVICE = "execute-api"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class EndpointError(DashboardError):
    """The API answered with an error (``status``, its ``message`` and ``parameter``) or was unreachable."""

    def __init__(self, message: str, status: int | None = None, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.parameter = parameter


class ViewEndpoint:
    """Fetches the views of one skill and set of query parameters from a deployed API.

    Parameters
    ----------
    endpoint:
        The API's base URL, e.g. ``https://abc123.execute-api.eu-west-1.amazonaws.com``.
    skill_id:
        The skill whose views to read.
    params:
        Query parameters (``startTime``, ``endTime``, ``period``, ``stage``, ``locale``); ``None``
        or empty values are left out.
    session:
        A ``boto3.session.Session`` for credentials and the default region (default: a new one).
    region:
        The signing region, when the endpoint's host does not name it (a custom domain).
    timeout_s:
        Connect and read timeout of each request.
    http:
        What sends the signed request (``send(prepared) -> response`` like botocore's
        ``URLLib3Session``, which is built by default).
    """

    def __init__(
        self,
        endpoint: str,
        skill_id: str,
        params: Mapping[str, str | None],
        *,
        session: Any = None,
        region: str | None = None,
        timeout_s: float = 30.0,
        http: Any = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.skill_id = skill_id
        self.params = {name: value for name, value in sorted(params.items()) if value}
        self.timeout_s = timeout_s
        self._session = session
        found = _REGION_IN_HOST.search(urlsplit(self.endpoint).hostname or "")
        self._region = region or (found.group(1) if found else None)
        self._http = http

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return self._session

    @property
    def region(self) -> str:
        region = self._region or self.session.region_name
        if not region:
            raise EndpointError(
                f"no region to sign requests to {self.endpoint} with: set AWS_REGION or pass region"
            )
        return str(region)

    def url(self, view: str) -> str:
        """The view's URL, its query in the canonical order and encoding SigV4 signs."""
        query = urlencode(list(self.params.items()), quote_via=quote)
        path = f"{self.endpoint}/v1/skills/{quote(self.skill_id, safe='')}/views/{quote(view, safe='')}"
        return f"{path}?{query}" if query else path

    def fetch(self, view: str) -> dict[str, Any]:
        """The view's JSON body; ``EndpointError`` with the API's message when it answers an error."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import HTTPClientError, NoCredentialsError

        credentials = self.session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        request = AWSRequest(method="GET", url=self.url(view), headers={"Accept": "application/json"})
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        try:
            response = self._client().send(request.prepare())
        except HTTPClientError as exc:
            raise EndpointError(f"could not reach {self.endpoint}: {exc}") from None
        return _body(view, response.status_code, response.content)

    def _client(self) -> Any:
        if self._http is None:
            from botocore.httpsession import URLLib3Session

            self._http = URLLib3Session(timeout=self.timeout_s)  # type: ignore[arg-type]
        return self._http


def _body(view: str, status: int, content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if status == 200 and isinstance(body, dict):
        return body
    if status == 200:
        raise EndpointError(f"the {view} view is not a JSON object; is this the reporting API's URL?", status)
    detail = body if isinstance(body, dict) else {}
    message = str(detail.get("message") or content[:200].decode("utf-8", "replace") or "no message")
    raise EndpointError(f"the {view} view: HTTP {status}: {message}", status, detail.get("parameter"))
