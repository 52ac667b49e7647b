"""Unresolved values end to end: only opted-in slots' values are stored, only where allowed, and
reported only once k distinct customers said them (API, CLI, dashboard, CSV, metrics).

Traffic: the sample skill, with the recorder installed as a developer does, answering rolls whose
every slot carries a distinctive value (``zq...``): the opted-in ``colour`` (a custom type), a
slot not opted in with the same kind of unresolved value, an opted-in slot of a personal built-in
type (``AMAZON.FirstName``, extended), a slot without resolutions, and the resolved values. Shapes
follow Amazon's entity-resolution reference; the real envelopes' slots come from
``../shared/fixtures/alexa-requests`` (skipped where absent).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from click.testing import CliRunner

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.reporting import Reporter, StoredRollups
from alexa_skill_metrics.reporting.api import http_event
from alexa_skill_metrics.reporting.export import to_csv
from alexa_skill_metrics.reporting.handler import create_handler
from alexa_skill_metrics.storage.codec import is_event_item
from alexa_skill_metrics.storage.rollups import RollupStore
from sample_skill.app import build_handler
from sample_skill.envelopes import DEMO_SKILL_ID, Envelopes
from tests.conftest import KEY, SHARED_FIXTURES, TABLE, table_items
from tests.functional.reporting_fixtures import aggregate, view_request

T = 1_767_607_200_000  # 2026-01-05T10:00:00Z
DAY_MS = 86_400_000
NOW = T + DAY_MS
STATIC = f"amzn1.er-authority.echo-sdk.{DEMO_SKILL_ID}.DiceColour"
DYNAMIC = f"amzn1.er-authority.echo-sdk.dynamic.{DEMO_SKILL_ID}.DiceColour"
FRIEND = f"amzn1.er-authority.echo-sdk.{DEMO_SKILL_ID}.AMAZON.FirstName"
FLAVOUR = f"amzn1.er-authority.echo-sdk.{DEMO_SKILL_ID}.Flavour"
COMMON, RARE = "zqcommon colour", "zqrare colour"  # said by 6 customers, and by 2
OPTED_IN = {"RollDiceIntent": ["colour", "friend"]}  # friend is a personal type: refused anyway
NEVER = ("zqsides", "zqflavour", "zqfriend", "zqresolved")  # in envelopes, never stored


def unresolved(value: str, *authorities: str) -> dict[str, Any]:
    return {"value": value, "source": "USER", "confirmationStatus": "NONE", "resolutions": {
        "resolutionsPerAuthority": [{"authority": a, "status": {"code": "ER_SUCCESS_NO_MATCH"}}
                                    for a in authorities]}}  # fmt: skip


def roll(env: Envelopes, n: int, colour: str) -> dict[str, Any]:
    envelope = env.intent("RollDiceIntent", user=f"u{n}", session=f"s{n}-{colour[2:5]}", at_ms=T + n * 1000,
                          new=True, slots={"sides": "zqsides twenty"})  # fmt: skip
    slots = envelope["request"]["intent"]["slots"]
    slots["colour"] = {"name": "colour", **unresolved(f"  {colour.upper()} ", STATIC, DYNAMIC)}
    slots["flavour"] = {"name": "flavour", **unresolved("zqflavour mint", FLAVOUR)}
    slots["friend"] = {"name": "friend", **unresolved("zqfriend alice", FRIEND)}
    resolved = {"authority": STATIC, "status": {"code": "ER_SUCCESS_MATCH"},
                "values": [{"value": {"name": "zqresolved red", "id": "red"}}]}  # fmt: skip
    slots["shade"] = {"name": "shade", "value": "zqresolved red", "resolutions": {
        "resolutionsPerAuthority": [resolved]}}  # fmt: skip
    return envelope


@pytest.fixture
def table(
    dynamodb: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """Rolls by 6 customers saying COMMON and 2 saying RARE, recorded, aggregated; and the logs."""
    # Everything the project logs, at every level (botocore's own DEBUG lines, off in Lambda, echo
    # request bodies: not the project's logs)
    caplog.set_level(logging.WARNING)
    with caplog.at_level(logging.DEBUG, logger="alexa-skill-metrics"):
        metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb, slot_values=OPTED_IN)
        handler = build_handler(metrics)
        env = Envelopes()
        for n in range(6):
            handler(roll(env, n, COMMON), None)
            handler(roll(env, n, COMMON), None)  # said twice by each: utterances != customers
        for n in range(2):
            handler(roll(env, 100 + n, RARE), None)
        items = sorted(table_items(dynamodb), key=lambda i: i["sk"]["S"])
        aggregate(dynamodb, TABLE, items)
    return {"client": dynamodb, "logs": caplog.text + "".join(capsys.readouterr())}


def test_only_opted_in_values_are_stored_and_only_in_events_and_their_index(table: dict[str, Any]) -> None:
    # When the whole table (events, rollups, customers, value index) and the logs are scanned
    items = table_items(table["client"])
    kinds = {item.get("kind", {}).get("S", item["pk"]["S"].split("#", 1)[0]) for item in items}
    assert {"event", "uvalue", "rollup", "customer"} <= kinds, kinds
    # Then no value of a slot not opted in, of a personal type, or resolved, is anywhere
    everything = json.dumps(items, default=lambda b: b.decode("latin-1")) + table["logs"]
    assert not [v for v in NEVER if v in everything.casefold()]
    # And the opted-in values appear case-folded, only in events' uv and the value index's uv
    for item in items:
        text = json.dumps(item, default=lambda b: b.decode("latin-1"))
        if COMMON in text or RARE in text:
            assert is_event_item(item) or item["kind"]["S"] == "uvalue", item["pk"]
            assert {k for k, v in item.items() if COMMON in json.dumps(v) or RARE in json.dumps(v)} == {"uv"}
    assert COMMON.upper() not in everything and not re.search(r"zq(common|rare)", table["logs"])
    # And every copy expires with its raw event
    events = {i["sk"]["S"]: i for i in items if is_event_item(i)}
    index = [i for i in items if i.get("kind", {}).get("S") == "uvalue"]
    assert len(index) == 14 and all(i["expires_at"] == events[i["sk"]["S"]]["expires_at"] for i in index)


def report_slots(*more: str) -> Any:
    """``skill-metrics report slots`` over the day of the traffic, in process."""
    from alexa_skill_metrics.cli import Context, cli

    args = ["report", "slots", "--skill-id", DEMO_SKILL_ID, "--start", "2026-01-05T00:00:00Z",
            "--end", "2026-01-06T00:00:00Z", *more]  # fmt: skip
    return CliRunner().invoke(cli, args, obj=Context.from_environ({"METRICS_TABLE": TABLE, "COLUMNS": "200"}))


def reports(table: dict[str, Any]) -> dict[str, str]:
    """Every report that could show the values, as text: API, in-process, CLI, dashboard, CSV, metrics."""
    client = table["client"]
    reporter = Reporter(StoredRollups(RollupStore(TABLE, client)), clock=lambda: NOW)
    query = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z"}
    request = view_request(T - 10 * 3_600_000, T + 14 * 3_600_000)
    handler = create_handler(Settings(table_name=TABLE), client=client, clock=lambda: NOW)
    out = {"in-process": json.dumps(reporter.view("slots", request))}
    out["api"] = handler(http_event(f"/v1/skills/{DEMO_SKILL_ID}/views/slots", query), None)["body"]
    out["api-csv"] = handler(
        http_event(f"/v1/skills/{DEMO_SKILL_ID}/views/slots", {**query, "format": "csv"}), None
    )["body"]
    out["csv"] = to_csv(reporter.view("slots", request))
    metric = {**query, "metric": "totalUtterances", "period": "P1D", "stage": "live", "skillType": "custom"}
    out["v1"] = handler(http_event(f"/v1/skills/{DEMO_SKILL_ID}/metrics", metric), None)["body"]
    result = report_slots()
    assert result.exit_code == 0, result.output
    out["cli"] = result.output
    from alexa_skill_metrics.dashboard import collect_views, render_dashboard

    views = collect_views(lambda name: reporter.view(name, request))
    out["dashboard"] = render_dashboard(views)
    return out


def test_below_k_customers_a_value_is_in_no_report(table: dict[str, Any]) -> None:
    # When every report that could show the values is produced (default k = 5)
    shown = reports(table)
    # Then the value six customers said is listed where values are listed, the one two said nowhere
    for where in ("in-process", "api", "cli", "dashboard"):
        assert COMMON in shown[where], where
    for where, text in shown.items():
        assert RARE not in text, where
        assert not [v for v in NEVER if v in text], where
    # And the counts are exact: 12 utterances by 6 customers, one value withheld
    values = json.loads(shown["api"])["unresolvedValues"]
    listed = {"intent": "RollDiceIntent", "slot": "colour", "value": COMMON, "utterances": 12, "customers": 6}
    assert values == {"minCustomers": 5, "withheld": 1, "values": [listed]}


def test_k_is_a_report_parameter_of_at_least_two(table: dict[str, Any]) -> None:
    handler = create_handler(Settings(table_name=TABLE), client=table["client"], clock=lambda: NOW)
    query = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z"}

    def get(path: str, **more: str) -> tuple[int, Any]:
        response = handler(http_event(f"/v1/skills/{DEMO_SKILL_ID}/views/{path}", {**query, **more}), None)
        return response["statusCode"], json.loads(response["body"])

    # k = 2 shows the rarer value too, with its own counts
    status, body = get("slots", minCustomers="2")
    assert status == 200 and [(v["value"], v["customers"]) for v in body["unresolvedValues"]["values"]] == [
        (COMMON, 6),
        (RARE, 2),
    ]
    # k = 7 shows nothing; k = 1, or not a number, is a clear 400 naming the parameter
    assert get("slots", minCustomers="7")[1]["unresolvedValues"]["values"] == []
    for bad in ("1", "0", "-3", "five", "2.5"):
        status, body = get("slots", minCustomers=bad)
        assert status == 400 and "minCustomers" in json.dumps(body), bad
    # another view does not take it
    status, body = get("overview", minCustomers="5")
    assert status == 400 and "slots view only" in json.dumps(body)
    # nor does the CLI accept k below 2
    result = report_slots("--min-customers", "1")
    assert result.exit_code == 2 and "--min-customers" in result.output
    result = report_slots("--min-customers", "2")
    assert result.exit_code == 0 and RARE in result.output


def test_expired_values_are_in_no_report(table: dict[str, Any]) -> None:
    # Given a report asked after the raw events' TTL (90 days after received), before DynamoDB deleted them
    expiry = max(int(i["expires_at"]["N"]) for i in table_items(table["client"]) if is_event_item(i))
    later = (expiry + 1) * 1000
    reporter = Reporter(StoredRollups(RollupStore(TABLE, table["client"])), clock=lambda: later)
    view = reporter.view("slots", view_request(T - 10 * 3_600_000, T + 14 * 3_600_000, minCustomers="2"))
    # Then no value is listed any more, though the slot figures (statuses, no values) stay
    assert view["unresolvedValues"]["values"] == [] and view["unresolvedValues"]["withheld"] == 0
    assert sum(row["unresolved"] for row in view["slots"]) > 0


def test_a_real_envelopes_unresolved_value_is_recorded_for_an_opted_in_slot(dynamodb: Any) -> None:
    # Given alexa-app's airport request whose value matched no AirportCode (a real envelope)
    path = SHARED_FIXTURES / "alexa-app" / "intent_request_airport_info_resolutions_not_found.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared request fixtures are not checked out beside the repo")
    envelope = json.loads(path.read_text())
    envelope["request"]["locale"] = "en-US"
    from ask_sdk_core.dispatch_components import AbstractRequestHandler
    from ask_sdk_core.skill_builder import SkillBuilder

    class Airport(AbstractRequestHandler):  # type: ignore[misc]
        def can_handle(self, handler_input: Any) -> bool:
            return True

        def handle(self, handler_input: Any) -> Any:
            return handler_input.response_builder.speak("Which airport?").response

    sb = SkillBuilder()
    sb.add_request_handler(Airport())
    for opt_in, expected in (
        ({"airportInfoIntent": ["AirportCode"]}, "AirportCode\x1fmy home airport"),
        ({}, None),
    ):
        metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb, slot_values=opt_in)
        handler = metrics.lambda_handler(sb)
        # When the skill answers it, opted in and not
        envelope["request"]["requestId"] += "x"
        handler(json.loads(json.dumps(envelope)), None)
        # Then the event keeps the value only when the slot is opted in
        stored = [i for i in table_items(dynamodb) if i["sk"]["S"].endswith(envelope["request"]["requestId"])]
        assert [i.get("uv", {}).get("S") for i in stored] == [expected]
