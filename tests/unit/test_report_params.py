"""Request parameters: every bad value is a 400 naming the parameter; good ones parse as documented."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.metrics import MetricRequest
from alexa_skill_metrics.reporting.params import (
    MAX_RANGE_DAYS,
    ReportRequest,
    ceil_ms,
    format_time,
    parse_time,
)

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
DAY = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z"}
JAN5 = 1_767_571_200_000


def bad(params: dict[str, str], skill_id: str = SKILL, *, metric: bool = False) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        if metric:
            MetricRequest.from_params(skill_id, params)
        else:
            ReportRequest.from_params(skill_id, params)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-05T00:00:00Z", JAN5),
        ("2026-01-05T01:00:00+01:00", JAN5),  # offsets are converted to UTC
        ("2026-01-05T00:00:00", JAN5),  # no offset: read as UTC
        ("2026-01-05", JAN5),
        ("2026-01-05T00:00:00.250Z", JAN5 + 250),
    ],
)
def test_iso_times_parse_to_utc_epoch_ms(raw: str, expected: int) -> None:
    assert parse_time("startTime", raw) == expected


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"endTime": "2026-01-06T00:00:00Z"}, "startTime"),  # missing
        ({**DAY, "startTime": "yesterday"}, "startTime"),
        ({**DAY, "endTime": "2026-13-01T00:00:00Z"}, "endTime"),
        ({**DAY, "startTime": "1999-01-01T00:00:00Z"}, "startTime"),  # before any skill
        ({**DAY, "endTime": "2026-01-05T00:00:00Z"}, "endTime"),  # empty range
        ({"startTime": DAY["endTime"], "endTime": DAY["startTime"]}, "endTime"),  # reversed
        ({**DAY, "endTime": "2027-01-07T00:00:00Z"}, "endTime"),  # longer than 366 days
        ({**DAY, "period": "PT5M"}, "period"),
        ({**DAY, "stage": "prod"}, "stage"),
        ({**DAY, "locale": "english"}, "locale"),
        ({**DAY, "intent": "Roll Dice"}, "intent"),
        ({**DAY, "starttime": "2026-01-05T00:00:00Z"}, "starttime"),  # unknown (a typo)
        ({**DAY, "metric": "totalUtterances"}, "metric"),  # a metrics parameter on a view
    ],
)
def test_bad_view_parameters_are_named(params: dict[str, str], parameter: str) -> None:
    # Given a view request with one bad parameter, When it is parsed, Then the 400 names that parameter
    error = bad(params)
    assert error.parameter == parameter
    assert error.body() == {"statusCode": 400, "message": error.message, "parameter": parameter}
    assert error.message.startswith(parameter)


@pytest.mark.parametrize(
    "skill_id",
    [
        "amzn1.ask.skill.1",
        "amzn1.ask.skill.00000000-0000-4000-8000-00000000D1CE",  # upper case is not what Alexa sends
        "amzn1.echo-sdk-ams.app.1",
        "amzn1.echo-sdk-ams.skill.00000000-0000-4000-8000-00000000d1ce",
        "",
        "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce/../x",
    ],
)
def test_skill_id_must_be_an_alexa_skill_id(skill_id: str) -> None:
    assert bad(DAY, skill_id).parameter == "skillId"


@given(uuid=st.uuids(), prefix=st.sampled_from(["amzn1.ask.skill.", "amzn1.echo-sdk-ams.app."]))
def test_current_and_legacy_application_ids_are_accepted(uuid: UUID, prefix: str) -> None:
    # Given a skill id of either form Alexa has issued (legacy ids belong to skills created before 2016)
    skill_id = f"{prefix}{uuid}"
    # When a view and a metric request name it, Then both accept it unchanged
    assert ReportRequest.from_params(skill_id, DAY).skill_id == skill_id
    assert (
        MetricRequest.from_params(
            skill_id, {**DAY, "metric": "totalUtterances", "period": "P1D"}
        ).report.skill_id
        == skill_id
    )


def test_the_range_limit_is_inclusive() -> None:
    request = ReportRequest.from_params(
        SKILL,
        {
            "startTime": "2026-01-01T00:00:00Z",
            "endTime": format_time(1_767_225_600_000 + MAX_RANGE_DAYS * 86_400_000),
        },
    )
    assert request.end_ms - request.start_ms == MAX_RANGE_DAYS * 86_400_000


def test_defaults_and_empty_values_count_as_absent() -> None:
    request = ReportRequest.from_params(SKILL, {**DAY, "locale": "", "intent": "", "stage": ""})
    assert (request.period, request.stage, request.locale, request.intent) == ("P1D", "live", None, None)


def test_filters_parse() -> None:
    request = ReportRequest.from_params(
        SKILL,
        {**DAY, "period": "PT15M", "stage": "development", "locale": "de-DE", "intent": "AMAZON.StopIntent"},
    )
    assert (request.period, request.stage, request.locale, request.intent) == (
        "PT15M", "development", "de-DE", "AMAZON.StopIntent",
    )  # fmt: skip


def test_alignment_covers_every_bucket_that_intersects_the_range() -> None:
    # Given a range that starts and ends inside hours
    request = ReportRequest.from_params(
        SKILL, {"startTime": "2026-01-05T10:20:00Z", "endTime": "2026-01-05T12:00:01Z", "period": "PT1H"}
    )
    # When aligned to hours, Then the start is floored and the end ceiled
    aligned = request.aligned("PT1H")
    assert (format_time(aligned.start_ms), format_time(aligned.end_ms)) == (
        "2026-01-05T10:00:00Z", "2026-01-05T13:00:00Z",
    )  # fmt: skip
    assert aligned.points() == 3
    # And an aligned end stays where it is
    assert ceil_ms(JAN5, "P1D") == JAN5
    # And aligning to a coarser bucket widens the range, the period's points follow
    assert request.aligned("P1D").points() == 24


def test_single_is_one_point_aligned_to_15_minutes() -> None:
    request = ReportRequest.from_params(
        SKILL, {"startTime": "2026-01-05T10:20:00Z", "endTime": "2026-01-05T10:21:00Z", "period": "SINGLE"}
    )
    assert request.bucket == "PT15M" and request.points() == 1
    assert format_time(request.aligned(request.bucket).start_ms) == "2026-01-05T10:15:00Z"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({**DAY, "metric": "totalUtterances"}, "period"),  # SMAPI requires period
        ({**DAY, "period": "PT1H"}, "metric"),
        ({**DAY, "period": "PT1H", "metric": "utterances"}, "metric"),
        ({**DAY, "period": "PT1H", "metric": "totalSessions", "intent": "RollDiceIntent"}, "intent"),
        ({**DAY, "period": "PT1H", "metric": "totalEnablements", "intent": "RollDiceIntent"}, "intent"),
        ({**DAY, "period": "PT1H", "metric": "totalEnablements", "locale": "en-US"}, "locale"),
        ({**DAY, "period": "PT1H", "metric": "uniqueCustomers", "skillType": "smartHome"}, "skillType"),
        ({**DAY, "period": "PT1H", "metric": "uniqueCustomers", "maxResults": "0"}, "maxResults"),
        ({**DAY, "period": "PT1H", "metric": "uniqueCustomers", "maxResults": "201"}, "maxResults"),
        ({**DAY, "period": "PT1H", "metric": "uniqueCustomers", "maxResults": "ten"}, "maxResults"),
        ({**DAY, "period": "PT1H", "metric": "uniqueCustomers", "nextToken": "x" * 201}, "nextToken"),
        ({**DAY, "period": "PT1H", "metric": "uniqueCustomers", "view": "overview"}, "view"),
    ],
)
def test_bad_metric_parameters_are_named(params: dict[str, str], parameter: str) -> None:
    assert bad(params, metric=True).parameter == parameter


def test_smapi_sample_request_parses() -> None:
    # The sample request of Amazon's documentation, with our skill id
    request = MetricRequest.from_params(
        SKILL,
        {
            "startTime": "2018-11-01T10:45:00Z",
            "endTime": "2018-11-02T10:45:00Z",
            "period": "SINGLE",
            "metric": "uniqueCustomers",
            "stage": "live",
            "skillType": "custom",
            "locale": "en-US",
            "maxResults": "3",
        },
    )
    assert (request.metric, request.max_results, request.report.locale) == ("uniqueCustomers", 3, "en-US")
