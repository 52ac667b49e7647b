"""Weeks (``P1W``): ISO weeks from Monday 00:00 UTC, read as their day rollups, equal to a recomputation.

Sixteen days of seeded traffic starting on Monday 2026-01-05 go through the real sample skill,
recorder and aggregator into moto. Every view and SMAPI metric at ``period=P1W`` is built from
the stored rollups and from the raw events; a week's unique customers are also checked against
the distinct customers of its raw events (a union of its days, never their sum).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alexa_skill_metrics.periods import floor_ms
from alexa_skill_metrics.reporting.metrics import METRICS
from alexa_skill_metrics.reporting.params import format_time
from tests.functional.reporting_fixtures import (
    DAY_MS,
    HOUR_MS,
    START_MS,
    Deployment,
    aggregate,
    assert_reports_match,
    events_of,
    metric_pages,
    moto_table,
    record,
    view_request,
)

DAYS = 16
WEEK_MS = 7 * DAY_MS
END_MS = START_MS + DAYS * DAY_MS
TABLE = "reporting-weeks"
VIEWS = ("overview", "customers", "sessions", "utterances", "intents")


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    live = record(customers=40, days=DAYS, seed=21)
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, live)
        yield Deployment(client, TABLE, events_of(live), now_ms=END_MS + 30 * 60_000)


# A Wednesday 10:20 to a Tuesday 03:10 two weeks later: aligned outwards to three whole ISO weeks.
UNALIGNED = (
    START_MS + 2 * DAY_MS + 10 * HOUR_MS + 20 * 60_000,
    START_MS + 15 * DAY_MS + 3 * HOUR_MS + 600_000,
)


def test_a_week_starts_on_monday_utc() -> None:
    sunday_late = START_MS + 6 * DAY_MS + 23 * HOUR_MS
    assert floor_ms(sunday_late, "P1W") == START_MS  # 2026-01-05 is a Monday
    assert floor_ms(START_MS + WEEK_MS, "P1W") == START_MS + WEEK_MS
    assert floor_ms(START_MS - 1, "P1W") == START_MS - WEEK_MS


@pytest.mark.parametrize("view", VIEWS)
def test_weekly_views_from_rollups_equal_views_from_events(deployment: Deployment, view: str) -> None:
    # Given a range that does not start or end on a week boundary
    request = view_request(*UNALIGNED, period="P1W")
    # When both sources build the weekly view
    stored = deployment.stored().view(view, request)
    recomputed = deployment.recomputed().view(view, request)
    # Then they agree, over the three ISO weeks that the range touches
    assert_reports_match(stored, recomputed)
    assert (stored["startTime"], stored["endTime"]) == (
        format_time(START_MS),
        format_time(START_MS + 3 * WEEK_MS),
    )
    if "series" in stored and view != "overview":
        assert [p["start"] for p in stored["series"]] == [
            format_time(START_MS + k * WEEK_MS) for k in range(3)
        ]


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_weekly_metrics_from_rollups_equal_metrics_from_events(deployment: Deployment, metric: str) -> None:
    params = {"period": "P1W", "metric": metric, "maxResults": "2"}
    stored = metric_pages(deployment.stored(), *UNALIGNED, **params)
    recomputed = metric_pages(deployment.recomputed(), *UNALIGNED, **params)
    assert stored == recomputed
    assert stored["pages"] == 2 and len(stored["values"]) == 3


def test_unique_customers_of_a_week_are_a_union_of_its_days(deployment: Deployment) -> None:
    # Given the distinct customers of each week, straight from the raw events
    per_week = [
        {
            e.customer
            for e in deployment.events
            if e.is_utterance and e.customer and start <= e.timestamp_ms < start + WEEK_MS
        }
        for start in (START_MS, START_MS + WEEK_MS)
    ]
    # When the stored rollups report weeks and days
    weekly = deployment.stored().view(
        "customers", view_request(START_MS, START_MS + 2 * WEEK_MS, period="P1W")
    )
    daily = deployment.stored().view(
        "customers", view_request(START_MS, START_MS + 2 * WEEK_MS, period="P1D")
    )
    # Then each week counts its distinct customers, fewer than the sum of its days (customers return)
    assert [p["uniqueCustomers"] for p in weekly["series"]] == [len(c) for c in per_week]
    days = [p["uniqueCustomers"] for p in daily["series"]]
    assert weekly["series"][0]["uniqueCustomers"] < sum(days[:7])
    # And new customers, which are additive, are the sum of the days
    assert weekly["totals"]["newCustomers"] == sum(p["newCustomers"] for p in daily["series"])


def test_a_week_reads_its_seven_day_rollups(deployment: Deployment) -> None:
    # Given the stored rollups of two weeks
    reporter = deployment.stored()
    before = reporter.source.items_read
    # When the weekly customers view is built
    reporter.view("customers", view_request(START_MS, START_MS + 2 * WEEK_MS, period="P1W"))
    weekly = reporter.source.items_read - before
    reporter.view("customers", view_request(START_MS, START_MS + 2 * WEEK_MS, period="P1D"))
    daily = reporter.source.items_read - before - weekly
    # Then it read the day rollups (at most one per day and locale, in up to ROLLUP_PARTS items),
    # as the daily view does
    from alexa_skill_metrics.config import DEFAULT_ROLLUP_PARTS as ROLLUP_PARTS

    locales = {e.locale or "-" for e in deployment.events}
    assert 0 < weekly == daily <= 14 * len(locales) * ROLLUP_PARTS
