"""More than 1,000 distinct customers: stored sketches within 2% of the exact recount, exact below 1,000.

1,100 customers over two days through the real skill, recorder and aggregator (hourly and daily
rollups). The days hold fewer than 1,000 customers each, the two-day range more: the range's
count must come from merged sketches (a union within 2%), never from adding the days.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.reporting_fixtures import (
    DAY_MS,
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

TABLE = "reporting-many-customers"
END_MS = START_MS + 2 * DAY_MS


@pytest.fixture(scope="module")
def crowd() -> Iterator[Deployment]:
    items = record(customers=1_100, days=2, seed=5)
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, items, granularities=("PT1H", "P1D"))
        yield Deployment(client, TABLE, events_of(items), now_ms=END_MS + 6 * 3_600_000)


def exact_customers(deployment: Deployment, start_ms: int, end_ms: int) -> int:
    return len(
        {
            e.customer
            for e in deployment.events
            if e.is_utterance and e.customer and e.stage == "live" and start_ms <= e.timestamp_ms < end_ms
        }
    )


def test_range_count_is_a_union_within_two_percent_and_days_are_exact(crowd: Deployment) -> None:
    # Given the exact distinct customers of each day and of both
    day1, day2 = (
        exact_customers(crowd, START_MS, START_MS + DAY_MS),
        exact_customers(crowd, START_MS + DAY_MS, END_MS),
    )
    both = exact_customers(crowd, START_MS, END_MS)
    assert day1 < 1000 and day2 < 1000 < both
    assert day1 + day2 > both * 1.05  # adding the days would be visibly wrong
    # When the stored rollups report them
    view = crowd.stored().view("customers", view_request(START_MS, END_MS, period="P1D"))
    # Then days are exact and the range is within 2%
    assert [p["uniqueCustomers"] for p in view["series"]] == [day1, day2]
    assert abs(view["totals"]["uniqueCustomers"] - both) <= 0.02 * both


@pytest.mark.parametrize("view", ["overview", "customers", "sessions", "utterances", "intents"])
@pytest.mark.parametrize("period", ["SINGLE", "P1D", "PT1H"])
def test_views_agree_with_the_exact_recount(crowd: Deployment, view: str, period: str) -> None:
    request = view_request(START_MS, END_MS, period=period)
    assert_reports_match(
        crowd.stored().view(view, request), crowd.recomputed().view(view, request), customer_tolerance=0.02
    )


def test_unique_customers_metric_over_the_range(crowd: Deployment) -> None:
    stored = metric_pages(crowd.stored(), START_MS, END_MS, period="SINGLE", metric="uniqueCustomers")
    (value,) = stored["values"]
    exact = exact_customers(crowd, START_MS, END_MS)
    assert abs(value - exact) <= 0.02 * exact  # above 1,000: within 2%
    hourly = metric_pages(crowd.stored(), START_MS, END_MS, period="PT1H", metric="uniqueCustomers")
    reference = metric_pages(crowd.recomputed(), START_MS, END_MS, period="PT1H", metric="uniqueCustomers")
    assert hourly == reference  # every hour holds fewer than 1,000: exact
