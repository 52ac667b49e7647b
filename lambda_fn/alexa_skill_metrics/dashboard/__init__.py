"""The metrics dashboard: the reporting API's five views as one self-contained HTML page.

Public entry points (stable):

* ``collect_views(fetch) -> dict`` - the five view bodies from ``fetch(view_name)``, checked to
  belong to one skill, stage, locale and period.
* ``write_dashboard(views, out=path) -> Path`` and ``render_dashboard(views) -> str``.
* ``ViewEndpoint(endpoint, skill_id, params)`` - fetches views from a deployed reporting API
  (``reporting.client.ReportingEndpoint``: SigV4 for ``execute-api`` with boto3's credentials);
  pass its ``fetch`` to ``collect_views``.

Importing this package loads nothing heavy: Plotly is imported when a page is rendered.

Example
-------
>>> from alexa_skill_metrics.dashboard import collect_views, write_dashboard
>>> from alexa_skill_metrics.reporting import EventList, RecomputedRollups, ReportRequest, Reporter
>>> request = ReportRequest.from_params("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
...     {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z", "period": "P1D"})
>>> reporter = Reporter(RecomputedRollups(EventList([])), clock=lambda: 1_768_176_000_000)
>>> views = collect_views(lambda name: reporter.view(name, request))
>>> import tempfile
>>> write_dashboard(views, out=f"{tempfile.mkdtemp()}/metrics.html").name
'metrics.html'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alexa_skill_metrics._lazy import lazy_exports

__all__ = [
    "VIEWS",
    "DashboardError",
    "EndpointError",
    "ViewEndpoint",
    "collect_views",
    "render_dashboard",
    "write_dashboard",
]

if TYPE_CHECKING:
    from alexa_skill_metrics.dashboard.collect import VIEWS, DashboardError, collect_views
    from alexa_skill_metrics.dashboard.remote import EndpointError, ViewEndpoint
    from alexa_skill_metrics.dashboard.render import render_dashboard, write_dashboard

_LAZY = {
    "VIEWS": "alexa_skill_metrics.dashboard.collect",
    "DashboardError": "alexa_skill_metrics.dashboard.collect",
    "collect_views": "alexa_skill_metrics.dashboard.collect",
    "EndpointError": "alexa_skill_metrics.dashboard.remote",
    "ViewEndpoint": "alexa_skill_metrics.dashboard.remote",
    "render_dashboard": "alexa_skill_metrics.dashboard.render",
    "write_dashboard": "alexa_skill_metrics.dashboard.render",
}


__getattr__ = lazy_exports(__name__, _LAZY)
