"""The views of one report from a deployed reporting API, for ``collect_views``.

A thin binding of ``reporting.client.ReportingEndpoint`` (which signs each GET with SigV4 for
``execute-api`` using boto3's credentials) to one skill and one set of query parameters, so that
``ViewEndpoint(...).fetch`` is the ``fetch(view_name)`` the dashboard takes.

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

from collections.abc import Mapping
from typing import Any

from alexa_skill_metrics.dashboard.collect import EXTRA_VIEWS, VIEWS, DashboardError, extra_params
from alexa_skill_metrics.reporting.client import EndpointError, ReportingEndpoint

__all__ = ["EndpointError", "ViewEndpoint"]


class ViewEndpoint:
    """Fetches the views of one skill and one set of query parameters from a deployed API.

    Parameters
    ----------
    endpoint:
        The API's base URL, e.g. ``https://abc123.execute-api.eu-west-1.amazonaws.com``.
    skill_id:
        The skill whose views to read.
    params:
        Query parameters (``startTime``, ``endTime``, ``period``, ``stage``, ``locale``); ``None``
        or empty values are left out.
    session, region, timeout_s, http:
        As ``ReportingEndpoint`` takes them: boto3 session (credentials, default region), signing
        region for a custom domain, per-request timeout, and what sends the signed request.
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
        self.api = ReportingEndpoint(endpoint, session=session, region=region, timeout_s=timeout_s, http=http)
        self.skill_id = skill_id
        self.params = dict(params)

    @property
    def region(self) -> str:
        """The region requests are signed for."""
        return self.api.region

    def url(self, view: str) -> str:
        return self.api.url(view, self.skill_id, self.params)

    def fetch(self, view: str) -> dict[str, Any]:
        """The view's JSON body; ``EndpointError`` carries the API's status, message and parameter."""
        if view in EXTRA_VIEWS:
            return self.api.get(view, self.skill_id, extra_params(view, self.params))
        if view not in VIEWS:
            raise DashboardError(f"{view!r} is not a view; the dashboard shows {', '.join(VIEWS)}")
        return self.api.get(view, self.skill_id, self.params)
