"""Fetch one report by name, in-process from the table or from a deployed API signed with SigV4.

What ``skill-metrics report`` and ``skill-metrics dashboard`` call. The name is a view
(``overview``, ``customers``, ``sessions``, ``utterances``, ``intents``, ``friction``,
``retention``, ``paths``: ``views.VIEW_NAMES``) or an SMAPI metric (``totalUtterances``,
``uniqueCustomers``, ...), each with its own parameters; the body is exactly what the HTTP API
serves.

Example
-------
>>> from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups
>>> reporter = Reporter(RecomputedRollups(EventList([])), clock=lambda: 0)
>>> params = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z", "period": "SINGLE"}
>>> skill = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
>>> body = report_body(reporter, "totalSessions", skill, params)
>>> body["metric"], body["values"]
('totalSessions', [0])
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from alexa_skill_metrics.reporting.errors import HttpError
from alexa_skill_metrics.reporting.metrics import METRICS
from alexa_skill_metrics.reporting.reporter import Reporter

if TYPE_CHECKING:
    from alexa_skill_metrics.storage.events import ReadProgress

SERVICE = "execute-api"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
Params = Mapping[str, str | None]


class EndpointError(HttpError):
    """The deployed API answered an error (with its status, message and parameter) or was unreachable."""

    def __init__(self, message: str, status: int = 502, parameter: str | None = None) -> None:
        super().__init__(message, parameter)
        self.status = status


def report_body(reporter: Reporter, name: str, skill_id: str, params: Params) -> dict[str, Any]:
    """The view or metric ``name`` from ``reporter``; ``BadRequest`` names a bad parameter."""
    return reporter.report(name, skill_id, params)


def table_reporter(
    table_name: str,
    *,
    recompute: bool = False,
    clock: Callable[[], int] | None = None,
    progress: ReadProgress | None = None,
) -> Reporter:
    """A ``Reporter`` on the table's rollups, or on its raw events when ``recompute``.

    ``progress`` is told the hours of raw events read (``EventReader``), when ``recompute``.
    """
    from alexa_skill_metrics.reporting.source import RecomputedRollups, StoredRollups

    if recompute:
        from alexa_skill_metrics.storage.events import EventReader

        return Reporter(RecomputedRollups(EventReader(table_name, progress=progress)), clock=clock)
    from alexa_skill_metrics.storage.rollups import RollupStore

    return Reporter(StoredRollups(RollupStore(table_name)), clock=clock)


class ReportingEndpoint:
    """A deployed reporting API; every GET is signed with SigV4 (``execute-api``) by boto3's credentials.

    Parameters
    ----------
    endpoint:
        The API's base URL, e.g. ``https://abc123.execute-api.eu-west-1.amazonaws.com``.
    session:
        A ``boto3.session.Session`` for credentials and the default region (default: a new one).
    region:
        The signing region when the host does not name it (a custom domain).
    timeout_s:
        Connect and read timeout of each request.
    http:
        What sends the signed request (``send(prepared) -> response``, like botocore's
        ``URLLib3Session``, built by default).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        session: Any = None,
        region: str | None = None,
        timeout_s: float = 30.0,
        http: Any = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        found = _REGION_IN_HOST.search(urlsplit(self.endpoint).hostname or "")
        self._region = region or (found.group(1) if found else None)
        self._session = session
        self._http = http
        self.timeout_s = timeout_s

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
                f"no region to sign requests to {self.endpoint} with: set AWS_REGION", status=400
            )
        return str(region)

    def url(self, name: str, skill_id: str, params: Params) -> str:
        """The report's URL, its query in the canonical order and encoding SigV4 signs."""
        given = {k: v for k, v in sorted(params.items()) if v}
        skill = quote(skill_id, safe="")
        if name in METRICS:
            given = dict(sorted({"skillType": "custom", **given, "metric": name}.items()))
            path = f"/v1/skills/{skill}/metrics"
        else:
            path = f"/v1/skills/{skill}/views/{quote(name, safe='')}"
        query = urlencode(list(given.items()), quote_via=quote)
        return f"{self.endpoint}{path}?{query}" if query else f"{self.endpoint}{path}"

    def get(self, name: str, skill_id: str, params: Params) -> dict[str, Any]:
        """The JSON body of view or metric ``name``; ``EndpointError`` carries the API's own message."""
        status, content = self.send("GET", self.url(name, skill_id, params))
        return _body(name, status, content)

    def send(
        self, method: str, url: str, body: str | None = None, *, accept: str = "application/json"
    ) -> tuple[int, bytes]:
        """Send one request signed with SigV4 (``execute-api``); the status and the raw body."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import NoCredentialsError

        credentials = self.session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        headers = {"Accept": accept, **({"Content-Type": "application/json"} if body is not None else {})}
        request = AWSRequest(method=method, url=url, headers=headers, data=body)
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return send_prepared(self._client(), request, self.endpoint)

    def _client(self) -> Any:
        if self._http is None:
            from botocore.httpsession import URLLib3Session

            self._http = URLLib3Session(timeout=self.timeout_s)  # type: ignore[arg-type]
        return self._http


def fetch_report(
    name: str,
    skill_id: str,
    params: Params,
    *,
    table_name: str | None = None,
    endpoint: str | None = None,
    recompute: bool = False,
    progress: ReadProgress | None = None,
) -> dict[str, Any]:
    """One report body, from a deployed ``endpoint`` or in-process from ``table_name``."""
    if endpoint is not None:
        return ReportingEndpoint(endpoint).get(name, skill_id, params)
    if table_name is None:
        raise ValueError("fetch_report needs table_name or endpoint")
    reporter = table_reporter(table_name, recompute=recompute, progress=progress)
    return report_body(reporter, name, skill_id, params)


def send_prepared(http: Any, request: Any, endpoint: str) -> tuple[int, bytes]:
    """Send a botocore ``AWSRequest``; an unreachable host is an ``EndpointError`` naming it."""
    from botocore.exceptions import ConnectionError, HTTPClientError

    try:
        response = http.send(request.prepare())
    except (HTTPClientError, ConnectionError) as exc:  # refused, DNS, TLS, timeouts
        raise EndpointError(
            f"could not reach {endpoint}: {exc}; check the URL (the stack's MetricsApiUrl output)"
        ) from None
    return int(response.status_code), bytes(response.content)


MAX_PAGES = 10_000  # 200 values a page: far beyond the longest range any period allows


def fetch_all_pages(
    fetch: Callable[[str, Params], dict[str, Any]], name: str, params: Params
) -> dict[str, Any]:
    """A metric's every page, following ``nextToken``, as one body (``nextToken`` null).

    ``fetch(name, params)`` returns one page (``fetch_report`` with its target bound).

    >>> pages = {None: ([1, 2], "t"), "t": ([3], None)}
    >>> def fetch(name, params):
    ...     values, token = pages[params.get("nextToken")]
    ...     return {"timestamps": [str(v) for v in values], "values": values, "nextToken": token}
    >>> fetch_all_pages(fetch, "totalSessions", {})["values"]
    [1, 2, 3]
    """
    body = fetch(name, params)
    for _ in range(MAX_PAGES):
        token = body.get("nextToken")
        if not token:
            return body
        page = fetch(name, {**params, "nextToken": token})
        body = {
            **body,
            "timestamps": [*body["timestamps"], *page["timestamps"]],
            "values": [*body["values"], *page["values"]],
            "nextToken": page.get("nextToken"),
        }
    raise EndpointError(f"{name}: more than {MAX_PAGES} pages; ask for a shorter range or a longer period")


def _body(name: str, status: int, content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if status == 200 and isinstance(body, dict):
        return body
    if isinstance(body, dict) and "message" in body:
        raise EndpointError(str(body["message"]), status=status, parameter=body.get("parameter"))
    raise EndpointError(f"{name}: the API answered HTTP {status} without a JSON report", status=status)
