"""Metrics API v2 through the deployed reporting handler equals v1, the views and the recomputation.

Ten days of seeded traffic go through the real sample skill, recorder and aggregator into moto.
Every answered v2 metric, at every aggregation period and grouping, is then posted to the
reporting Lambda handler as API Gateway sends it (payload 2.0, JSON body plain or base64) and
compared with: the v1 metric (or the view whose figure it translates) for the same range and
filters; the same v2 body answered from a recomputation from raw events; the OpenAPI document.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.periods import BUCKET_MS
from alexa_skill_metrics.reporting.handler import create_handler
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.reporter import Reporter
from alexa_skill_metrics.reporting.v2 import AGGREGATION_PERIODS, NAMESPACES, MetricsV2Request, listed
from alexa_skill_metrics.reporting.views.common import ratio
from tests.conftest import load_event
from tests.functional.reporting_fixtures import (
    DAY_MS,
    HOUR_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    assert_latency_close,
    events_of,
    metric_pages,
    moto_table,
    record,
    view_request,
)
from tests.unit.test_report_openapi import validator

DAYS = 10
END_MS = START_MS + DAYS * DAY_MS
TABLE = "reporting-v2"
RANGE = (START_MS + DAY_MS + 5 * HOUR_MS, START_MS + 9 * DAY_MS)  # not aligned to days or weeks
HOURS = (START_MS + 2 * DAY_MS + 6 * HOUR_MS, START_MS + 3 * DAY_MS)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    live = record(customers=40, days=DAYS, seed=31)
    development = record(customers=8, days=DAYS, seed=32, stage="development")
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, live + development)
        yield Deployment(client, TABLE, events_of(live + development), now_ms=END_MS + 30 * 60_000)


def gateway_event(body: str, *, b64: bool) -> dict[str, Any]:
    """The POST event API Gateway (HTTP API, payload 2.0) hands the Lambda, after the events/ sample."""
    event = copy.deepcopy(load_event("reporting-metrics-v2"))
    event["body"] = base64.b64encode(body.encode()).decode() if b64 else body
    event["isBase64Encoded"] = b64
    event["headers"]["content-length"] = str(len(body.encode()))
    return event


def post(deployment: Deployment, body: dict[str, Any], *, b64: bool = False) -> dict[str, Any]:
    handler = create_handler(
        Settings(table_name=deployment.table), client=deployment.client, clock=lambda: deployment.now_ms
    )
    response = handler(gateway_event(json.dumps(body), b64=b64), None)
    assert response["statusCode"] == 200, response["body"]
    answer: dict[str, Any] = json.loads(response["body"])
    validator("MetricsV2Response").validate(answer)
    return answer


def recomputed_v2(deployment: Deployment, body: dict[str, Any]) -> dict[str, Any]:
    return deployment.recomputed().metrics_v2(MetricsV2Request.from_body(SKILL, json.dumps(body)))


# The v1 answer each v2 name translates: (v1 metric name) or (view, figure of a series point).
V1_METRIC = {
    "CUSTOMERS": "uniqueCustomers",
    "UTTERANCES": "totalUtterances",
    "SUCCESSFUL_UTTERANCES": "successfulUtterances",
    "FAILED_UTTERANCES": "failedUtterances",
    "SUCCESSFUL_SESSIONS": "successfulSessions",
    "USER_ENDED_SESSIONS": "userEndedSessions",
    "SKILL_ENDED_SESSIONS": "skillEndedSessions",
    "ACTIVE_SESSIONS": "totalSessions",
    "USERS": "totalEnablements",
}
V1_VIEW: dict[str, tuple[str, Callable[[dict[str, Any], str], Any]]] = {
    "UTTERANCES_PER_CUSTOMER": ("utterances", lambda p, _: p["perCustomer"]),
    "USER_RESPONDED": ("utterances", lambda p, _: p["responded"]),
    "USER_DID_NOT_RESPOND": ("sessions", lambda p, _: p["noResponse"]),
    "ENDED_SESSIONS": ("sessions", lambda p, _: p["started"] - p["incomplete"] - p["active"]),
    "SKILL_LATENCY": ("utterances", lambda p, stat: p["latencyMs"][stat]),
    "UNHANDLED_REQUEST": ("friction", lambda p, _: p["quality"]["unhandledRequests"]),
    "UNHANDLED_REQUEST_RATE": ("friction", lambda p, _: p["quality"]["unhandledRequestRate"]),
    "DEFECTIVE_TERMINATION": ("friction", lambda p, _: p["quality"]["defectiveTerminations"]),
    "DEFECTIVE_TERMINATION_RATE": ("friction", lambda p, _: p["quality"]["defectiveTerminationRate"]),
    "DIRECT_INVOCATIONS": ("sessions", lambda p, _: p["invocations"]["launch"]),
    "ONE_SHOT_INVOCATIONS": ("sessions", lambda p, _: p["invocations"]["oneShot"]),
}
# The friction view takes no intent filter: per intent, a point's figure is the intents view's row
# of that intent over the point (0 when it had no utterances there).
BY_INTENT: dict[str, Callable[[dict[str, Any]], Any]] = {
    "UNHANDLED_REQUEST": lambda row: row["unhandled"],
    "UNHANDLED_REQUEST_RATE": lambda row: ratio(row["unhandled"], row["utterances"]),
}


def intent_rows(
    reporter: Reporter, start: int, end: int, period: str, intent: str, **filters: str
) -> list[Any]:
    """The intents view's row of ``intent`` for each point of the aligned range (``{}`` when absent)."""
    request = view_request(start, end, period=period, **filters)
    aligned = request.aligned(request.bucket)
    if period == "SINGLE":
        bounds = [aligned.start_ms, aligned.end_ms]
    else:
        bounds = list(range(aligned.start_ms, aligned.end_ms + 1, BUCKET_MS[period]))
    rows = []
    for low, high in itertools.pairwise(bounds):
        view = reporter.view("intents", view_request(low, high, period=period, **filters))
        rows.append(next((r for r in view["intents"] if r["intent"] == intent), {}))
    return rows


def v1_values(reporter: Reporter, name: str, stat: str, start: int, end: int, **filters: str) -> list[Any]:
    if name in V1_METRIC:
        pages = metric_pages(reporter, start, end, metric=V1_METRIC[name], **filters)
        return list(pages["values"])
    if name in BY_INTENT and "intent" in filters:
        figure_of = BY_INTENT[name]
        return [
            figure_of(row) if row else figure_of({"unhandled": 0, "utterances": 0})
            for row in intent_rows(reporter, start, end, **filters)
        ]
    view, figure = V1_VIEW[name]
    body = reporter.view(view, view_request(start, end, **filters))
    return [figure(point, stat) for point in body["series"]]


CASES = [
    (metric.namespace, metric.name, stat)
    for namespace in NAMESPACES
    for metric in listed(namespace)
    for stat in metric.stats
]


def query(namespace: str, name: str, stat: str, period: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "q",
        "name": name,
        "metricNamespace": namespace,
        "aggregationPeriod": period,
        "stat": stat,
        **extra,
    }


def latency_of(deployment: Deployment, start: int, end: int, **filters: str) -> list[float]:
    """Every live utterance's handler time in [start, end), exactly (what the sketches summarise)."""
    return [
        e.handler_ms
        for e in deployment.events
        if e.is_utterance
        and e.stage == "live"
        and e.handler_ms is not None
        and start <= e.timestamp_ms < end
        and all(getattr(e, "intent_key" if k == "intent" else k) == v for k, v in filters.items())
    ]


def assert_same_figures(
    deployment: Deployment, name: str, stat: str, body: dict[str, Any], answer: dict[str, Any], **filters: str
) -> None:
    """``answer`` (from stored rollups) equals v1 and the recomputation, group by group.

    Latency percentiles come from sketches (exact up to 200 values, within 1% beyond) whose merges
    do not depend on order: v2's equal v1's, and both are held to the exact quantile of the point's
    raw handler times (the recomputation's exact percentiles equal the view's).
    """
    query = body["metricQueries"][0]
    period = AGGREGATION_PERIODS[query["aggregationPeriod"]]
    # v2 answers whole buckets: its range is every bucket of the period that meets the asked one
    aligned = MetricsV2Request.from_body(SKILL, json.dumps(body)).queries[0].aligned
    start, end = aligned.start_ms, body["endTime"]
    recomputed = recomputed_v2(deployment, body)
    for group, exact in zip(answer["results"][0]["data"], recomputed["results"][0]["data"], strict=True):
        where = dict(filters)
        if group["groupedBy"]:
            where[group["groupedBy"]["groupedByField"]] = group["groupedBy"]["groupedByValue"]
        assert exact["timestamps"] == group["timestamps"] and exact["groupedBy"] == group["groupedBy"]
        expected = v1_values(
            deployment.recomputed(), name, stat, body["startTime"], end, period=period, **where
        )
        assert exact["values"] == expected
        assert group["values"] == v1_values(
            deployment.stored(), name, stat, body["startTime"], end, period=period, **where
        )
        if name != "SKILL_LATENCY":
            assert group["values"] == exact["values"]
            continue
        bounds = [*group["timestamps"][1:], aligned.end_ms]
        for value, point_start, point_end in zip(group["values"], group["timestamps"], bounds, strict=True):
            raw = latency_of(deployment, max(point_start, start), point_end, **where)
            if not raw:
                assert value is None
            else:
                assert_latency_close(value, raw, float(stat[1:]) / 100)
    assert len(answer["results"][0]["data"]) == len(recomputed["results"][0]["data"])


@pytest.mark.parametrize(("namespace", "name", "stat"), CASES)
@pytest.mark.parametrize("period", ["SINGLE", "BY_DAY", "BY_WEEK", "BY_HOUR"])
def test_every_v2_metric_equals_v1_and_the_recomputation(
    deployment: Deployment, namespace: str, name: str, stat: str, period: str
) -> None:
    # Given a v2 body for one metric over an unaligned range (a day for hours)
    start, end = HOURS if period == "BY_HOUR" else RANGE
    body = {"startTime": start, "endTime": end, "metricQueries": [query(namespace, name, stat, period)]}
    # When the deployed handler answers it
    answer = post(deployment, body)
    # Then its values are v1's (or the view's) and the recomputation's, point by point
    (data,) = answer["results"][0]["data"]
    assert_same_figures(deployment, name, stat, body, answer)
    # And the timestamps are v1's bucket starts, in epoch milliseconds
    v1 = metric_pages(
        deployment.stored(), start, end, metric="totalUtterances", period=AGGREGATION_PERIODS[period]
    )
    assert [format_time(t) for t in data["timestamps"]] == v1["timestamps"]


@pytest.mark.parametrize("name", ["UTTERANCES", "CUSTOMERS", "SKILL_ENDED_SESSIONS"])
def test_quarter_hours_and_a_base64_body_answer_alike(deployment: Deployment, name: str) -> None:
    start = HOURS[0]
    body = {
        "startTime": start,
        "endTime": start + 6 * HOUR_MS,
        "metricQueries": [query("Alexa.Custom", name, "count", "BY_15")],
    }
    answer = post(deployment, body)
    assert post(deployment, body, b64=True) == answer
    assert len(answer["results"][0]["data"][0]["values"]) == 24
    assert_same_figures(deployment, name, "count", body, answer)


GROUPINGS = [
    (metric.namespace, metric.name, stat, group_by)
    for namespace in NAMESPACES
    for metric in listed(namespace)
    for stat in metric.stats
    for group_by in metric.group_by
]


@pytest.mark.parametrize(("namespace", "name", "stat", "group_by"), GROUPINGS)
def test_every_group_equals_the_v1_answer_filtered_to_it(
    deployment: Deployment, namespace: str, name: str, stat: str, group_by: str
) -> None:
    body = {
        "startTime": RANGE[0],
        "endTime": RANGE[1],
        "metricQueries": [query(namespace, name, stat, "BY_DAY", groupBy=group_by)],
    }
    answer = post(deployment, body)
    assert len(answer["results"][0]["data"]) >= 2  # several intents or locales had traffic
    for group in answer["results"][0]["data"]:
        assert group["groupedBy"]["groupedByField"] == group_by
    assert_same_figures(deployment, name, stat, body, answer)


def test_dimensions_filter_like_v1_and_five_queries_answer_at_once(deployment: Deployment) -> None:
    # Given five queries, filtered by stage and locale
    development = [{"name": "Alexa.Stage", "value": "development"}]
    german = [{"name": "Alexa.Locale", "value": "de-DE"}]
    queries = [
        {**query("Alexa.Custom", "UTTERANCES", "count", "BY_DAY", dimensions=development), "id": "dev"},
        {**query("Alexa.Custom", "CUSTOMERS", "count", "BY_WEEK", dimensions=german), "id": "de"},
        {
            **query("Alexa.Custom", "ACTIVE_SESSIONS", "count", "SINGLE", dimensions=development + german),
            "id": "both",
        },
        {**query("Alexa.Custom", "SKILL_LATENCY", "p99", "BY_DAY"), "id": "latency", "label": "p99 ms"},
        {**query("Alexa.SkillEnablementEvents", "USERS", "count", "BY_DAY"), "id": "users"},
    ]
    answer = post(deployment, {"startTime": RANGE[0], "endTime": RANGE[1], "metricQueries": queries})
    results = {r["id"]: r for r in answer["results"]}
    assert (
        list(results) == ["dev", "de", "both", "latency", "users"] and results["latency"]["label"] == "p99 ms"
    )
    stored = deployment.stored()
    assert results["dev"]["data"][0]["values"] == v1_values(
        stored, "UTTERANCES", "count", *RANGE, period="P1D", stage="development"
    )
    assert results["de"]["data"][0]["values"] == v1_values(
        stored, "CUSTOMERS", "count", *RANGE, period="P1W", locale="de-DE"
    )
    assert results["both"]["data"][0]["values"] == v1_values(
        stored, "ACTIVE_SESSIONS", "count", *RANGE, period="SINGLE", stage="development", locale="de-DE"
    )
    assert sum(results["dev"]["data"][0]["values"]) > 0 and sum(results["de"]["data"][0]["values"]) > 0


def test_weekly_customers_are_a_union_of_the_days(deployment: Deployment) -> None:
    week = (START_MS, START_MS + 7 * DAY_MS)
    body = {
        "startTime": week[0],
        "endTime": week[1],
        "metricQueries": [
            {**query("Alexa.Custom", "CUSTOMERS", "count", "BY_WEEK"), "id": "week"},
            {**query("Alexa.Custom", "CUSTOMERS", "count", "BY_DAY"), "id": "days"},
        ],
    }
    weekly, daily = (r["data"][0]["values"] for r in post(deployment, body)["results"])
    distinct = {
        e.customer
        for e in deployment.events
        if e.is_utterance and e.stage == "live" and e.customer and week[0] <= e.timestamp_ms < week[1]
    }
    assert weekly == [len(distinct)] and len(distinct) < sum(daily)
