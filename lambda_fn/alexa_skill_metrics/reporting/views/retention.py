"""The retention view: weekly (or daily) cohorts, and who of each came back on, or on or after, each offset.

Exact at any cohort size: it reads the day rollups' retention counters (``aggregation.retention``),
one item per day and locale of the range, never anything per customer. A cohort is the period of
a customer's first utterance ever recorded; offset ``k`` is the ``k``-th period after it.
Retention is per stage only: a customer's cohort does not depend on the locale they used, so a
locale filter is a 400.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import fold
>>> from alexa_skill_metrics.model import Event
>>> monday = 1_767_571_200_000  # 2026-01-05
>>> def utterance(n, customer, day):
...     return Event(skill_id="amzn1.ask.skill.1", request_id=f"r{n}", request_type="LaunchRequest",
...                  timestamp_ms=monday + day * 86_400_000, received_ms=0, customer=customer)
>>> events = [utterance(1, "a", 0), utterance(2, "b", 1), utterance(3, "a", 8), utterance(4, "b", 15)]
>>> request = RetentionRequest("amzn1.ask.skill.1", "live", "week", monday, monday + 3 * 7 * 86_400_000)
>>> view = retention(request, list(fold(events, exact=True).items()), now_ms=monday + 30 * 86_400_000)
>>> [(c.customers, [(cell.on, cell.on_or_after) for cell in c.retention]) for c in view.cohorts]
[(2, [(2, 2), (1, 2), (1, 1)]), (0, [(0, 0), (0, 0)]), (0, [(0, 0)])]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from alexa_skill_metrics.aggregation.retention import (
    DAILY,
    DAY_MS,
    WEEKLY,
    day_of,
    parse_key,
    week_of,
    week_start_day,
)
from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.params import check_known, check_skill_id, choice, format_time, parse_time
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import ratio

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Rollup, RollupKey

COHORTS = ("week", "day")
DEFAULT_COHORTS = {"week": 12, "day": 28}  # the console's 12 weeks; four weeks of daily cohorts
MAX_COHORTS = {"week": 53, "day": 92}
RETENTION_PARAMS = ("startTime", "endTime", "cohort", "stage", "locale", "release")
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class RetentionRequest:
    """Cohorts of one skill and stage: periods starting in ``[start_ms, end_ms)`` (aligned to them)."""

    skill_id: str
    stage: str
    cohort: Literal["week", "day"]
    start_ms: int
    end_ms: int

    @classmethod
    def from_params(cls, skill_id: str, params: Mapping[str, str], now_ms: int) -> RetentionRequest:
        """Validate query parameters: ``endTime`` defaults to now, ``startTime`` to 12 cohorts (28 daily)."""
        check_skill_id(skill_id)
        check_known(params, RETENTION_PARAMS)
        if params.get("locale"):
            raise BadRequest(
                "locale",
                "cannot filter retention: a customer's cohort does not depend on the locale they used; "
                "retention is per stage only",
            )
        if params.get("release"):
            raise BadRequest(
                "release",
                "cannot filter retention: a customer's cohort does not depend on the release that served "
                "them; retention is per stage only (compare releases with the releases view)",
            )
        cohort: Literal["week", "day"] = (
            "day" if choice("cohort", params.get("cohort"), COHORTS, "week") == "day" else "week"
        )
        size = WEEK_MS if cohort == "week" else DAY_MS
        end = parse_time("endTime", params["endTime"]) if params.get("endTime") else now_ms
        end = _period_start(end - 1, cohort) + size  # the end's period is included
        if params.get("startTime"):
            start = _period_start(parse_time("startTime", params["startTime"]), cohort)
        else:
            start = end - DEFAULT_COHORTS[cohort] * size
        if end <= start:
            raise BadRequest("endTime", "must be after startTime")
        if (end - start) // size > MAX_COHORTS[cohort]:
            raise BadRequest(
                "startTime",
                f"gives more than {MAX_COHORTS[cohort]} {cohort}ly cohorts; ask for a shorter range",
            )
        stage = choice("stage", params.get("stage"), STAGES, "live")
        return cls(skill_id, stage, cohort, start, end)

    @property
    def period_ms(self) -> int:
        return WEEK_MS if self.cohort == "week" else DAY_MS


def _period_start(timestamp_ms: int, cohort: str) -> int:
    day = day_of(timestamp_ms)
    return (week_start_day(week_of(day)) if cohort == "week" else day) * DAY_MS


@dataclass(frozen=True)
class RetentionCell:
    """One offset of a cohort: its customers active in that period, and in it or any later one."""

    offset: int = field(metadata=doc("Periods after the cohort's own (0 is the cohort's period)"))
    start: str = field(metadata=doc("Start of the period (UTC)", fmt="date-time"))
    on: int = field(metadata=doc("Customers of the cohort with an utterance in this period"))
    on_share: float = field(metadata=doc("on / the cohort's customers; 0 for an empty cohort"))
    on_or_after: int = field(
        metadata=doc("Customers with an utterance in this period or any later one up to the report's end")
    )
    on_or_after_share: float = field(metadata=doc("onOrAfter / the cohort's customers"))
    in_progress: bool = field(
        metadata=doc("The period is not over as of asOf: its figures can still grow, it is no drop")
    )


@dataclass(frozen=True)
class Cohort:
    """The customers whose first utterance ever recorded falls in one period, and their return."""

    start: str = field(metadata=doc("Start of the cohort's period (UTC)", fmt="date-time"))
    customers: int = field(metadata=doc("Customers of the cohort (new customers of the period)"))
    in_progress: bool = field(metadata=doc("The cohort's period is not over as of asOf: it can still grow"))
    retention: list[RetentionCell] = field(
        metadata=doc("Offsets 0, 1, ... up to the report's end or asOf, whichever is first")
    )


@dataclass(frozen=True)
class RetentionView:
    """Cohort retention, exact: weekly cohorts (ISO weeks from Monday 00:00 UTC) or daily ones."""

    view: str = field(metadata=doc("retention"))
    skill_id: str = field(metadata=doc("The skill (amzn1.ask.skill.<uuid>)"))
    stage: str = field(metadata=doc("live or development"))
    cohort: str = field(metadata=doc("week or day: the size of cohorts and offsets"))
    start_time: str = field(metadata=doc("Start of the first cohort (inclusive)", fmt="date-time"))
    end_time: str = field(metadata=doc("End of the last period reported (exclusive)", fmt="date-time"))
    as_of: str = field(
        metadata=doc("The report's time: periods not over by then are in progress", fmt="date-time")
    )
    customers: int = field(metadata=doc("Customers of every cohort of the range"))
    cohorts: list[Cohort] = field(metadata=doc("One per period of the range, oldest first"))


def retention(
    request: RetentionRequest, rollups: Sequence[tuple[RollupKey, Rollup]], now_ms: int
) -> RetentionView:
    """Build the view from the day rollups of ``[request.start_ms, request.end_ms)``, every locale's."""
    kind = WEEKLY if request.cohort == "week" else DAILY
    size = request.period_ms
    offset = 0 if request.cohort == "day" else week_start_day(0) * DAY_MS  # week 0 starts on a Monday
    first, end = (request.start_ms - offset) // size, (request.end_ms - offset) // size  # period numbers
    # counters[cohort][period][previous period] for cohorts inside the range
    counters: dict[int, dict[int, dict[int | None, int]]] = defaultdict(lambda: defaultdict(dict))
    for key, rollup in rollups:
        day = key.bucket_ms // DAY_MS
        period = week_of(day) if kind == WEEKLY else day
        for counter, count in rollup.retention.items():
            counter_kind, cohort, previous = parse_key(counter)
            if counter_kind == kind and first <= cohort < end:
                found = counters[cohort][period]
                found[previous] = found.get(previous, 0) + count
    cohorts: list[Cohort] = []
    for number in range(first, end):
        start_ms = number * size + offset
        if start_ms > now_ms:
            break
        by_period = counters.get(number, {})
        customers = by_period.get(number, {}).get(None, 0)
        cells: list[RetentionCell] = []
        for period in range(number, end):
            period_start = period * size + offset
            if period_start > now_ms:
                break
            on = sum(by_period.get(period, {}).values())
            after = sum(
                count
                for later in range(period, end)
                for previous, count in by_period.get(later, {}).items()
                if previous is None or previous < period
            )
            cells.append(
                RetentionCell(
                    offset=period - number,
                    start=format_time(period_start),
                    on=on,
                    on_share=ratio(on, customers),
                    on_or_after=after,
                    on_or_after_share=ratio(after, customers),
                    in_progress=period_start + size > now_ms,
                )
            )
        cohorts.append(
            Cohort(format_time(start_ms), customers, in_progress=start_ms + size > now_ms, retention=cells)
        )
    return RetentionView(
        view="retention",
        skill_id=request.skill_id,
        stage=request.stage,
        cohort=request.cohort,
        start_time=format_time(request.start_ms),
        end_time=format_time(request.end_ms),
        as_of=format_time(now_ms),
        customers=sum(c.customers for c in cohorts),
        cohorts=cohorts,
    )
