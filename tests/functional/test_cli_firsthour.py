"""A newcomer's first hour with ``skill-metrics``: readable tables, one-line errors, hints, paging.

Traffic from the real sample skill and recorder is stored in in-process moto and aggregated
through the aggregator's entry point; the commands run through click's ``CliRunner`` (a pipe:
no terminal, so the width is what ``COLUMNS`` says, 80 by default).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from alexa_skill_metrics.cli import Context, cli
from alexa_skill_metrics.cli.console import display
from alexa_skill_metrics.reporting.metrics import METRICS
from alexa_skill_metrics.reporting.views import VIEWS
from tests.conftest import TABLE
from tests.functional.reporting_fixtures import SKILL, aggregate, moto_table, record

DAYS = 2
START = "2026-01-05T00:00:00Z"
END = "2026-01-07T00:00:00Z"
OTHER_SKILL = "amzn1.ask.skill.11111111-1111-4111-8111-111111111111"
ENV = {"METRICS_TABLE": TABLE}


def invoke(args: list[str], environ: dict[str, str] | None = None, **env: str) -> Any:
    return CliRunner().invoke(cli, args, obj=Context.from_environ(environ or ENV), env=env or None)


def report(name: str, *extra: str, environ: dict[str, str] | None = None, **env: str) -> Any:
    return invoke(
        ["report", name, "--skill-id", SKILL, "--start", START, "--end", END, *extra], environ, **env
    )


@pytest.fixture(scope="module")
def stored() -> Iterator[Any]:
    """Two days of live traffic, raw events and rollups in the table (in-process moto)."""
    items = record(customers=25, days=DAYS, seed=5)
    with moto_table(TABLE) as client:
        for item in items:
            client.put_item(TableName=TABLE, Item=item)
        aggregate(client, TABLE, items)
        yield client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- tables that fit -------------------------------------------------------------------------------


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("columns", ["80", "60"])
def test_every_view_fits_the_width_and_shows_every_number_whole(stored: Any, view: str, columns: str) -> None:
    # Given a view as JSON (the API's values) and as tables at a narrow width, piped
    body = json.loads(report(view, "--json").stdout)
    result = report(view, COLUMNS=columns)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Then no line is wider than the terminal
    assert max(len(line.rstrip()) for line in lines) <= int(columns)
    # And every figure appears whole on one line, rounded the one way the dashboard rounds it
    for name, value in _figures(body):
        shown = display(name, value)
        assert any(shown in line for line in lines), f"{name}={value} shown as {shown!r} nowhere whole"


def _figures(body: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if name == "series" and key == "shareByEndType":
                    continue  # per bucket it is left out; the totals show it
                walk(inner, f"{name}.{key}" if name else key)
        elif isinstance(value, list):
            for row in value:
                walk(row, name)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append((name, value))

    walk({k: v for k, v in body.items() if k not in ("startTime", "endTime", "asOf")}, "")
    return out


def test_json_keeps_the_apis_precision(stored: Any) -> None:
    body = json.loads(report("intents", "--json").stdout)
    shares = [row["share"] for row in body["intents"]]
    assert any(len(str(share).split(".")[-1]) > 2 for share in shares)  # not cut to the display's 2


def test_report_help_lists_names_and_defaults() -> None:
    text = invoke(["report", "--help"], COLUMNS="80").output
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in [*VIEWS, *METRICS]:
        assert name in text
    assert "[default: P1D]" in text
    assert "METRICS_STAGE" in text and "else live" in text
    assert "failureRate" in text and "dropOff share" in text


# --- one-line errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["report", "overview", "--skill-id", SKILL, "--start", START, "--end", END],
        ["dashboard", "--skill-id", SKILL, "--start", START, "--end", END, "--out", "/tmp/x.html"],
        ["aggregate"],
    ],
)
def test_a_missing_table_is_one_line_naming_the_fix(stored: Any, args: list[str]) -> None:
    result = invoke(args, {"METRICS_TABLE": "no-such-table"})
    assert result.exit_code == 2
    assert "'no-such-table' does not exist" in result.output and "create-table" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_unreachable_dynamodb_is_one_line() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = report("overview", AWS_ENDPOINT_URL=endpoint, AWS_MAX_ATTEMPTS="1")
    assert result.exit_code == 1
    assert f"cannot reach DynamoDB at {endpoint}" in result.output and "--keep" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unreachable_reporting_endpoint_is_one_line() -> None:
    result = report("overview", "--endpoint", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1
    assert "could not reach" in result.output and "MetricsApiUrl" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report", "overview", "--skill-id", SKILL, "--start", START, "--end", END,
          "--endpoint", "not-a-url"], "not a URL"),
        (["report", "overview", "--skill-id", "amzn1.ask.skill.1", "--start", START, "--end", END],
         "not an Alexa skill id"),
        (["report", "overview", "--skill-id", SKILL, "--start", "yesterday", "--end", END], "ISO 8601"),
        (["report", "overview", "--skill-id", SKILL, "--start", START, "--end", END, "--period", "PT5M"],
         "PT5M"),
        (["demo", "--days", "0"], "0 is not in the range"),
        (["demo", "--customers", "-5"], "-5 is not in the range"),
    ],
)  # fmt: skip
def test_bad_arguments_are_rejected_before_any_work(args: list[str], expected: str) -> None:
    result = invoke(args)
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output


def test_a_bad_parameter_the_api_rejects_is_one_line(stored: Any) -> None:
    result = report("overview", "--intent", "RollDiceIntent")  # the overview has no intent filter
    assert result.exit_code == 2 and "intent" in result.output


def test_legacy_application_ids_are_accepted(stored: Any) -> None:
    legacy = "amzn1.echo-sdk-ams.app.00000000-0000-4000-8000-00000000d1ce"
    result = invoke(["report", "overview", "--skill-id", legacy, "--start", START, "--end", END, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["skillId"] == legacy


# --- empty reports say where the data is ----------------------------------------------------------


def test_a_wrong_stage_hints_at_the_right_one(stored: Any) -> None:
    result = report("overview", environ={**ENV, "METRICS_STAGE": "development"})
    assert result.exit_code == 0
    assert "stage 'live' has data in this range: add --stage live" in result.output


def test_a_wrong_skill_hints_at_the_skills_in_the_table(stored: Any) -> None:
    result = invoke(["report", "totalSessions", "--skill-id", OTHER_SKILL, "--start", START, "--end", END])
    assert result.exit_code == 0
    assert f"no rollups for {OTHER_SKILL}" in result.output and SKILL in result.output


def test_a_range_without_data_hints_at_the_days_with_data(stored: Any) -> None:
    result = invoke(["report", "overview", "--skill-id", SKILL, "--start", "2026-02-01T00:00:00Z",
                     "--end", "2026-02-02T00:00:00Z"])  # fmt: skip
    assert "stage 'live' has days from 2026-01-05 to 2026-01-06 (UTC)" in result.output


def test_an_unknown_intent_hints_at_the_intents_with_data(stored: Any) -> None:
    result = report("utterances", "--intent", "RollDiceIntnet")
    assert "intents with utterances in this range:" in result.output and "RollDiceIntent" in result.output


def test_a_report_with_data_gives_no_hint(stored: Any) -> None:
    assert "hint:" not in report("overview").output


# --- paging ----------------------------------------------------------------------------------------


def test_metrics_follow_every_page_by_default(stored: Any) -> None:
    # Given two days of quarter hours (192 points) at 50 per page
    args = ("--period", "PT15M", "--max-results", "50", "--json")
    every = json.loads(report("totalUtterances", *args).stdout)
    first = json.loads(report("totalUtterances", *args, "--one-page").stdout)
    # Then the default follows nextToken to the end; --one-page stops at one page and its token
    assert len(every["values"]) == 2 * 96 and every["nextToken"] is None
    assert len(first["values"]) == 50 and first["nextToken"]
    rest = json.loads(report("totalUtterances", *args, "--next-token", first["nextToken"]).stdout)
    assert first["values"] + rest["values"] == every["values"]
    assert (
        sum(every["values"])
        == json.loads(report("totalUtterances", "--period", "SINGLE", "--json").stdout)["values"][0]
    )


# --- operations -------------------------------------------------------------------------------------


def test_rebuild_rewrites_a_range_to_the_same_reports(stored: Any) -> None:
    # Given the views of an aggregated range
    before = {view: json.loads(report(view, "--json").stdout) for view in VIEWS}
    # When the range is rebuilt from its raw events
    result = invoke(["rebuild", "--skill-id", SKILL, "--start", START, "--end", END])
    assert result.exit_code == 0, result.output
    assert "rebuilt 2026-01-05T00:00:00Z to 2026-01-07T00:00:00Z" in result.output
    # Then every view reads the same (asOf aside)
    for view, body in before.items():
        after = json.loads(report(view, "--json").stdout)
        assert {**after, "asOf": None} == {**body, "asOf": None}, view


def test_rebuild_of_a_range_still_open_is_one_line(stored: Any) -> None:
    result = invoke(
        ["rebuild", "--skill-id", SKILL, "--start", "2099-01-01T00:00:00Z", "--end", "2099-01-02T00:00:00Z"]
    )
    assert result.exit_code == 1 and "rebuild this range after" in result.output


def test_redrive_keeps_what_it_cannot_read_and_exits_non_zero(stored: Any) -> None:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="cli-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="not json")
    result = invoke(["redrive", "--queue-url", queue])
    assert result.exit_code == 1
    assert "kept a message" in result.output and "0 messages rebuilt and deleted, 1 kept" in result.output


def test_demo_keep_on_a_port_another_program_holds_is_one_line() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        result = invoke(["demo", "--keep", "--port", port])
    assert result.exit_code == 1
    assert f"port {port} is taken by another program" in result.output and "Traceback" not in result.output
