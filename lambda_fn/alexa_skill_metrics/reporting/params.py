"""Request parameters of the reporting API: parsed, validated, and turned into typed requests.

Every problem becomes a ``BadRequest`` naming the parameter. The rules, which the OpenAPI document
repeats:

* ``startTime`` and ``endTime`` are ISO 8601 (``2026-01-05T00:00:00Z``; an offset is converted to
  UTC, a time without one is read as UTC), between 2015 and 2100, ``startTime`` before ``endTime``,
  at most ``MAX_RANGE_DAYS`` apart.
* Non-aligned times are not an error: a report covers every bucket that *intersects*
  ``[startTime, endTime)``, so ``startTime`` is floored and ``endTime`` ceiled to the report's
  bucket (the period's, 15 minutes for ``SINGLE``, at least an hour for the overview). Views echo
  that effective range; metric ``timestamps`` are bucket starts.
* ``skillId`` is ``amzn1.ask.skill.<uuid>`` (or a legacy ``amzn1.echo-sdk-ams.app.<uuid>``);
  ``stage`` is ``live`` (default) or ``development``;
  ``locale`` looks like ``en-US``; ``intent`` is an intent name or ``LaunchRequest``;
  ``release`` is a release as recorded (``METRICS_RELEASE``'s label, a Lambda function version,
  or ``-`` for requests recorded without one).
* An empty value counts as absent; an unknown parameter is an error (a typo would otherwise
  silently widen the report).

Example
-------
>>> r = ReportRequest.from_params("amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
...                               {"startTime": "2026-01-05T10:20:00Z", "endTime": "2026-01-05T12:00:00Z"})
>>> r.period, r.stage, format_time(r.aligned("PT1H").start_ms)
('P1D', 'live', '2026-01-05T10:00:00Z')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.model import (
    DEFAULT_MIN_CUSTOMERS,
    LEAST_MIN_CUSTOMERS,
    NO_RELEASE,
    RELEASE_PATTERN,
)
from alexa_skill_metrics.periods import BUCKET_MS, PERIODS, Period, floor_ms, format_time
from alexa_skill_metrics.reporting.errors import BadRequest

# Skills created before 2016 keep their legacy application id, amzn1.echo-sdk-ams.app.<uuid>.
SKILL_ID = re.compile(
    r"amzn1\.(?:ask\.skill|echo-sdk-ams\.app)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
LOCALE = re.compile(r"[a-z]{2,3}-(?:[A-Z]{2}|[0-9]{3})")
INTENT = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")
RELEASE = re.compile(f"{RELEASE_PATTERN}|{re.escape(NO_RELEASE)}")
SKILL_TYPES = ("custom",)  # the only skill type whose requests this project records

DAY_MS = 86_400_000
MAX_RANGE_DAYS = 366
MAX_VIEW_POINTS = 3_000  # points in one view's series: 31 days of PT15M, 125 days of PT1H
MAX_RESULTS = 200  # SMAPI's upper limit of maxResults, and its default here
MAX_TOKEN_CHARS = 200
EARLIEST_MS = 1_420_070_400_000  # 2015-01-01: no Alexa skill ran before it
LATEST_MS = 4_102_444_800_000  # 2100-01-01

VIEW_DEFAULT_PERIOD: Period = "P1D"
_FILTERS = ("startTime", "endTime", "period", "stage", "locale", "intent", "release")
# minCustomers: the slots view's k for unresolved values (METRICS.md); other views refuse it.
REPORT_PARAMS = (*_FILTERS, "minCustomers")
METRIC_PARAMS = (*_FILTERS, "metric", "skillType", "maxResults", "nextToken")
MAX_MIN_CUSTOMERS = 1_000_000

# Re-exported: the views and the API's callers format times through this module.
__all__ = ["format_time"]


def parse_range(params: Mapping[str, str | None]) -> tuple[int, int]:
    """``startTime`` and ``endTime`` in epoch ms: both given, in order, at most ``MAX_RANGE_DAYS`` apart."""
    start = parse_time("startTime", params.get("startTime"))
    end = parse_time("endTime", params.get("endTime"))
    if end <= start:
        raise BadRequest("endTime", f"({params.get('endTime')}) must be after startTime")
    if end - start > MAX_RANGE_DAYS * DAY_MS:
        raise BadRequest("endTime", f"is more than {MAX_RANGE_DAYS} days after startTime; ask for less")
    return start, end


def parse_time(name: str, raw: str | None) -> int:
    """An ISO 8601 time as epoch milliseconds, or ``BadRequest`` naming ``name``."""
    if not raw:
        raise BadRequest(name, "is required: an ISO 8601 time such as 2026-01-05T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadRequest(
            name, f"is {raw[:40]!r}, not an ISO 8601 time such as 2026-01-05T00:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = int(parsed.timestamp() * 1000)
    if not EARLIEST_MS <= ms < LATEST_MS:
        raise BadRequest(name, f"is {raw[:40]!r}; use a time from 2015-01-01 to 2100-01-01")
    return ms


def ceil_ms(timestamp_ms: int, granularity: str) -> int:
    """End of the bucket holding ``timestamp_ms - 1``: the smallest bucket boundary >= ``timestamp_ms``."""
    floor = floor_ms(timestamp_ms, granularity)
    return floor if floor == timestamp_ms else floor + BUCKET_MS[granularity]


def check_skill_id(skill_id: str) -> str:
    if not SKILL_ID.fullmatch(skill_id or ""):
        raise BadRequest(
            "skillId",
            f"is {skill_id[:80]!r}, not an Alexa skill id "
            "(amzn1.ask.skill.<uuid> or a legacy amzn1.echo-sdk-ams.app.<uuid>, lower case)",
        )
    return skill_id


def check_known(params: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    for name in params:
        if name not in allowed:
            raise BadRequest(name[:40], f"is not a parameter of this endpoint; use {', '.join(allowed)}")


def choice(name: str, raw: str | None, options: tuple[str, ...], default: str | None = None) -> str:
    if not raw:
        if default is None:
            raise BadRequest(name, f"is required; use one of {', '.join(options)}")
        return default
    if raw not in options:
        raise BadRequest(name, f"is {raw[:40]!r}; use one of {', '.join(options)}")
    return raw


def pattern(name: str, raw: str | None, regex: re.Pattern[str], example: str) -> str | None:
    if not raw:
        return None
    if not regex.fullmatch(raw):
        raise BadRequest(name, f"is {raw[:40]!r}; expected something like {example}")
    return raw


def whole_number(name: str, raw: str | None, low: int, high: int, default: int) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(name, f"is {raw[:40]!r}, not a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise BadRequest(name, f"is {value}; use {low} to {high}")
    return value


def release_param(params: Mapping[str, str | None]) -> str | None:
    """The ``release`` filter: as recorded, e.g. ``7``, ``$LATEST``, ``v1.4.2``, or ``-``."""
    return pattern("release", params.get("release"), RELEASE, "7, $LATEST or a label such as v1.4.2")


def min_customers_param(raw: str | None) -> int | None:
    """``minCustomers``: at least 2, so no value said by one customer is ever reported.

    >>> min_customers_param("7"), min_customers_param(None)
    (7, None)
    """
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(
            "minCustomers",
            f"is {raw[:40]!r}, not a whole number of customers (at least {LEAST_MIN_CUSTOMERS})",
        ) from None
    if not LEAST_MIN_CUSTOMERS <= value <= MAX_MIN_CUSTOMERS:
        raise BadRequest(
            "minCustomers",
            f"is {value}; a value is reported only once at least {LEAST_MIN_CUSTOMERS} distinct "
            f"customers said it (default {DEFAULT_MIN_CUSTOMERS}), so use {LEAST_MIN_CUSTOMERS} "
            f"to {MAX_MIN_CUSTOMERS:,}",
        )
    return value


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What one report covers: a skill, a half-open UTC range, a period and filters.

    ``start_ms``/``end_ms`` are as asked; ``aligned`` gives the effective range a report reads.
    """

    skill_id: str
    start_ms: int
    end_ms: int
    period: Period = VIEW_DEFAULT_PERIOD
    stage: str = "live"
    locale: str | None = None
    intent: str | None = None
    release: str | None = None
    min_customers: int | None = None  # as asked (``minCustomers``); the slots view's default is 5

    @classmethod
    def from_params(
        cls,
        skill_id: str,
        params: Mapping[str, str],
        *,
        allowed: tuple[str, ...] = REPORT_PARAMS,
        default_period: Period | None = VIEW_DEFAULT_PERIOD,
    ) -> ReportRequest:
        """Validate query parameters (HTTP API payload 2.0 ``queryStringParameters``)."""
        check_skill_id(skill_id)
        check_known(params, allowed)
        start, end = parse_range(params)
        period = choice("period", params.get("period"), PERIODS, default_period)
        return cls(
            skill_id=skill_id,
            start_ms=start,
            end_ms=end,
            period=cast(Period, period),
            stage=choice("stage", params.get("stage"), STAGES, "live"),
            locale=pattern("locale", params.get("locale"), LOCALE, "en-US"),
            intent=pattern("intent", params.get("intent"), INTENT, "AMAZON.StopIntent or LaunchRequest"),
            release=release_param(params),
            min_customers=min_customers_param(params.get("minCustomers")),
        )

    def aligned(self, granularity: str) -> ReportRequest:
        """The same request over every ``granularity`` bucket that intersects its range."""
        return replace(
            self, start_ms=floor_ms(self.start_ms, granularity), end_ms=ceil_ms(self.end_ms, granularity)
        )

    @property
    def bucket(self) -> str:
        """The granularity a report's points (and its range alignment) follow: 15 minutes for ``SINGLE``."""
        return "PT15M" if self.period == "SINGLE" else self.period

    def points(self) -> int:
        """How many series points the (aligned) range holds at this period."""
        if self.period == "SINGLE":
            return 1
        size = BUCKET_MS[self.period]
        return (ceil_ms(self.end_ms, self.period) - floor_ms(self.start_ms, self.period)) // size
