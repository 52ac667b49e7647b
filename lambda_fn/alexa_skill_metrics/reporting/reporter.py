"""The in-process reporting API: what the HTTP API, the CLI and the dashboard all call.

``Reporter(source).view(name, request)`` and ``.metric(request)`` return plain JSON-ready dicts,
exactly the bodies the HTTP API serves; ``build_view`` returns the view's dataclass. Problems
with a request raise ``BadRequest`` naming the parameter.

Example
-------
>>> from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups
>>> reporter = Reporter(RecomputedRollups(EventList([])), clock=lambda: 1_767_657_600_000)
>>> request = ReportRequest.from_params("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
...     {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z", "period": "PT1H"})
>>> view = reporter.view("customers", request)
>>> view["totals"], len(view["series"]), view["asOf"]
({'uniqueCustomers': 0, 'newCustomers': 0, 'enablements': 0}, 24, '2026-01-06T00:00:00Z')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.aggregation.retention import RETENTION_GRANULARITY
from alexa_skill_metrics.aggregation.rollup import PATH_GRANULARITY
from alexa_skill_metrics.periods import BUCKET_MS
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.metrics import METRICS, MetricRequest, get_metric
from alexa_skill_metrics.reporting.params import MAX_VIEW_POINTS, ReportRequest, format_time
from alexa_skill_metrics.reporting.plan import Span, series, tiling
from alexa_skill_metrics.reporting.schema import to_json
from alexa_skill_metrics.reporting.views import (
    OWN_ROUTE_VIEWS,
    VIEW_NAMES,
    VIEWS,
    Frame,
    ViewHeader,
    ViewSpec,
)

if TYPE_CHECKING:
    from alexa_skill_metrics.reporting.health import Firing, HealthRules
    from alexa_skill_metrics.reporting.source import RollupSource
    from alexa_skill_metrics.reporting.v2 import MetricsV2Request
    from alexa_skill_metrics.reporting.views.paths import PathsView
    from alexa_skill_metrics.reporting.views.releases import ReleasesView
    from alexa_skill_metrics.reporting.views.retention import RetentionView


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Reporter:
    """Builds views and metric series from a ``RollupSource``.

    Parameters
    ----------
    source:
        ``StoredRollups`` (what the API serves) or ``RecomputedRollups`` (from raw events).
    clock:
        Epoch milliseconds "now": the report's ``asOf``, which splits open sessions into active
        and incomplete. Defaults to the wall clock; tests inject a fixed one.
    """

    def __init__(self, source: RollupSource, *, clock: Callable[[], int] | None = None) -> None:
        self.source = source
        self.clock = clock or wall_clock_ms

    def view(self, name: str, request: ReportRequest) -> dict[str, Any]:
        """The view ``name`` (any of ``VIEW_NAMES``) as the JSON body the API returns.

        ``retention`` and ``paths`` take the request's range, stage and locale (weekly cohorts;
        ``report`` takes their own parameters, ``cohort`` included); its period does not apply.
        """
        if name in OWN_ROUTE_VIEWS:
            if request.intent is not None:
                raise BadRequest("intent", f"cannot filter the {name} view")
            params = {"startTime": format_time(request.start_ms), "endTime": format_time(request.end_ms),
                      "stage": request.stage, "locale": request.locale or "",
                      "release": request.release or ""}  # fmt: skip
            return self.report(name, request.skill_id, params)
        body: dict[str, Any] = to_json(self.build_view(name, request))
        return body

    def report(self, name: str, skill_id: str, params: Mapping[str, str | None]) -> dict[str, Any]:
        """View or metric ``name`` for query ``params``, each name with its route's own parameters.

        Exactly what ``GET /v1/skills/{skillId}/views/{name}`` (or ``/metrics?metric=name``)
        answers; empty values count as absent.
        """
        given = {k: v for k, v in params.items() if v}
        if name in VIEWS:
            return self.view(name, ReportRequest.from_params(skill_id, given))
        if name == "retention":
            return self.retention(skill_id, given)
        if name == "paths":
            return self.paths(skill_id, given)
        if name == "releases":
            return self.releases(skill_id, given)
        if name in METRICS:
            return self.metric(
                MetricRequest.from_params(skill_id, {"skillType": "custom", **given, "metric": name})
            )
        raise BadRequest(
            "name",
            f"is {name[:40]!r}; use a view ({', '.join(VIEW_NAMES)}) or a metric ({', '.join(METRICS)})",
        )

    def build_view(self, name: str, request: ReportRequest) -> ViewHeader:
        """The view ``name`` as its dataclass (``OverviewView``, ``CustomersView``, ...)."""
        spec = VIEWS.get(name)
        if spec is None:
            raise BadRequest("view", f"is {name[:40]!r}; use one of {', '.join(VIEWS)}")
        if request.intent is not None and spec.per_intent != "filter" and not spec.takes_intent:
            raise BadRequest(
                "intent",
                f"cannot filter the {name} view; the customers, utterances and slots views take an intent",
            )
        if request.min_customers is not None and name != "slots":
            raise BadRequest(
                "minCustomers", f"applies to the slots view only (its unresolved values), not {name}"
            )
        bucket = max(request.bucket, spec.min_bucket, key=BUCKET_MS.__getitem__)
        window = request.aligned(bucket)
        if spec.reads != "tiling" and window.points() > MAX_VIEW_POINTS:
            raise BadRequest(
                "period",
                f"{request.period} gives {window.points()} points over this range; a view holds at most "
                f"{MAX_VIEW_POINTS}: choose a coarser period or a shorter range",
            )
        per_intent = spec.per_intent is True or request.intent is not None
        found = self.source.fetch(
            window.skill_id,
            window.stage,
            _spans(spec, window),
            intents=per_intent,
            locale=window.locale,
            release=window.release,
        )
        rollups = [(k, r) for k, r in found if request.intent is None or k.intent == request.intent]
        now_ms = self.clock()
        view: ViewHeader = spec.build(Frame(window, now_ms, self.source.exact, rollups))
        if name == "slots":
            view = self._with_values(view, window, now_ms)
        return view

    def _with_values(self, view: ViewHeader, window: ReportRequest, now_ms: int) -> ViewHeader:
        """The slots view with its unresolved values: read over the range, grouped, k applied."""
        from dataclasses import replace

        from alexa_skill_metrics.model import DEFAULT_MIN_CUSTOMERS
        from alexa_skill_metrics.reporting.views.slots import SlotsView, unresolved_values

        found = self.source.slot_values(window.skill_id, window.stage, window.start_ms, window.end_ms, now_ms)
        values = unresolved_values(
            found,
            window.min_customers or DEFAULT_MIN_CUSTOMERS,
            intent=window.intent,
            locale=window.locale,
            release=window.release,
        )
        assert isinstance(view, SlotsView)
        return replace(view, unresolved_values=values)

    def build_retention(self, skill_id: str, params: Mapping[str, str]) -> RetentionView:
        """The retention view (cohorts) for query ``params``: one day rollup per day and locale read.

        Counters are in the day rollups of every locale (``rollup.retention_key``), and of locale
        ``-`` where an earlier version kept them all: the view adds them up.
        """
        from alexa_skill_metrics.reporting.views.retention import RetentionRequest, retention

        now_ms = self.clock()
        request = RetentionRequest.from_params(skill_id, params, now_ms)
        span = Span(RETENTION_GRANULARITY, request.start_ms, request.end_ms)
        found = self.source.fetch(skill_id, request.stage, [span])  # counters in every locale's day
        return retention(request, found, now_ms)

    def build_paths(self, skill_id: str, params: Mapping[str, str]) -> PathsView:
        """The paths view (path tree and transitions) for query ``params``: day rollups of the range."""
        from alexa_skill_metrics.reporting.views.paths import PathsRequest, paths

        request = PathsRequest.from_params(skill_id, params)
        span = Span(PATH_GRANULARITY, request.start_ms, request.end_ms)
        found = self.source.fetch(
            skill_id, request.stage, [span], locale=request.locale, release=request.release
        )
        return paths(request, found, self.clock())

    def build_releases(self, skill_id: str, params: Mapping[str, str]) -> ReleasesView:
        """The releases view for query ``params``: the hourly all-intents rollups of the range."""
        from alexa_skill_metrics.reporting.views.releases import (
            RELEASES_GRANULARITY,
            ReleasesRequest,
            releases,
        )

        request = ReleasesRequest.from_params(skill_id, params)
        span = Span(RELEASES_GRANULARITY, request.start_ms, request.end_ms)
        found = self.source.fetch(skill_id, request.stage, [span], locale=request.locale)
        return releases(request, found, self.clock(), exact=self.source.exact)

    def releases(self, skill_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``build_releases`` as the JSON body the API returns."""
        body: dict[str, Any] = to_json(self.build_releases(skill_id, params))
        return body

    def health(
        self, skill_id: str, params: Mapping[str, str], rules: HealthRules | None = None
    ) -> list[Firing]:
        """The template's health alarms over the range's 15-minute rollups: the windows that would fire.

        ``params``: ``startTime``, ``endTime``, ``stage``, ``locale`` (as the releases view takes them).
        """
        from alexa_skill_metrics.reporting.health import HEALTH_GRANULARITY, HealthRules, evaluate
        from alexa_skill_metrics.reporting.views.releases import ReleasesRequest

        request = ReleasesRequest.from_params(skill_id, params)
        span = Span(HEALTH_GRANULARITY, request.start_ms, request.end_ms)
        found = self.source.fetch(skill_id, request.stage, [span], locale=request.locale)
        return evaluate(found, rules or HealthRules(), exact=self.source.exact)

    def retention(self, skill_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``build_retention`` as the JSON body the API returns."""
        body: dict[str, Any] = to_json(self.build_retention(skill_id, params))
        return body

    def paths(self, skill_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``build_paths`` as the JSON body the API returns."""
        body: dict[str, Any] = to_json(self.build_paths(skill_id, params))
        return body

    def metric(self, request: MetricRequest) -> dict[str, Any]:
        """A SMAPI get-metrics response body (one page)."""
        body: dict[str, Any] = to_json(get_metric(self.source, request, self.clock()))
        return body

    def metrics_v2(self, request: MetricsV2Request) -> dict[str, Any]:
        """An Amazon Metrics API v2 response body (one page): a translation of the same figures."""
        from alexa_skill_metrics.reporting.v2 import get_metrics_v2

        body: dict[str, Any] = to_json(get_metrics_v2(self.source, request, self.clock()))
        return body


def _spans(spec: ViewSpec, window: ReportRequest) -> list[Span]:
    if spec.reads == "tiling" or (spec.reads == "series" and window.period == "SINGLE"):
        return tiling(window.start_ms, window.end_ms)
    if spec.reads == "hourly":
        return series(window.start_ms, window.end_ms, "PT15M" if window.period == "PT15M" else "PT1H")
    return series(window.start_ms, window.end_ms, window.period)
