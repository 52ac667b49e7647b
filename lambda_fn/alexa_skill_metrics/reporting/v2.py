"""Amazon's Metrics API v2 on our rollups: a translation of the v1 metrics and the views, not a second metric.

``POST /v2/skills/{skillId}/metrics`` takes Amazon's body (``startTime``/``endTime`` in epoch
milliseconds, ``maxResultsPerQuery``, ``nextToken`` and up to five ``metricQueries`` with ``id``,
``label``, ``name``, ``metricNamespace``, ``groupBy``, ``aggregationPeriod``, ``stat`` and
``dimensions``) and answers ``{"results": [...], "paginationContext": {"nextToken"}}``;
``GET /v2/skills/metrics?metricNamespace=...`` lists what can be asked.

The metric names come from Amazon's documentation example and from the public TypeScript client
``ask-metrics-v2``; Amazon publishes no definitions, so each name is mapped onto a METRICS.md
figure in ``METRICS_V2`` below (its ``maps_to``), and its value per point is the v1 metric's
``MetricSpec.value`` or the view's own figure function of the same merged rollup (the friction
view's ``skill_quality`` for ``Alexa.SkillQuality``, the sessions view's ``invocation_types`` for
``Alexa.SkillInvocations``). Names that first-party data cannot know (barge-ins, intent
confidence, routines, Quick Links) answer a 400 saying why and are absent from the listing.

Pagination: ``maxResultsPerQuery`` (1-200, default 200) bounds the points of each query in one
response; ``nextToken`` is page *n* for every query at once, bound to the body it came from. A
grouped query shows the same groups on every page (those with a value anywhere in the range), so
when it spans several pages each page also reads the coarse tiling of its whole range.

Example
-------
>>> from alexa_skill_metrics.reporting.source import EventList, RecomputedRollups
>>> body = '''{"startTime": 1767571200000, "endTime": 1767830400000, "metricQueries": [
...     {"id": "u", "name": "UTTERANCES", "metricNamespace": "Alexa.Custom", "aggregationPeriod": "BY_DAY",
...      "stat": "count"}]}'''
>>> request = MetricsV2Request.from_body("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce", body)
>>> answer = get_metrics_v2(RecomputedRollups(EventList([])), request, now_ms=0)
>>> [(r.id, r.name, r.data[0].values) for r in answer.results]
[('u', 'UTTERANCES', [0, 0, 0])]
>>> METRICS_V2[("Alexa.Custom", "CUSTOMERS")].maps_to
'uniqueCustomers (v1): distinct customers with an utterance; a union over the point, never a sum'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from alexa_skill_metrics.model import Rollup
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.metrics import METRICS, _make_token, _read_token, page_window
from alexa_skill_metrics.reporting.params import (
    MAX_RESULTS,
    MAX_TOKEN_CHARS,
    ReportRequest,
    check_known,
    check_skill_id,
    format_time,
)
from alexa_skill_metrics.reporting.plan import tiling
from alexa_skill_metrics.reporting.schema import doc

if TYPE_CHECKING:
    from alexa_skill_metrics.model import RollupKey
    from alexa_skill_metrics.reporting.plan import Span
    from alexa_skill_metrics.reporting.source import RollupSource
    from alexa_skill_metrics.reporting.views.common import Frame
    from alexa_skill_metrics.reporting.views.friction import SkillQuality
    from alexa_skill_metrics.reporting.views.sessions import InvocationTypes

MAX_QUERIES = 5
CUSTOM = "Alexa.Custom"
QUALITY = "Alexa.SkillQuality"
ENABLEMENT = "Alexa.SkillEnablementEvents"
INVOCATIONS = "Alexa.SkillInvocations"
NAMESPACES = (CUSTOM, QUALITY, ENABLEMENT, INVOCATIONS)
# Amazon's aggregation periods and the reporting period each one is; BY_WEEK is an ISO week (P1W).
AGGREGATION_PERIODS = {
    "SINGLE": "SINGLE",
    "BY_15": "PT15M",
    "BY_HOUR": "PT1H",
    "BY_DAY": "P1D",
    "BY_WEEK": "P1W",
}
STATS = ("count", "avg", "p50", "p90", "p99")
STAGE_DIMENSION, LOCALE_DIMENSION = "Alexa.Stage", "Alexa.Locale"
RELEASE_DIMENSION = "SkillMetrics.Release"  # ours, not Amazon's: a release as recorded (METRICS.md, Releases)
BODY_FIELDS = ("startTime", "endTime", "maxResultsPerQuery", "nextToken", "metricQueries")
QUERY_FIELDS = (
    "id",
    "label",
    "name",
    "metricNamespace",
    "groupBy",
    "aggregationPeriod",
    "stat",
    "dimensions",
)
LIST_PARAMS = ("metricNamespace", "maxResults", "nextToken", "format")
MAX_ID_CHARS = 100

Kind = Literal["utterances", "sessions", "enablements"]
Value = Callable[[Rollup, int, str], float | int | None]  # merged rollup of a point, report time, stat

# Why a known name is not answered: figures the skill's own requests cannot show.
FIRST_PARTY_CANNOT = {
    "DEFECTIVE_BARGE_INS": "a barge-in happens on the device while Alexa speaks; the skill never hears of it",
    "DEFECTIVE_BARGE_IN_RATE": "a barge-in happens on the device while Alexa speaks; the skill never hears "
    "of it",
    "FUD_DEFECTIVE_BARGE_INS": "a barge-in happens on the device while Alexa speaks; the skill never hears "
    "of it",
    "INTENT_CLASSIFICATION": "intent confidence is Alexa's language model's own; requests do not carry it",
    "ROUTINES_INVOCATIONS": "a request does not say that a routine started it",
    "QUICK_LINKS_INVOCATIONS": "a request does not say that a Quick Link started it",
}


def _v1(name: str) -> Value:
    """The v1 metric's own value function (``metrics.METRICS``): the same figure, by construction."""
    spec = METRICS[name]
    return lambda rollup, now, _stat: spec.value(rollup, now)


def _utterance_figure(name: str) -> Value:
    from alexa_skill_metrics.reporting.views.utterances import utterance_figures

    def value(rollup: Rollup, _now: int, _stat: str) -> float | int | None:
        figure: float | int | None = utterance_figures(rollup, sessions=False)[name]
        return figure

    return value


def _session_figure(read: Callable[[dict[str, Any]], int]) -> Value:
    from alexa_skill_metrics.reporting.views.sessions import session_figures

    return lambda rollup, now, _stat: read(session_figures(rollup, now))


def _quality(read: Callable[[SkillQuality], float | int]) -> Value:
    """A figure of the friction view's ``skill_quality`` (its ``quality`` field): the same function."""
    from alexa_skill_metrics.reporting.views.friction import skill_quality

    return lambda rollup, _now, _stat: read(skill_quality(rollup))


def _invocations(read: Callable[[InvocationTypes], int]) -> Value:
    """A count of the sessions view's ``invocation_types`` (its ``invocations`` field): the same function."""
    from alexa_skill_metrics.reporting.views.sessions import invocation_types

    return lambda rollup, _now, _stat: read(invocation_types(rollup))


def _latency(rollup: Rollup, _now: int, stat: str) -> float | None:
    from alexa_skill_metrics.reporting.views.common import latency

    value: float | None = getattr(latency(rollup.latency), stat)
    return value


@dataclass(frozen=True)
class MetricV2:
    """One v2 metric name: what it is in METRICS.md, and how it may be asked for."""

    namespace: str
    name: str
    maps_to: str
    kind: Kind = "utterances"
    value: Value | None = None
    stats: tuple[str, ...] = ("count",)
    unavailable: str | None = None  # why it is not answered; such names are not listed

    @property
    def group_by(self) -> tuple[str, ...]:
        return {"utterances": ("intent", "locale"), "sessions": ("locale",), "enablements": ()}[self.kind]

    @property
    def dimensions(self) -> tuple[str, ...]:
        if self.kind == "enablements":
            return (STAGE_DIMENSION, RELEASE_DIMENSION)
        return (STAGE_DIMENSION, LOCALE_DIMENSION, RELEASE_DIMENSION)


def _table(*metrics: MetricV2) -> dict[tuple[str, str], MetricV2]:
    return {(m.namespace, m.name): m for m in metrics}


METRICS_V2: dict[tuple[str, str], MetricV2] = _table(
    MetricV2(
        CUSTOM,
        "CUSTOMERS",
        "uniqueCustomers (v1): distinct customers with an utterance; a union over the point, never a sum",
        value=_v1("uniqueCustomers"),
    ),
    MetricV2(
        CUSTOM,
        "UTTERANCES",
        "totalUtterances (v1): LaunchRequests and IntentRequests",
        value=_v1("totalUtterances"),
    ),
    MetricV2(
        CUSTOM,
        "SUCCESSFUL_UTTERANCES",
        "successfulUtterances (v1): utterances whose dispatch raised nothing",
        value=_v1("successfulUtterances"),
    ),
    MetricV2(
        CUSTOM,
        "FAILED_UTTERANCES",
        "failedUtterances (v1): utterances whose dispatch raised, answered by an exception handler or not",
        value=_v1("failedUtterances"),
    ),
    MetricV2(
        CUSTOM,
        "UTTERANCES_PER_CUSTOMER",
        "utterances view perCustomer: utterances / unique customers (0 without customers)",
        value=_utterance_figure("per_customer"),
        stats=("avg",),
    ),
    MetricV2(
        CUSTOM,
        "SUCCESSFUL_SESSIONS",
        "successfulSessions (v1): sessions ended skill_ended or user_ended, at their start",
        kind="sessions",
        value=_v1("successfulSessions"),
    ),
    MetricV2(
        CUSTOM,
        "ENDED_SESSIONS",
        "sessions view: started - incomplete - active, the sessions with an end signal, at their start",
        kind="sessions",
        value=_session_figure(lambda f: f["started"] - f["incomplete"] - f["active"]),
    ),
    MetricV2(
        CUSTOM,
        "USER_ENDED_SESSIONS",
        "userEndedSessions (v1): SessionEndedRequest USER_INITIATED",
        kind="sessions",
        value=_v1("userEndedSessions"),
    ),
    MetricV2(
        CUSTOM,
        "SKILL_ENDED_SESSIONS",
        "skillEndedSessions (v1): the skill answered with shouldEndSession true",
        kind="sessions",
        value=_v1("skillEndedSessions"),
    ),
    MetricV2(
        CUSTOM,
        "ACTIVE_SESSIONS",
        "totalSessions (v1): sessions started in the point (Amazon's 'active' means sessions that took "
        "place, not METRICS.md's still-open 'active' state)",
        kind="sessions",
        value=_v1("totalSessions"),
    ),
    MetricV2(
        CUSTOM,
        "USER_RESPONDED",
        "utterances view responded: utterances of a tracked session with session.new false",
        value=_utterance_figure("responded"),
    ),
    MetricV2(
        CUSTOM,
        "USER_DID_NOT_RESPOND",
        "utterances view notResponded: sessions ended no_response (EXCEEDED_MAX_REPROMPTS), at their start",
        kind="sessions",
        value=_session_figure(lambda f: f["no_response"]),
    ),
    MetricV2(
        CUSTOM,
        "SKILL_LATENCY",
        "latencyMs of the utterances and intents views: handler time percentiles in ms (null without "
        "utterances); avg is not kept by the latency summaries",
        value=_latency,
        stats=("p50", "p90", "p99"),
    ),
    MetricV2(
        ENABLEMENT,
        "USERS",
        "totalEnablements (v1): AlexaSkillEvent.SkillEnabled events (a customer enabling twice counts twice)",
        kind="enablements",
        value=_v1("totalEnablements"),
    ),
    MetricV2(
        QUALITY,
        "UNHANDLED_REQUEST",
        "friction view quality.unhandledRequests (METRICS.md Friction): unhandled utterances "
        "(AMAZON.FallbackIntent or failed) at their own time; per intent, the intents view's unhandled",
        value=_quality(lambda q: q.unhandled_requests),
    ),
    MetricV2(
        QUALITY,
        "UNHANDLED_REQUEST_RATE",
        "friction view quality.unhandledRequestRate: unhandled utterances / utterances (0 without "
        "utterances); per intent, the intent's unhandled / its utterances",
        value=_quality(lambda q: q.unhandled_request_rate),
        stats=("avg",),
    ),
    MetricV2(
        QUALITY,
        "DEFECTIVE_TERMINATION",
        "friction view quality.defectiveTerminations: terminations (Stop, Cancel or USER_INITIATED right "
        "after the welcome or an unhandled reply, at their own time) + sessions ended no_response there "
        "(at their start); exits at any other prompt are not counted",
        kind="sessions",
        value=_quality(lambda q: q.defective_terminations),
    ),
    MetricV2(
        QUALITY,
        "DEFECTIVE_TERMINATION_RATE",
        "friction view quality.defectiveTerminationRate: defective terminations / sessions started "
        "(0 without sessions)",
        kind="sessions",
        value=_quality(lambda q: q.defective_termination_rate),
        stats=("avg",),
    ),
    MetricV2(
        INVOCATIONS,
        "DIRECT_INVOCATIONS",
        "sessions view invocations.launch (METRICS.md Invocation type): sessions started by a "
        "LaunchRequest, at their start",
        kind="sessions",
        value=_invocations(lambda types: types.launch),
    ),
    MetricV2(
        INVOCATIONS,
        "ONE_SHOT_INVOCATIONS",
        "sessions view invocations.oneShot (METRICS.md Invocation type): sessions started by an "
        "IntentRequest with session.new true, at their start",
        kind="sessions",
        value=_invocations(lambda types: types.one_shot),
    ),
    *(
        MetricV2(
            INVOCATIONS if "INVOCATIONS" in name else CUSTOM if name == "INTENT_CLASSIFICATION" else QUALITY,
            name,
            "not available from the skill's own requests",
            unavailable=f"cannot be known from the skill's own requests: {why}",
        )
        for name, why in FIRST_PARTY_CANNOT.items()
    ),
)


def listed(namespace: str) -> list[MetricV2]:
    """The metrics of ``namespace`` that are answered (the listing leaves out the others)."""
    return [m for m in METRICS_V2.values() if m.namespace == namespace and m.unavailable is None]


# --- the request ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricQueryV2:
    """One validated metric query."""

    id: str
    label: str
    metric: MetricV2
    aggregation_period: str
    stat: str
    group_by: str | None
    report: ReportRequest  # skill, range, period, stage and locale, as a v1 request

    @property
    def aligned(self) -> ReportRequest:
        return self.report.aligned(self.report.bucket)


@dataclass(frozen=True, slots=True)
class MetricsV2Request:
    """A validated ``POST /v2/skills/{skillId}/metrics`` body."""

    skill_id: str
    queries: tuple[MetricQueryV2, ...]
    max_results: int
    next_token: str | None
    fingerprint: str

    @classmethod
    def from_body(cls, skill_id: str, body: str | None) -> MetricsV2Request:
        """Parse and validate the JSON body; ``BadRequest`` names the field at fault."""
        check_skill_id(skill_id)
        if not body:
            raise BadRequest(
                "body", "is empty; send Amazon's JSON body with startTime, endTime and metricQueries"
            )
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):  # bad JSON, a lone surrogate, absurd nesting
            raise BadRequest(
                "body", "is not JSON; send a JSON object with startTime, endTime and metricQueries"
            ) from None
        if not isinstance(parsed, dict):
            raise BadRequest(
                "body", "is not a JSON object; send one with startTime, endTime and metricQueries"
            )
        check_known(parsed, BODY_FIELDS)
        start = _epoch("startTime", parsed.get("startTime"))
        end = _epoch("endTime", parsed.get("endTime"))
        queries = parsed.get("metricQueries")
        if not isinstance(queries, list) or not queries:
            raise BadRequest("metricQueries", f"must be a list of 1 to {MAX_QUERIES} metric queries")
        if len(queries) > MAX_QUERIES:
            raise BadRequest(
                "metricQueries", f"holds {len(queries)} queries; ask for at most {MAX_QUERIES} at once"
            )
        checked = tuple(_query(skill_id, start, end, n, q) for n, q in enumerate(queries))
        ids = [q.id for q in checked]
        if len(set(ids)) != len(ids):
            raise BadRequest("metricQueries", "repeat an id; give every query its own id")
        token = parsed.get("nextToken")
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS):
            raise BadRequest("nextToken", "is not a token this endpoint returned; start again without it")
        canonical = json.dumps([parsed["startTime"], parsed["endTime"], queries], sort_keys=True)
        return cls(
            skill_id=skill_id,
            queries=checked,
            max_results=_whole(
                "maxResultsPerQuery", parsed.get("maxResultsPerQuery"), 1, MAX_RESULTS, MAX_RESULTS
            ),
            next_token=token or None,
            fingerprint=hashlib.sha256(f"v2|{skill_id}|{canonical}".encode()).hexdigest()[:16],
        )


def _epoch(name: str, raw: Any) -> str:
    """Epoch milliseconds (Amazon's) or an ISO 8601 string (a JavaScript ``Date`` as JSON), as ISO 8601."""
    if isinstance(raw, bool) or raw is None:
        raise BadRequest(name, "is required: epoch milliseconds such as 1767571200000")
    if isinstance(raw, int | float):
        if not 0 <= raw < 10**14:
            raise BadRequest(name, f"is {raw}; use epoch milliseconds such as 1767571200000")
        return format_time(int(raw))
    if isinstance(raw, str):
        return raw  # ReportRequest.from_params parses and range-checks it, naming the field
    raise BadRequest(name, "is not a number; use epoch milliseconds such as 1767571200000")


def _whole(name: str, raw: Any, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise BadRequest(name, f"is {str(raw)[:40]!r}; use a whole number from {low} to {high}")
    return raw


def _text(name: str, raw: Any, options: Sequence[str] | None = None, default: str | None = None) -> str:
    if raw is None and default is not None:
        return default
    if not isinstance(raw, str) or not raw:
        wanted = f"one of {', '.join(options)}" if options else "a string"
        raise BadRequest(name, f"is required; use {wanted}" if raw is None else f"must be {wanted}")
    if options is not None and raw not in options:
        raise BadRequest(name, f"is {raw[:60]!r}; use one of {', '.join(options)}")
    return raw


def find_metric(namespace: str, name: str, field_name: str = "name") -> MetricV2:
    """The answered metric ``namespace``/``name``, or a 400 that says why not (unknown, unavailable)."""
    metric = METRICS_V2.get((namespace, name))
    if metric is None:
        elsewhere = [m for m in METRICS_V2.values() if m.name == name]
        if elsewhere and elsewhere[0].unavailable is None:
            raise BadRequest(
                field_name, f"{name} is a metric of {elsewhere[0].namespace}, not of {namespace}"
            )
        if elsewhere:
            raise BadRequest(field_name, f"{name} {elsewhere[0].unavailable}")
        known = ", ".join(m.name for m in listed(namespace))
        raise BadRequest(field_name, f"is {name[:60]!r}, not a metric of {namespace}; use one of {known}")
    if metric.unavailable is not None:
        raise BadRequest(field_name, f"{name} of {namespace} {metric.unavailable}")
    return metric


def _query(skill_id: str, start: str, end: str, n: int, raw: Any) -> MetricQueryV2:
    at = f"metricQueries[{n}]"
    if not isinstance(raw, dict):
        raise BadRequest(at, "is not a JSON object with id, name, metricNamespace and aggregationPeriod")
    for key in raw:
        if key not in QUERY_FIELDS:
            raise BadRequest(
                f"{at}.{str(key)[:40]}", f"is not a field of a metric query; use {', '.join(QUERY_FIELDS)}"
            )
    query_id = _text(f"{at}.id", raw.get("id"))
    if len(query_id) > MAX_ID_CHARS:
        raise BadRequest(f"{at}.id", f"is longer than {MAX_ID_CHARS} characters")
    label = raw.get("label", query_id)
    if not isinstance(label, str) or len(label) > MAX_ID_CHARS:
        raise BadRequest(f"{at}.label", f"must be a string of at most {MAX_ID_CHARS} characters")
    namespace = _text(f"{at}.metricNamespace", raw.get("metricNamespace"), NAMESPACES)
    metric = find_metric(namespace, _text(f"{at}.name", raw.get("name")), f"{at}.name")
    period = _text(f"{at}.aggregationPeriod", raw.get("aggregationPeriod"), tuple(AGGREGATION_PERIODS))
    stat = _text(f"{at}.stat", raw.get("stat"), STATS, metric.stats[0])
    if stat not in metric.stats:
        raise BadRequest(f"{at}.stat", f"is {stat!r}; {metric.name} supports {', '.join(metric.stats)}")
    group_by = _group_by(f"{at}.groupBy", raw.get("groupBy"), metric)
    params = {"startTime": start, "endTime": end, "period": AGGREGATION_PERIODS[period]}
    params.update(_dimensions(f"{at}.dimensions", raw.get("dimensions"), metric))
    try:
        report = ReportRequest.from_params(skill_id, params)
    except BadRequest as error:  # name the body's field: startTime/endTime, or the dimension
        field_name = error.parameter or "body"
        where = field_name if field_name in BODY_FIELDS else f"{at}.dimensions"
        raise BadRequest(where, error.message.removeprefix(field_name).strip()) from None
    return MetricQueryV2(query_id, label, metric, period, stat, group_by, report)


def _group_by(name: str, raw: Any, metric: MetricV2) -> str | None:
    """``"intent"`` or ``"locale"``; a one-element list of either too (the TS client types it ``Object``)."""
    if isinstance(raw, list) and len(raw) <= 1:
        raw = raw[0] if raw else None
    if raw is None:
        return None
    if raw not in ("intent", "locale"):
        raise BadRequest(name, f"is {str(raw)[:40]!r}; use intent or locale")
    if raw not in metric.group_by:
        allowed = ", ".join(metric.group_by) or "nothing"
        raise BadRequest(name, f"cannot be {raw} for {metric.name}; it can be grouped by {allowed}")
    return cast(str, raw)


def _dimensions(name: str, raw: Any, metric: MetricV2) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise BadRequest(name, "must be a list of {name, value} objects")
    found: dict[str, str] = {}
    for i, item in enumerate(raw):
        at = f"{name}[{i}]"
        if not isinstance(item, dict) or set(item) != {"name", "value"}:
            raise BadRequest(at, "must be an object with exactly name and value")
        dimension = _text(f"{at}.name", item["name"], (STAGE_DIMENSION, LOCALE_DIMENSION, RELEASE_DIMENSION))
        if dimension not in metric.dimensions:
            raise BadRequest(
                f"{at}.name",
                f"is {dimension}; {metric.name} cannot be filtered by it (skill events carry no locale)",
            )
        param = {STAGE_DIMENSION: "stage", LOCALE_DIMENSION: "locale"}.get(dimension, "release")
        if param in found:
            raise BadRequest(f"{at}.name", f"repeats {dimension}; give each dimension once")
        found[param] = _text(f"{at}.value", item["value"])
    return found


# --- the answer -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupedBy:
    """Which group a data element is: an intent or a locale."""

    grouped_by_field: str = field(metadata=doc("intent or locale"))
    grouped_by_value: str = field(metadata=doc("The intent name (LaunchRequest for launches) or the locale"))


@dataclass(frozen=True)
class DataV2:
    """The values of one query for one group (or for everything when not grouped)."""

    timestamps: list[int] = field(
        metadata=doc("Start of each point, epoch milliseconds (UTC); for SINGLE the range's start")
    )
    values: list[float | None] = field(
        metadata=doc(
            "The value per point, same order; 0 without traffic, null for latency without utterances"
        )
    )
    grouped_by: GroupedBy | None = field(metadata=doc("The group, or null when the query has no groupBy"))


@dataclass(frozen=True)
class ResultV2:
    """The answer to one metric query, echoing it."""

    id: str = field(metadata=doc("The query's id"))
    label: str = field(metadata=doc("The query's label (its id when not given)"))
    metric_namespace: str = field(metadata=doc("The query's metricNamespace"))
    name: str = field(metadata=doc("The query's metric name"))
    stat: str = field(metadata=doc("The statistic of the values: count, avg, p50, p90 or p99"))
    data: list[DataV2] = field(
        metadata=doc(
            "One element per group (intent or locale) with a non-zero value anywhere in the range, the "
            "same on every page; one element, even of zeros, when not grouped"
        )
    )


@dataclass(frozen=True)
class PaginationContext:
    """Where the next page starts."""

    next_token: str | None = field(
        metadata=doc(
            "Send as nextToken, with the rest of the body unchanged, for the next page; null on the last"
        )
    )


@dataclass(frozen=True)
class MetricsV2Response:
    """Amazon's Metrics API v2 response: one result per metric query."""

    results: list[ResultV2] = field(metadata=doc("One per metric query, in the order asked"))
    pagination_context: PaginationContext = field(metadata=doc("Pagination of every query at once"))


@dataclass(frozen=True)
class MetricDescriptionV2:
    """One metric that can be asked for, and how."""

    metric_namespace: str = field(metadata=doc("Its namespace"))
    name: str = field(metadata=doc("Its name"))
    description: str = field(metadata=doc("The METRICS.md figure it is, and where else it is served"))
    supported_dimensions: list[str] = field(metadata=doc("Filters it takes: Alexa.Stage, Alexa.Locale"))
    supported_group_by_options: list[str] = field(metadata=doc("What it can be grouped by: intent, locale"))
    supported_stats: list[str] = field(metadata=doc("Statistics it supports (the first is the default)"))
    supported_aggregation_periods: list[str] = field(
        metadata=doc("SINGLE, BY_15, BY_HOUR, BY_DAY and BY_WEEK (ISO weeks from Monday 00:00 UTC)")
    )


@dataclass(frozen=True)
class MetricsListV2Response:
    """The metrics of one namespace that this API answers."""

    metrics: list[MetricDescriptionV2] = field(metadata=doc("Every answered metric of the namespace"))
    pagination_context: PaginationContext = field(metadata=doc("Always one page: nextToken is null"))


def list_metrics_v2(params: Mapping[str, str]) -> MetricsListV2Response:
    """``GET /v2/skills/metrics``: the answered metrics of ``metricNamespace``."""
    check_known(params, LIST_PARAMS)
    namespace = _text("metricNamespace", params.get("metricNamespace") or None, NAMESPACES)
    raw_max = params.get("maxResults")
    if raw_max and not (raw_max.isdigit() and 1 <= int(raw_max) <= MAX_RESULTS):
        raise BadRequest("maxResults", f"is {raw_max[:40]!r}; use a whole number from 1 to {MAX_RESULTS}")
    if params.get("nextToken"):
        raise BadRequest("nextToken", "is not a token this endpoint returned: the listing is a single page")
    return MetricsListV2Response(
        metrics=[
            MetricDescriptionV2(
                metric_namespace=m.namespace,
                name=m.name,
                description=m.maps_to,
                supported_dimensions=list(m.dimensions),
                supported_group_by_options=list(m.group_by),
                supported_stats=list(m.stats),
                supported_aggregation_periods=list(AGGREGATION_PERIODS),
            )
            for m in listed(namespace)
        ],
        pagination_context=PaginationContext(None),
    )


def get_metrics_v2(source: RollupSource, request: MetricsV2Request, now_ms: int) -> MetricsV2Response:
    """Answer a v2 body from ``source``: each query reads only the rollups of its page's points."""
    pages = max(-(-q.aligned.points() // request.max_results) for q in request.queries)
    page = 0 if request.next_token is None else _read_token(request.next_token, request.fingerprint, pages)
    token = _make_token(page + 1, request.fingerprint) if page + 1 < pages else None
    results = [
        _answer(source, query, page * request.max_results, request.max_results, now_ms)
        for query in request.queries
    ]
    return MetricsV2Response(results=results, pagination_context=PaginationContext(token))


def _answer(source: RollupSource, query: MetricQueryV2, offset: int, limit: int, now_ms: int) -> ResultV2:
    from alexa_skill_metrics.reporting.views.common import Frame

    aligned = query.aligned
    total = aligned.points()
    count = max(0, min(limit, total - offset))
    window, spans = page_window(aligned, offset, count) if count else (aligned, [])
    groups = _groups(source, query, window, spans)
    value = cast(Value, query.metric.value)
    if query.group_by is None:
        keep: set[str | None] = {None}
    elif count == total:  # one page: the groups with a value in it
        keep = {
            g
            for g, rollups in groups.items()
            if _any_value(Frame(window, now_ms, source.exact, rollups), query)
        }
    else:  # every page shows the groups with a value anywhere in the range (one coarse read), zeros elsewhere
        whole = _groups(source, query, aligned, tiling(aligned.start_ms, aligned.end_ms))
        keep = {
            g
            for g, rollups in whole.items()
            if _any_value(Frame(aligned, now_ms, source.exact, rollups), query)
        }
    data: list[DataV2] = []
    for group in sorted(keep, key=lambda g: g or ""):
        points = Frame(window, now_ms, source.exact, groups.get(group, [])).points() if count else []
        values = [value(rollup, now_ms, query.stat) for _, rollup in points]
        grouped = None if group is None else GroupedBy(cast(str, query.group_by), group)
        data.append(DataV2([start for start, _ in points], cast(list[float | None], values), grouped))
    return ResultV2(query.id, query.label, query.metric.namespace, query.metric.name, query.stat, data)


def _groups(
    source: RollupSource, query: MetricQueryV2, window: ReportRequest, spans: list[Span]
) -> dict[str | None, list[tuple[RollupKey, Rollup]]]:
    """The rollups of ``spans`` by group: intent, locale, or one group ``None``."""
    groups: dict[str | None, list[tuple[RollupKey, Rollup]]] = {}
    if not spans:
        return groups
    found = source.fetch(
        window.skill_id,
        window.stage,
        spans,
        intents=query.group_by == "intent",
        locale=window.locale,
        release=window.release,
    )
    for key, rollup in found:
        group = {"intent": key.intent, "locale": key.locale}.get(query.group_by or "")
        groups.setdefault(group, []).append((key, rollup))
    return groups


def _any_value(frame: Frame, query: MetricQueryV2) -> bool:
    """Whether the metric has a non-zero (non-null) value over the frame's whole range."""
    value = cast(Value, query.metric.value)
    merged = frame.merge(rollup for _, rollup in frame.rollups)
    return bool(value(merged, frame.now_ms, query.stat))
