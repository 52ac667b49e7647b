"""The Skill Management API's "get metrics" call: same parameters, same response shape.

``GET /v1/skills/{skillId}/metrics?startTime&endTime&period&metric&stage&skillType&intent&locale
&maxResults&nextToken`` answers ``{"metric", "timestamps", "values", "nextToken"}``: one value per
bucket of the period (one for ``SINGLE``), zeros for buckets without traffic, at most
``maxResults`` (1-200, default 200) per page. ``nextToken`` is opaque, bound to the query it
came from, and ``null`` on the last page. Unlike Amazon's endpoint, ranges may be longer than a
week (up to 366 days), and ``period=P1W`` (ISO weeks from Monday 00:00 UTC) is an extension
beside Amazon's four periods. Customer and utterance metrics can be filtered by intent; session metrics
and ``totalEnablements`` cannot, and ``totalEnablements`` cannot be filtered by locale either
(skill events carry no locale): those combinations are a 400 naming the parameter.

Example
-------
>>> r = MetricRequest.from_params("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce", {
...     "startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z", "period": "PT1H",
...     "metric": "totalUtterances", "maxResults": "10"})
>>> first = page_of(r)
>>> first.offset, first.count, first.total
(0, 10, 24)
>>> page_of(r.with_token(first.next_token)).offset
10
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from alexa_skill_metrics.model import EndType, Rollup
from alexa_skill_metrics.periods import BUCKET_MS
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.params import (
    MAX_RESULTS,
    MAX_TOKEN_CHARS,
    METRIC_PARAMS,
    SKILL_TYPES,
    ReportRequest,
    choice,
    format_time,
    whole_number,
)
from alexa_skill_metrics.reporting.plan import Span, series, tiling
from alexa_skill_metrics.reporting.schema import doc

if TYPE_CHECKING:
    from alexa_skill_metrics.model import RollupKey
    from alexa_skill_metrics.reporting.source import RollupSource

Kind = Literal["customers", "utterances", "sessions", "enablements"]


@dataclass(frozen=True)
class MetricSpec:
    """One SMAPI metric: what it filters like, and its value of a merged rollup as of a time."""

    kind: Kind
    value: Callable[[Rollup, int], int]
    description: str


def _ends(*names: EndType) -> Callable[[Rollup, int], int]:
    return lambda r, _now: sum(r.session_ends.get(name.value, 0) for name in names)


METRICS: dict[str, MetricSpec] = {
    "uniqueCustomers": MetricSpec(
        "customers",
        lambda r, _: r.customers.count(),
        "Distinct customers with an utterance (a union per bucket)",
    ),
    "totalEnablements": MetricSpec("enablements", lambda r, _: r.enablements, "SkillEnabled events"),
    "totalUtterances": MetricSpec("utterances", lambda r, _: r.utterances, "Utterances"),
    "successfulUtterances": MetricSpec(
        "utterances",
        lambda r, _: r.utterances - r.failed_utterances,
        "Utterances whose dispatch raised nothing",
    ),
    "failedUtterances": MetricSpec(
        "utterances", lambda r, _: r.failed_utterances, "Utterances whose dispatch raised"
    ),
    "totalSessions": MetricSpec("sessions", lambda r, _: r.sessions_started, "Sessions started"),
    "successfulSessions": MetricSpec(
        "sessions",
        _ends(EndType.SKILL_ENDED, EndType.USER_ENDED),
        "Sessions ended by the skill or the customer",
    ),
    "incompleteSessions": MetricSpec(
        "sessions",
        lambda r, now: r.open_split(now)[1],
        "Sessions with no end signal an hour after their last event",
    ),
    "userEndedSessions": MetricSpec("sessions", _ends(EndType.USER_ENDED), "Sessions ended by the customer"),
    "skillEndedSessions": MetricSpec("sessions", _ends(EndType.SKILL_ENDED), "Sessions ended by the skill"),
}


@dataclass(frozen=True)
class MetricResponse:
    """The SMAPI get-metrics response: values of one metric per bucket, paginated."""

    metric: str = field(metadata=doc("The metric asked for"))
    timestamps: list[str] = field(
        metadata=doc("Start of each bucket (UTC, ISO 8601); for SINGLE the range's start")
    )
    values: list[int] = field(
        metadata=doc("The metric's value per bucket, same order as timestamps; 0 without traffic")
    )
    next_token: str | None = field(metadata=doc("Pass as nextToken for the next page; null on the last page"))


@dataclass(frozen=True, slots=True)
class MetricRequest:
    """A validated get-metrics call."""

    report: ReportRequest
    metric: str
    max_results: int = MAX_RESULTS
    next_token: str | None = None
    skill_type: str = "custom"

    @classmethod
    def from_params(cls, skill_id: str, params: Mapping[str, str]) -> MetricRequest:
        """Validate SMAPI query parameters; ``period`` and ``metric`` are required, as on SMAPI."""
        report = ReportRequest.from_params(skill_id, params, allowed=METRIC_PARAMS, default_period=None)
        metric = choice("metric", params.get("metric"), tuple(METRICS))
        kind = METRICS[metric].kind
        if report.intent is not None and kind in ("sessions", "enablements"):
            raise BadRequest(
                "intent", f"cannot filter {metric}: only customer and utterance metrics are per intent"
            )
        if report.locale is not None and kind == "enablements":
            raise BadRequest("locale", f"cannot filter {metric}: skill events carry no locale")
        token = params.get("nextToken") or None
        if token is not None and len(token) > MAX_TOKEN_CHARS:
            raise BadRequest("nextToken", "is longer than any token this endpoint returns")
        return cls(
            report=report,
            metric=metric,
            max_results=whole_number("maxResults", params.get("maxResults"), 1, MAX_RESULTS, MAX_RESULTS),
            next_token=token,
            skill_type=choice("skillType", params.get("skillType"), SKILL_TYPES, "custom"),
        )

    def with_token(self, token: str | None) -> MetricRequest:
        return replace(self, next_token=token)

    @property
    def aligned(self) -> ReportRequest:
        return self.report.aligned(self.report.bucket)

    def fingerprint(self) -> str:
        """What a token is bound to: everything that decides the buckets and their values."""
        r = self.aligned
        query = (
            f"{r.skill_id}|{r.stage}|{self.metric}|{r.period}|{r.locale}|{r.intent}|{r.start_ms}|{r.end_ms}"
        )
        if r.release is not None:  # tokens issued before releases stay valid for unfiltered requests
            query += f"|{r.release}"
        return hashlib.sha256(query.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Page:
    """Which buckets one response holds."""

    offset: int
    count: int
    total: int
    next_token: str | None


def page_of(request: MetricRequest) -> Page:
    """The page ``request`` asks for; ``BadRequest`` on a token that is not for this query."""
    total = request.aligned.points()
    offset = (
        0 if request.next_token is None else _read_token(request.next_token, request.fingerprint(), total)
    )
    count = min(request.max_results, total - offset)
    following = offset + count
    token = _make_token(following, request.fingerprint()) if following < total else None
    return Page(offset, count, total, token)


def get_metric(source: RollupSource, request: MetricRequest, now_ms: int) -> MetricResponse:
    """Answer a get-metrics call from ``source``: reads only the rollups of the page's buckets."""
    from alexa_skill_metrics.reporting.views.common import Frame

    page = page_of(request)
    window, spans = page_window(request.aligned, page.offset, page.count)
    rollups = _fetch(source, window, spans)
    spec = METRICS[request.metric]
    points = Frame(window, now_ms, source.exact, rollups).points()
    return MetricResponse(
        metric=request.metric,
        timestamps=[format_time(start) for start, _ in points],
        values=[spec.value(rollup, now_ms) for _, rollup in points],
        next_token=page.next_token,
    )


def page_window(aligned: ReportRequest, offset: int, count: int) -> tuple[ReportRequest, list[Span]]:
    """The ``count`` points from ``offset`` of an aligned request, and the rollup spans they read.

    ``SINGLE`` is one point, read as the coarsest tiling of the range.
    """
    if aligned.period == "SINGLE":
        return aligned, tiling(aligned.start_ms, aligned.end_ms)
    size = BUCKET_MS[aligned.period]
    start = aligned.start_ms + offset * size
    window = replace(aligned, start_ms=start, end_ms=start + count * size)
    return window, series(window.start_ms, window.end_ms, aligned.period)


def _fetch(source: RollupSource, window: ReportRequest, spans: list[Span]) -> list[tuple[RollupKey, Rollup]]:
    intent = window.intent
    found = source.fetch(
        window.skill_id,
        window.stage,
        spans,
        intents=intent is not None,
        locale=window.locale,
        release=window.release,
    )
    return [(key, rollup) for key, rollup in found if intent is None or key.intent == intent]


def _make_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"v1:{offset}:{fingerprint}".encode()).decode().rstrip("=")


def _read_token(token: str, fingerprint: str, total: int) -> int:
    invalid = BadRequest("nextToken", "is not a token this endpoint returned; start again without it")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        version, offset_text, bound_to = raw.split(":")
        offset = int(offset_text)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise invalid from None
    if version != "v1" or not 0 < offset < total:
        raise invalid
    if bound_to != fingerprint:
        raise BadRequest("nextToken", "belongs to a different query; keep every other parameter as it was")
    return offset
