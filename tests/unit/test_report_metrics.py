"""SMAPI get-metrics: every metric's value, zeros, pagination with opaque bound tokens, what is read."""

from __future__ import annotations

from typing import Any

import pytest

from alexa_skill_metrics.model import RollupKey
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.metrics import METRICS, MetricRequest
from alexa_skill_metrics.reporting.params import format_time
from alexa_skill_metrics.reporting.plan import Span
from alexa_skill_metrics.reporting.reporter import Reporter
from tests.unit.test_report_sources import ListSource
from tests.unit.test_views import rollup

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000
H = 3_600_000
D = 86_400_000
MINUTE = 60_000


def k(bucket: int, granularity: str = "PT1H", locale: str = "en-US", intent: str = "*") -> RollupKey:
    return RollupKey(SKILL, "live", granularity, bucket, locale, intent)


def busy_hour() -> Any:
    return rollup(
        ["a", "b", "c"],
        utterances=9,
        failed_utterances=2,
        sessions_started=6,
        enablements=1,
        session_ends={"skill_ended": 2, "user_ended": 1, "no_response": 1},
        open_sessions={(JAN5 + 10 * H + 10 * MINUTE) // MINUTE: 2},
    )


def call(source: ListSource, now: int = JAN5 + D, **params: str) -> dict[str, Any]:
    query = {"startTime": format_time(JAN5), "endTime": format_time(JAN5 + D), "period": "PT1H", **params}
    return Reporter(source, clock=lambda: now).metric(MetricRequest.from_params(SKILL, query))


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("uniqueCustomers", 3),
        ("totalEnablements", 1),
        ("totalUtterances", 9),
        ("successfulUtterances", 7),
        ("failedUtterances", 2),
        ("totalSessions", 6),
        ("successfulSessions", 3),
        ("incompleteSessions", 2),  # silent since 10:10, reported the next day
        ("userEndedSessions", 1),
        ("skillEndedSessions", 2),
    ],
)
def test_each_metric_per_hour_with_zeros_elsewhere(metric: str, value: int) -> None:
    body = call(ListSource([(k(JAN5 + 10 * H), busy_hour())]), metric=metric)
    assert set(body) == {"metric", "timestamps", "values", "nextToken"}
    assert body["metric"] == metric and body["nextToken"] is None
    assert (
        body["timestamps"][:2] == ["2026-01-05T00:00:00Z", "2026-01-05T01:00:00Z"]
        and len(body["values"]) == 24
    )
    assert body["values"] == [0] * 10 + [value] + [0] * 13


def test_every_smapi_metric_is_served() -> None:
    assert set(METRICS) == {
        "uniqueCustomers", "totalEnablements", "totalUtterances", "successfulUtterances", "failedUtterances",
        "totalSessions", "successfulSessions", "incompleteSessions", "userEndedSessions",
        "skillEndedSessions",
    }  # fmt: skip


def test_incomplete_sessions_depend_on_the_report_time() -> None:
    source = ListSource([(k(JAN5 + 10 * H), busy_hour())])
    assert call(source, now=JAN5 + 10 * H + 40 * MINUTE, metric="incompleteSessions")["values"][10] == 0
    assert call(source, now=JAN5 + 11 * H + 11 * MINUTE, metric="incompleteSessions")["values"][10] == 2


def test_single_unions_customers_and_reads_a_tiling() -> None:
    # Given customer a on two days and b on one, in day rollups
    source = ListSource(
        [
            (k(JAN5, "P1D"), rollup(["a"])),
            (k(JAN5 + D, "P1D"), rollup(["a", "b"])),
            (k(JAN5 + D, "P1D", "de-DE"), rollup(["b"])),
        ]
    )
    body = call(source, period="SINGLE", metric="uniqueCustomers", endTime=format_time(JAN5 + 2 * D))
    # Then one value, the union, read from two day buckets
    assert (body["timestamps"], body["values"]) == (["2026-01-05T00:00:00Z"], [2])
    assert [span for span, _, _ in source.asked] == [Span("P1D", JAN5, JAN5 + 2 * D)]


def test_pages_concatenate_to_the_whole_series_and_read_only_their_buckets() -> None:
    source = ListSource([(k(JAN5 + h * H), rollup(utterances=h)) for h in range(24)])
    whole = call(source, metric="totalUtterances")["values"]
    source.asked.clear()
    values: list[int] = []
    tokens: list[str | None] = []
    request = MetricRequest.from_params(
        SKILL,
        {"startTime": format_time(JAN5), "endTime": format_time(JAN5 + D), "period": "PT1H",
         "metric": "totalUtterances", "maxResults": "10"},
    )  # fmt: skip
    reporter = Reporter(source, clock=lambda: JAN5 + D)
    while True:
        body = reporter.metric(request)
        values += body["values"]
        tokens.append(body["nextToken"])
        if body["nextToken"] is None:
            break
        request = request.with_token(body["nextToken"])
    assert values == whole == list(range(24))
    assert len(tokens) == 3 and tokens[-1] is None and len(set(tokens)) == 3
    assert [span for span, _, _ in source.asked] == [
        Span("PT1H", JAN5, JAN5 + 10 * H),
        Span("PT1H", JAN5 + 10 * H, JAN5 + 20 * H),
        Span("PT1H", JAN5 + 20 * H, JAN5 + D),
    ]


@pytest.mark.parametrize("token", ["garbage", "djE6OTk6YWJj", "!!!", "djE6MDphYmM", "djI6MTA6eA"])
def test_a_token_this_endpoint_did_not_issue_is_a_400(token: str) -> None:
    with pytest.raises(BadRequest) as caught:
        call(ListSource([]), metric="totalUtterances", maxResults="5", nextToken=token)
    assert caught.value.parameter == "nextToken"


def test_a_token_of_another_query_is_a_400() -> None:
    first = call(ListSource([]), metric="totalUtterances", maxResults="5")
    with pytest.raises(BadRequest, match="different query") as caught:
        call(ListSource([]), metric="failedUtterances", maxResults="5", nextToken=first["nextToken"])
    assert caught.value.parameter == "nextToken"
    # But the page size may change between pages
    assert call(ListSource([]), metric="totalUtterances", maxResults="7", nextToken=first["nextToken"])[
        "timestamps"
    ][0] == ("2026-01-05T05:00:00Z")


def test_intent_filter_reads_that_intents_rollups_only() -> None:
    source = ListSource(
        [
            (k(JAN5, intent="RollDiceIntent"), rollup(["a"], utterances=4, failed_utterances=1)),
            (k(JAN5, intent="AMAZON.StopIntent"), rollup(["b"], utterances=1)),
            (k(JAN5), rollup(["a", "b"], utterances=5, failed_utterances=1)),
        ]
    )
    assert call(source, metric="totalUtterances", intent="RollDiceIntent")["values"][0] == 4
    assert call(source, metric="uniqueCustomers", intent="AMAZON.StopIntent")["values"][0] == 1
    assert {intents for _, intents, _ in source.asked} == {True}


def test_locale_filter_is_passed_to_the_source() -> None:
    source = ListSource([(k(JAN5), rollup(utterances=2)), (k(JAN5, locale="de-DE"), rollup(utterances=3))])
    assert call(source, metric="totalUtterances", locale="de-DE")["values"][0] == 3
    assert call(source, metric="totalUtterances")["values"][0] == 5


def test_unaligned_times_cover_every_intersecting_bucket() -> None:
    source = ListSource([(k(JAN5 + 10 * H), rollup(utterances=1)), (k(JAN5 + 12 * H), rollup(utterances=2))])
    body = call(
        source, metric="totalUtterances", startTime="2026-01-05T10:59:59Z", endTime="2026-01-05T12:00:01Z"
    )
    assert body["timestamps"] == ["2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", "2026-01-05T12:00:00Z"]
    assert body["values"] == [1, 0, 2]


def test_a_long_range_at_fine_period_is_paginated_not_refused() -> None:
    # 366 days of 15-minute buckets: 35,136 values, 200 per page
    body = call(ListSource([]), metric="totalSessions", period="PT15M", endTime=format_time(JAN5 + 366 * D))
    assert len(body["values"]) == 200 and body["nextToken"] is not None
