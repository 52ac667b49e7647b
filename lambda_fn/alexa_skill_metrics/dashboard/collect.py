"""Gather the views a dashboard shows, from whatever serves them, and check they belong together.

The dashboard never computes a metric: it lays out the JSON bodies the reporting API returns.
``collect_views`` takes any ``fetch(view_name) -> dict``: the in-process ``Reporter`` (against the
configured table) or ``remote.ViewEndpoint`` (a deployed API, signed with SigV4).

Example
-------
>>> def fetch(name):
...     return {"view": name, "skillId": "amzn1.ask.skill.1", "stage": "live", "period": "P1D"}
>>> list(collect_views(fetch))
['overview', 'customers', 'sessions', 'utterances', 'intents', 'friction', 'slots']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alexa_skill_metrics.exceptions import SkillMetricsError

# In the console's order, then ours; also the order of the dashboard's tabs (friction: the Quality tab,
# slots: the Voice model tab).
VIEWS = ("overview", "customers", "sessions", "utterances", "intents", "friction", "slots")
# Header fields every view of one dashboard must agree on (ranges may differ: each view aligns its own).
_SHARED = ("skillId", "stage", "locale", "period")

ViewFetch = Callable[[str], Mapping[str, Any]]

# Views with their own parameters, shown as extra tabs when given: retention covers the cohorts
# up to the dashboard's end (12 weeks by default), paths the sessions started in its range.
EXTRA_VIEWS = ("retention", "paths", "releases")
EXTRA_PARAMS = {
    "retention": ("endTime", "stage"),
    "paths": ("startTime", "endTime", "stage", "locale"),
    "releases": ("startTime", "endTime", "stage", "locale"),  # the two most recent releases compared
}


def extra_params(view: str, params: Mapping[str, str | None]) -> dict[str, str]:
    """The dashboard's query parameters that ``view`` (one of ``EXTRA_VIEWS``) takes.

    >>> extra_params("retention", {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z",
    ...                            "period": "P1D", "locale": "en-US"})
    {'endTime': '2026-01-12T00:00:00Z'}
    >>> extra_params("releases", {"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-12-01T00:00:00Z"})
    {'startTime': '2026-07-29T00:00:00Z', 'endTime': '2026-12-01T00:00:00Z'}
    """
    query = {k: v for k, v in params.items() if k in EXTRA_PARAMS[view] and v}
    if view == "releases" and "startTime" in query and "endTime" in query:
        query["startTime"] = _releases_start(query["startTime"], query["endTime"])
    return query


def _releases_start(start: str, end: str) -> str:
    """The releases view compares hours, at most ``MAX_VIEW_POINTS`` of them: a longer dashboard's
    Releases tab covers the range's last ones (the tab shows its own range)."""
    from alexa_skill_metrics.periods import HOUR_MS, format_time
    from alexa_skill_metrics.reporting.errors import BadRequest
    from alexa_skill_metrics.reporting.params import MAX_VIEW_POINTS, ceil_ms, parse_time

    try:
        start_ms, end_ms = parse_time("startTime", start), parse_time("endTime", end)
    except BadRequest:
        return start  # the view names the bad parameter itself
    latest = ceil_ms(end_ms, "PT1H") - MAX_VIEW_POINTS * HOUR_MS
    return start if start_ms >= latest else format_time(latest)


def collect_extra_views(fetch: ViewFetch) -> dict[str, dict[str, Any]]:
    """The retention, paths and releases bodies from ``fetch(view_name)`` (it passes ``extra_params``)."""
    views = {name: dict(fetch(name)) for name in EXTRA_VIEWS}
    for name, body in views.items():
        if body.get("view") != name:
            raise DashboardError(
                f"the {name!r} entry is not the {name} view (its 'view' is {body.get('view')!r})"
            )
    return views


class DashboardError(SkillMetricsError):
    """The views cannot make one dashboard (missing, mismatched, or not view bodies)."""


def collect_views(fetch: ViewFetch) -> dict[str, dict[str, Any]]:
    """Call ``fetch`` once per view, in tab order, and check the bodies form one dashboard.

    Parameters
    ----------
    fetch:
        Returns the JSON body of one view by name, exactly as the API serves it, for example
        ``lambda name: reporter.view(name, request)`` or ``ViewEndpoint(...).fetch``.
    """
    views = {name: dict(fetch(name)) for name in VIEWS}
    check_views(views)
    return views


def check_views(views: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``DashboardError`` unless ``views`` holds every view of one skill, stage and period."""
    missing = [name for name in VIEWS if name not in views]
    if missing:
        raise DashboardError(
            f"views missing: {', '.join(missing)}; a dashboard needs all of {', '.join(VIEWS)}"
        )
    for name in VIEWS:
        body = views[name]
        if body.get("view") != name:
            raise DashboardError(
                f"the {name!r} entry is not the {name} view (its 'view' is {body.get('view')!r}); "
                "pass the reporting API's JSON bodies unchanged"
            )
    first = views[VIEWS[0]]
    for name in VIEWS[1:]:
        for key in _SHARED:
            if views[name].get(key) != first.get(key):
                raise DashboardError(
                    f"the {name} view has {key}={views[name].get(key)!r} but the overview has "
                    f"{first.get(key)!r}; fetch every view with the same parameters"
                )
