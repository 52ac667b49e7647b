"""Amazon's Metrics API v2 over the HTTP API: validation (a 4xx naming the field), listing, CSV, schemas.

The values themselves are compared with v1 and with the recomputation from raw events in
``tests/functional/test_reporting_v2.py``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alexa_skill_metrics.model import ALL_INTENTS, RollupKey
from alexa_skill_metrics.reporting.api import build_app, http_event
from alexa_skill_metrics.reporting.reporter import Reporter
from alexa_skill_metrics.reporting.v2 import FIRST_PARTY_CANNOT, METRICS_V2, NAMESPACES, listed
from tests.unit.test_report_openapi import busy_source, validator
from tests.unit.test_report_sources import ListSource
from tests.unit.test_views import rollup

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000
H = 3_600_000
PATH = f"/v2/skills/{SKILL}/metrics"


def query(name: str = "UTTERANCES", **fields: Any) -> dict[str, Any]:
    namespace = next((m.namespace for m in METRICS_V2.values() if m.name == name), "Alexa.Custom")
    return {
        "id": name.lower(),
        "name": name,
        "metricNamespace": namespace,
        "aggregationPeriod": "BY_DAY",
        **fields,
    }


def body(*queries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "startTime": JAN5,
        "endTime": JAN5 + 2 * 86_400_000,
        "metricQueries": list(queries or [query()]),
        **fields,
    }


def post(
    payload: Any,
    *,
    raw: str | None = None,
    b64: bool = False,
    query_string: dict[str, str] | None = None,
    source: Any = None,
) -> tuple[int, Any, dict[str, Any]]:
    app = build_app(Reporter(source or busy_source(), clock=lambda: JAN5 + 3 * 86_400_000))
    text = raw if raw is not None else json.dumps(payload)
    response = app.resolve(http_event(PATH, query_string, "POST", text, base64_encoded=b64), {})
    content_type = response["headers"]["Content-Type"]
    parsed = json.loads(response["body"]) if content_type.startswith("application/json") else response["body"]
    return response["statusCode"], parsed, response["headers"]


def get_list(params: dict[str, str]) -> tuple[int, Any]:
    response = build_app(Reporter(busy_source())).resolve(http_event("/v2/skills/metrics", params), {})
    return response["statusCode"], json.loads(response["body"])


def test_a_body_is_answered_alike_plain_and_base64_encoded() -> None:
    payload = body(query("UTTERANCES", groupBy="intent"), query("CUSTOMERS", aggregationPeriod="BY_HOUR"))
    plain = post(payload)
    encoded = post(payload, b64=True)
    assert plain[0] == encoded[0] == 200
    assert plain[1] == encoded[1]
    validator("MetricsV2Response").validate(plain[1])
    by_intent = plain[1]["results"][0]["data"]
    assert {d["groupedBy"]["groupedByValue"] for d in by_intent} == {
        "RollDiceIntent",
        "AMAZON.FallbackIntent",
    }
    assert len(plain[1]["results"][1]["data"][0]["values"]) == 48


@pytest.mark.parametrize(
    ("payload", "raw", "field"),
    [
        (body(*[query(id=f"q{n}") for n in range(6)]), None, "metricQueries"),
        (body(query("REVENUE", metricNamespace="Alexa.Custom")), None, "metricQueries[0].name"),
        (body(query(metricNamespace="Alexa.Music")), None, "metricQueries[0].metricNamespace"),
        (body(query(stat="p90")), None, "metricQueries[0].stat"),
        (body(query("SKILL_LATENCY", stat="avg")), None, "metricQueries[0].stat"),
        (body(startTime=JAN5 + 86_400_000, endTime=JAN5), None, "endTime"),
        (None, "{not json", "body"),
        (None, "[1, 2]", "body"),
        (None, "", "body"),
        (None, "[" * 100_000, "body"),
        (body(nextToken="djE6MTphYmNkZWZhYmNkZWZhYmNk"), None, "nextToken"),
        (body(nextToken="!!!"), None, "nextToken"),
        (body(query(groupBy="device")), None, "metricQueries[0].groupBy"),
        (body(query("SUCCESSFUL_SESSIONS", groupBy="intent")), None, "metricQueries[0].groupBy"),
        (
            body(query("USERS", dimensions=[{"name": "Alexa.Locale", "value": "en-US"}])),
            None,
            "metricQueries[0].dimensions[0].name",
        ),
        (
            body(query(dimensions=[{"name": "Alexa.Locale", "value": "english"}])),
            None,
            "metricQueries[0].dimensions",
        ),
        (body(query(aggregationPeriod="BY_MONTH")), None, "metricQueries[0].aggregationPeriod"),
        (body(query(), query()), None, "metricQueries"),
        (body(query(extra=1)), None, "metricQueries[0].extra"),
        (body(startTime="yesterday"), None, "startTime"),
        (body(endTime=True), None, "endTime"),
        (body(maxResultsPerQuery=0), None, "maxResultsPerQuery"),
        (body(colour="red"), None, "colour"),
        (body(startTime=JAN5, endTime=JAN5 + 400 * 86_400_000), None, "endTime"),
    ],
)
def test_every_bad_input_is_a_400_naming_the_field(payload: Any, raw: str | None, field: str) -> None:
    status, answer, _ = post(payload, raw=raw)
    assert status == 400, answer
    assert answer["parameter"] == field and answer["message"].startswith(field)
    validator("ErrorBody").validate(answer)


def test_bad_base64_is_a_400_not_a_500() -> None:
    app = build_app(Reporter(busy_source()))
    event = http_event(PATH, None, "POST", "x", base64_encoded=True)
    event["body"] = base64.b64encode(b"\xff\xfe{").decode()
    response = app.resolve(event, {})
    assert response["statusCode"] == 400 and json.loads(response["body"])["parameter"] == "body"


def quality_source() -> ListSource:
    """Friction and session starts at 10:00 on Jan 5, in two locales, with their per-intent rollups.

    Each rollup is stored in its hour and its day, as the aggregator does.
    """
    rollups = {
        ("en-US", ALL_INTENTS): rollup(
            ["a", "b"],
            utterances=10,
            unhandled=3,
            terminations=1,
            sessions_started=4,
            session_ends={"no_response": 3, "skill_ended": 1},
            no_response_after={"LaunchRequest": 2},
            # Exits at ordinary prompts are not defective: they leave the figures unchanged
            exited_after={"RollDiceIntent": 4},
            no_response_exits_after={"RollDiceIntent": 1},
            launches=3,
            one_shots=1,
        ),
        ("en-US", "AMAZON.FallbackIntent"): rollup(["a"], utterances=2, unhandled=2),
        ("en-US", "RollDiceIntent"): rollup(["a", "b"], utterances=8, unhandled=1),
        ("de-DE", ALL_INTENTS): rollup(["c"], utterances=5, terminations=2, sessions_started=2, one_shots=2),
        ("de-DE", "RollDiceIntent"): rollup(["c"], utterances=5),
    }
    return ListSource(
        (RollupKey(SKILL, "live", granularity, bucket, locale, intent), figures)
        for (locale, intent), figures in rollups.items()
        for granularity, bucket in (("PT1H", JAN5 + 10 * H), ("P1D", JAN5))
    )


def values(source: ListSource, name: str, **fields: Any) -> dict[str | None, list[Any]]:
    status, answer, _ = post(body(query(name, **fields)), source=source)
    assert status == 200, answer
    return {
        d["groupedBy"]["groupedByValue"] if d["groupedBy"] else None: d["values"]
        for d in answer["results"][0]["data"]
    }


def view_series(source: ListSource, view: str, **params: str) -> list[dict[str, Any]]:
    app = build_app(Reporter(source, clock=lambda: JAN5 + 3 * 86_400_000))
    window = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-07T00:00:00Z", "period": "P1D"}
    response = app.resolve(http_event(f"/v1/skills/{SKILL}/views/{view}", {**window, **params}), {})
    assert response["statusCode"] == 200, response["body"]
    series: list[dict[str, Any]] = json.loads(response["body"])["series"]
    return series


QUALITY_FIGURES = {
    "UNHANDLED_REQUEST": ("friction", lambda p: p["quality"]["unhandledRequests"]),
    "UNHANDLED_REQUEST_RATE": ("friction", lambda p: p["quality"]["unhandledRequestRate"]),
    "DEFECTIVE_TERMINATION": ("friction", lambda p: p["quality"]["defectiveTerminations"]),
    "DEFECTIVE_TERMINATION_RATE": ("friction", lambda p: p["quality"]["defectiveTerminationRate"]),
    "DIRECT_INVOCATIONS": ("sessions", lambda p: p["invocations"]["launch"]),
    "ONE_SHOT_INVOCATIONS": ("sessions", lambda p: p["invocations"]["oneShot"]),
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("UNHANDLED_REQUEST", [3, 0]),
        ("UNHANDLED_REQUEST_RATE", [0.2, 0.0]),  # 3 of 15 utterances
        ("DEFECTIVE_TERMINATION", [5, 0]),  # 1 + 2 terminations, 2 no-response ends at the welcome
        ("DEFECTIVE_TERMINATION_RATE", [0.8333, 0.0]),  # of 6 sessions started
        ("DIRECT_INVOCATIONS", [3, 0]),
        ("ONE_SHOT_INVOCATIONS", [3, 0]),
    ],
)
def test_quality_and_invocation_names_are_the_friction_and_sessions_views_figures(
    name: str, expected: list[Any]
) -> None:
    # Given friction and session starts on the first of two days, in two locales
    source = quality_source()
    # When the v2 name is asked by day
    answer = values(source, name)
    # Then it is the figure by our definitions, and the view's figure for the same days
    view, figure = QUALITY_FIGURES[name]
    assert answer == {None: expected}
    assert answer[None] == [figure(point) for point in view_series(source, view)]
    # And grouped by locale, each locale's value is the view filtered to it
    by_locale = values(source, name, groupBy="locale")
    assert by_locale and set(by_locale) <= {"en-US", "de-DE"}
    for locale, series in by_locale.items():
        assert series == [figure(point) for point in view_series(source, view, locale=locale)]


def test_defective_terminations_and_invocations_group_by_locale_only() -> None:
    # Terminations and session starts are kept in all-intents rollups only
    source = quality_source()
    assert values(source, "DEFECTIVE_TERMINATION", groupBy="locale") == {"de-DE": [2, 0], "en-US": [3, 0]}
    assert values(source, "DEFECTIVE_TERMINATION_RATE", groupBy="locale") == {
        "de-DE": [1.0, 0.0],
        "en-US": [0.75, 0.0],
    }
    for name in ("DEFECTIVE_TERMINATION", "DEFECTIVE_TERMINATION_RATE", "DIRECT_INVOCATIONS"):
        status, answer, _ = post(body(query(name, groupBy="intent")), source=source)
        assert status == 400 and answer["parameter"] == "metricQueries[0].groupBy"
        assert "grouped by locale" in answer["message"]


def test_unhandled_requests_by_intent_are_each_intents_own() -> None:
    # Given unhandled utterances of AMAZON.FallbackIntent (2 of 2) and RollDiceIntent (1 of 8 + 5)
    source = quality_source()
    # Then grouped by intent they are the intents view's unhandled, and their share of the intent
    assert values(source, "UNHANDLED_REQUEST", groupBy="intent") == {
        "AMAZON.FallbackIntent": [2, 0],
        "RollDiceIntent": [1, 0],
    }
    assert values(source, "UNHANDLED_REQUEST_RATE", groupBy="intent") == {
        "AMAZON.FallbackIntent": [1.0, 0.0],
        "RollDiceIntent": [0.0769, 0.0],
    }
    # And over the range, equal to the intents view's rows
    app = build_app(Reporter(source, clock=lambda: JAN5 + 3 * 86_400_000))
    params = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-07T00:00:00Z"}
    rows = json.loads(app.resolve(http_event(f"/v1/skills/{SKILL}/views/intents", params), {})["body"])
    single = values(source, "UNHANDLED_REQUEST", groupBy="intent", aggregationPeriod="SINGLE")
    assert single == {r["intent"]: [r["unhandled"]] for r in rows["intents"] if r["unhandled"]}


def test_quality_and_invocation_namespaces_list_their_names() -> None:
    _, quality = get_list({"metricNamespace": "Alexa.SkillQuality"})
    _, invocations = get_list({"metricNamespace": "Alexa.SkillInvocations"})
    listing = {m["name"]: m for m in quality["metrics"] + invocations["metrics"]}
    assert set(listing) == set(QUALITY_FIGURES)
    for name, metric in listing.items():
        assert metric["supportedStats"] == (["avg"] if name.endswith("_RATE") else ["count"])
        by_intent = name.startswith("UNHANDLED")
        assert metric["supportedGroupByOptions"] == (["intent", "locale"] if by_intent else ["locale"])
        assert metric["supportedDimensions"] == ["Alexa.Stage", "Alexa.Locale", "SkillMetrics.Release"]
        assert QUALITY_FIGURES[name][0] in metric["description"]


@pytest.mark.parametrize("name", sorted(FIRST_PARTY_CANNOT))
def test_what_first_party_data_cannot_know_is_a_400_saying_why(name: str) -> None:
    status, answer, _ = post(body(query(name)))
    assert status == 400 and "cannot be known from the skill's own requests" in answer["message"]
    # And asked in another namespace, the answer still says why
    status, answer, _ = post(body(query(name, metricNamespace="Alexa.Custom")))
    assert status == 400 and "cannot be known" in answer["message"]


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_the_listing_holds_exactly_what_is_answered(namespace: str) -> None:
    status, answer = get_list({"metricNamespace": namespace})
    assert status == 200
    validator("MetricsListV2Response").validate(answer)
    names = [m["name"] for m in answer["metrics"]]
    assert names == [m.name for m in listed(namespace)]
    assert not set(names) & set(FIRST_PARTY_CANNOT)
    for metric in answer["metrics"]:
        # Every listed metric answers with its default stat and each supported option
        for stat in metric["supportedStats"]:
            for group_by in [None, *metric["supportedGroupByOptions"]]:
                extra = {"groupBy": group_by} if group_by else {}
                status, _, _ = post(body(query(metric["name"], stat=stat, **extra)))
                assert status == 200, (metric["name"], stat, group_by)


def test_the_custom_listing_maps_every_name_of_the_issue() -> None:
    _, answer = get_list({"metricNamespace": "Alexa.Custom"})
    assert {m["name"] for m in answer["metrics"]} == {
        "CUSTOMERS",
        "UTTERANCES",
        "SUCCESSFUL_UTTERANCES",
        "FAILED_UTTERANCES",
        "UTTERANCES_PER_CUSTOMER",
        "SUCCESSFUL_SESSIONS",
        "ENDED_SESSIONS",
        "USER_ENDED_SESSIONS",
        "SKILL_ENDED_SESSIONS",
        "ACTIVE_SESSIONS",
        "USER_RESPONDED",
        "USER_DID_NOT_RESPOND",
        "SKILL_LATENCY",
    }
    assert all(m["description"] for m in answer["metrics"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "metricNamespace"),
        ({"metricNamespace": "Alexa.Music"}, "metricNamespace"),
        ({"metricNamespace": "Alexa.Custom", "nextToken": "abc"}, "nextToken"),
        ({"metricNamespace": "Alexa.Custom", "maxResults": "0"}, "maxResults"),
        ({"metricNamespace": "Alexa.Custom", "colour": "red"}, "colour"),
    ],
)
def test_bad_listing_parameters_are_400(params: dict[str, str], field: str) -> None:
    status, answer = get_list(params)
    assert status == 400 and answer["parameter"] == field


def test_pages_cover_every_point_once_and_a_token_is_bound_to_its_body() -> None:
    # Given 48 hourly points for one query and 2 daily for another, 20 points per page
    payload = body(query(aggregationPeriod="BY_HOUR"), query("CUSTOMERS"), maxResultsPerQuery=20)
    seen: dict[str, list[int]] = {"utterances": [], "customers": []}
    token = None
    pages = 0
    while True:
        status, answer, _ = post({**payload, "nextToken": token} if token else payload)
        assert status == 200
        pages += 1
        for result in answer["results"]:
            for data in result["data"]:
                seen[result["id"]] += data["timestamps"]
        token = answer["paginationContext"]["nextToken"]
        if token is None:
            break
        # A token replayed with another body is refused, naming nextToken
        other = post({**body(query(aggregationPeriod="BY_15")), "nextToken": token})
        assert other[0] == 400 and other[1]["parameter"] == "nextToken"
    assert pages == 3
    assert seen["utterances"] == [JAN5 + h * H for h in range(48)]
    assert seen["customers"] == [JAN5, JAN5 + 24 * H]


def test_csv_is_rfc_4180_with_one_row_per_point() -> None:
    status, text, headers = post(body(query(groupBy="intent")), query_string={"format": "csv"})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert text.endswith("\r\n") and "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    _, answer, _ = post(body(query(groupBy="intent")))
    points = [
        (d["groupedBy"]["groupedByValue"], v) for d in answer["results"][0]["data"] for v in d["values"]
    ]
    assert [(r["groupedByValue"], int(r["value"])) for r in rows] == points
    assert rows[0]["timestamp"] == "2026-01-05T00:00:00Z" and rows[0]["groupedByField"] == "intent"


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/skills/{SKILL}/views/{view}"
        for view in ("overview", "customers", "sessions", "utterances", "intents")
    ]
    + [f"/v1/skills/{SKILL}/metrics"],
)
def test_views_and_v1_metrics_export_csv(path: str) -> None:
    app = build_app(Reporter(busy_source(), clock=lambda: JAN5 + 3 * 86_400_000))
    params = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-07T00:00:00Z", "period": "PT1H"}
    if path.endswith("metrics"):
        params["metric"] = "totalUtterances"
    as_json = json.loads(app.resolve(http_event(path, params), {})["body"])
    response = app.resolve(http_event(path, {**params, "format": "csv"}), {})
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response["body"], newline="")))
    # One row per point (per intent for the intents view), times in UTC ISO 8601
    expected = as_json.get("intents") or as_json.get("series") or as_json["values"]
    assert len(rows) == len(expected) > 0
    first = rows[0]
    assert (first.get("start") or first.get("timestamp") or first["startTime"]).endswith("Z")
    bad = app.resolve(http_event(path, {**params, "format": "xml"}), {})
    assert bad["statusCode"] == 400 and json.loads(bad["body"])["parameter"] == "format"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = st.sampled_from(["startTime", "endTime", "maxResultsPerQuery", "nextToken", "metricQueries"])
_QUERY_FIELDS = st.sampled_from(
    ["id", "label", "name", "metricNamespace", "groupBy", "aggregationPeriod", "stat", "dimensions"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.fixed_dictionaries({}, optional={"maxResultsPerQuery": st.integers(-2, 300)}),
    mutations=st.lists(st.tuples(_FIELDS, _JSON), max_size=3),
    query_mutations=st.lists(st.tuples(_QUERY_FIELDS, _JSON), max_size=3),
)
def test_any_body_gets_a_200_or_a_4xx_naming_a_field_never_a_500(
    base: dict[str, Any], mutations: list[tuple[str, Any]], query_mutations: list[tuple[str, Any]]
) -> None:
    # Given a valid body with some fields replaced by arbitrary JSON
    one = query()
    for name, value in query_mutations:
        one[name] = value
    payload = {**body(one), **base}
    for name, value in mutations:
        payload[name] = value
    # When it is posted
    status, answer, _ = post(payload, source=ListSource([]))
    # Then it is answered, or refused with the field at fault
    assert status in (200, 400), answer
    if status == 400:
        assert answer["parameter"] and answer["message"]
    else:
        validator("MetricsV2Response").validate(answer)


def test_values_are_the_v1_metrics_values() -> None:
    # Given traffic at two hours of one day
    source = ListSource(
        [
            (
                RollupKey(SKILL, "live", "PT1H", JAN5 + h * H, "en-US"),
                rollup(["a", f"c{h}"], utterances=h + 1),
            )
            for h in (3, 9)
        ]
    )
    app = build_app(Reporter(source, clock=lambda: JAN5 + 3 * 86_400_000))
    v1 = json.loads(
        app.resolve(
            http_event(
                f"/v1/skills/{SKILL}/metrics",
                {
                    "startTime": "2026-01-05T00:00:00Z",
                    "endTime": "2026-01-06T00:00:00Z",
                    "period": "PT1H",
                    "metric": "uniqueCustomers",
                },
            ),
            {},
        )["body"]
    )
    payload = {
        "startTime": JAN5,
        "endTime": JAN5 + 86_400_000,
        "metricQueries": [query("CUSTOMERS", aggregationPeriod="BY_HOUR")],
    }
    _, v2, _ = post(payload, source=source)
    assert v2["results"][0]["data"][0]["values"] == v1["values"]
    assert sum(v1["values"]) == 4


def test_the_listing_exports_csv_one_row_per_metric() -> None:
    app = build_app(Reporter(busy_source()))
    response = app.resolve(
        http_event("/v2/skills/metrics", {"metricNamespace": "Alexa.Custom", "format": "csv"}), {}
    )
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response["body"], newline="")))
    assert [r["name"] for r in rows] == [m.name for m in listed("Alexa.Custom")]
    latency = next(r for r in rows if r["name"] == "SKILL_LATENCY")
    assert (
        latency["supportedStats"] == "p50|p90|p99" and latency["supportedGroupByOptions"] == "intent|locale"
    )
