"""A typed Python client for the metrics calls, v1 and v2, with the same call shape as Amazon's.

``MetricsClient.for_stack(url)`` calls a deployed stack, signing with SigV4 (boto3's credentials);
``MetricsClient.for_amazon(access_token)`` calls Amazon's Skill Management API at
``https://api.amazonalexa.com`` with a Login with Amazon bearer token (the ASK CLI stores one,
see ``ask_cli_token``). The paths, parameters and bodies are the same, so code written against
one works against the other.

Example
-------
>>> client = MetricsClient.for_amazon("Atza|token", endpoint="https://api.amazonalexa.com")
>>> client.url("/v1/skills/amzn1.ask.skill.1/metrics", {"metric": "totalUtterances", "period": "P1D",
...                                                       "locale": None})
'https://api.amazonalexa.com/v1/skills/amzn1.ask.skill.1/metrics?metric=totalUtterances&period=P1D'
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypedDict, cast
from urllib.parse import quote, urlencode

from alexa_skill_metrics.reporting.client import EndpointError, ReportingEndpoint, send_prepared

AMAZON_ENDPOINT = "https://api.amazonalexa.com"
ASK_CLI_CONFIG = Path.home() / ".ask" / "cli_config"


class MetricsV1Response(TypedDict):
    """``GET /v1/skills/{skillId}/metrics``: one metric per bucket, one page."""

    metric: str
    timestamps: list[str]
    values: list[float]
    nextToken: str | None


class Dimension(TypedDict):
    name: str  # Alexa.Stage or Alexa.Locale
    value: str


class _MetricQueryRequired(TypedDict):
    id: str
    name: str
    metricNamespace: str
    aggregationPeriod: str  # SINGLE, BY_15, BY_HOUR, BY_DAY, BY_WEEK


class MetricQuery(_MetricQueryRequired, total=False):
    """One of the (at most five) queries of a v2 body."""

    label: str
    groupBy: str  # intent or locale
    stat: str  # count, avg, p50, p90, p99
    dimensions: list[Dimension]


class _MetricsV2BodyRequired(TypedDict):
    startTime: int | str  # epoch milliseconds (or ISO 8601)
    endTime: int | str
    metricQueries: list[MetricQuery]


class MetricsV2Body(_MetricsV2BodyRequired, total=False):
    """The ``POST /v2/skills/{skillId}/metrics`` body."""

    maxResultsPerQuery: int
    nextToken: str | None


class GroupedBy(TypedDict):
    groupedByField: str
    groupedByValue: str


class DataV2(TypedDict):
    timestamps: list[int]
    values: list[float | None]
    groupedBy: GroupedBy | None


class ResultV2(TypedDict):
    id: str
    label: str
    metricNamespace: str
    name: str
    stat: str
    data: list[DataV2]


class PaginationContext(TypedDict):
    nextToken: str | None


class MetricsV2Response(TypedDict):
    """One page of a v2 answer."""

    results: list[ResultV2]
    paginationContext: PaginationContext


class Transport(Protocol):
    """Sends one request to ``url`` and returns its status and body (signing it as it must)."""

    endpoint: str

    def send(
        self, method: str, url: str, body: str | None = None, *, accept: str = "application/json"
    ) -> tuple[int, bytes]: ...


class BearerTransport:
    """Requests authorised by an LWA access token, as Amazon's SMAPI wants them."""

    def __init__(
        self, endpoint: str, access_token: str, *, timeout_s: float = 30.0, http: Any = None
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = access_token
        self._http = http
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never show the token
        return f"BearerTransport({self.endpoint!r})"

    def send(
        self, method: str, url: str, body: str | None = None, *, accept: str = "application/json"
    ) -> tuple[int, bytes]:
        from botocore.awsrequest import AWSRequest

        headers = {"Accept": accept, "Authorization": f"Bearer {self._token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._http is None:
            from botocore.httpsession import URLLib3Session

            self._http = URLLib3Session(timeout=self.timeout_s)  # type: ignore[arg-type]
        return send_prepared(
            self._http, AWSRequest(method=method, url=url, headers=headers, data=body), self.endpoint
        )


class MetricsClient:
    """Amazon's metrics calls (v1 get metrics; v2 get and list metrics) against any host that serves them.

    Parameters
    ----------
    transport:
        A ``ReportingEndpoint`` (SigV4, a deployed stack) or a ``BearerTransport`` (Amazon's SMAPI).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @classmethod
    def for_stack(cls, endpoint: str, *, session: Any = None, region: str | None = None) -> MetricsClient:
        """A client of a deployed stack's API, signing with SigV4 and boto3's credentials."""
        return cls(ReportingEndpoint(endpoint, session=session, region=region))

    @classmethod
    def for_amazon(
        cls, access_token: str, *, endpoint: str = AMAZON_ENDPOINT, http: Any = None
    ) -> MetricsClient:
        """A client of Amazon's Skill Management API with a Login with Amazon access token."""
        return cls(BearerTransport(endpoint, access_token, http=http))

    def url(self, path: str, query: Mapping[str, str | int | None] | None = None) -> str:
        """``path`` on the host, with the non-empty ``query`` parameters (in the given order)."""
        given = [(k, str(v)) for k, v in (query or {}).items() if v is not None and v != ""]
        encoded = urlencode(given, quote_via=quote)
        return f"{self.transport.endpoint}{path}" + (f"?{encoded}" if encoded else "")

    def get_metrics(
        self,
        skill_id: str,
        *,
        start_time: str,
        end_time: str,
        period: str,
        metric: str,
        stage: str = "live",
        skill_type: str = "custom",
        locale: str | None = None,
        intent: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> MetricsV1Response:
        """``GET /v1/skills/{skillId}/metrics``: one page."""
        query = {
            "startTime": start_time,
            "endTime": end_time,
            "period": period,
            "metric": metric,
            "stage": stage,
            "skillType": skill_type,
            "locale": locale,
            "intent": intent,
            "maxResults": max_results,
            "nextToken": next_token,
        }
        # SigV4 signs the canonical (sorted) query; Amazon does not mind the order.
        url = self.url(f"/v1/skills/{quote(skill_id, safe='')}/metrics", dict(sorted(query.items())))
        return cast(MetricsV1Response, self._json("GET", url))

    def iter_metrics(self, skill_id: str, **params: Any) -> Iterator[MetricsV1Response]:
        """Every page of ``get_metrics`` (same keyword arguments), following ``nextToken``."""
        token = params.pop("next_token", None)
        while True:
            page = self.get_metrics(skill_id, next_token=token, **params)
            yield page
            token = page.get("nextToken")
            if not token:
                return

    def get_metrics_v2(self, skill_id: str, body: MetricsV2Body) -> MetricsV2Response:
        """``POST /v2/skills/{skillId}/metrics``: one page."""
        url = self.url(f"/v2/skills/{quote(skill_id, safe='')}/metrics")
        return cast(MetricsV2Response, self._json("POST", url, json.dumps(body)))

    def iter_metrics_v2(self, skill_id: str, body: MetricsV2Body) -> Iterator[MetricsV2Response]:
        """Every page of ``get_metrics_v2``, following ``paginationContext.nextToken``."""
        current = dict(body)
        while True:
            page = self.get_metrics_v2(skill_id, cast(MetricsV2Body, current))
            yield page
            token = (page.get("paginationContext") or {}).get("nextToken")
            if not token:
                return
            current["nextToken"] = token

    def list_metrics_v2(
        self, metric_namespace: str, *, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        """``GET /v2/skills/metrics?metricNamespace=...``."""
        query = {"metricNamespace": metric_namespace, "maxResults": max_results, "nextToken": next_token}
        return self._json("GET", self.url("/v2/skills/metrics", dict(sorted(query.items()))))

    def _json(self, method: str, url: str, body: str | None = None) -> dict[str, Any]:
        status, content = self.transport.send(method, url, body)
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        if 200 <= status < 300 and isinstance(parsed, dict):
            return parsed
        if isinstance(parsed, dict) and "message" in parsed:
            raise EndpointError(str(parsed["message"]), status=status, parameter=parsed.get("parameter"))
        raise EndpointError(
            f"{method} {url.partition('?')[0]} answered HTTP {status} without a JSON body", status=status
        )


def ask_cli_token(profile: str = "default", config: Path | None = None) -> str:
    """The LWA access token the ASK CLI stored for ``profile`` (``ask configure``), or a clear error.

    The token is short-lived: the ASK CLI refreshes it whenever it runs (``ask smapi list-skills-for-vendor``
    is enough).
    """
    path = config or ASK_CLI_CONFIG
    try:
        profiles = json.loads(path.read_text())["profiles"]
        token = profiles[profile]["token"]["access_token"]
    except FileNotFoundError:
        raise EndpointError(
            f"no ASK CLI configuration at {path}: run `ask configure` or pass --token", 400
        ) from None
    except (KeyError, TypeError, ValueError):
        raise EndpointError(
            f"the ASK CLI configuration has no token for profile {profile!r}; pass --token", 400
        ) from None
    return str(token)
