"""The skill's health as CloudWatch metrics: EMF lines checked against the format, isolated, fail-open."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name
from ask_sdk_model.response import Response
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.recording.health import HEALTH_NAMESPACE, HealthMetrics
from sample_skill.app import build_handler
from sample_skill.envelopes import Envelopes
from tests.conftest import KEY
from tests.functional.reporting_fixtures import CapturingClient

T = 1_767_607_200_000
# CloudWatch's units (the EMF specification's MetricDefinition.Unit)
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def check_emf(document: dict[str, Any]) -> None:
    """Assert ``document`` follows the Embedded Metric Format specification (AWS CloudWatch docs)."""
    aws = document["_aws"]
    assert isinstance(aws["Timestamp"], int) and aws["Timestamp"] > 0  # epoch milliseconds
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert isinstance(directive["Namespace"], str) and 1 <= len(directive["Namespace"]) <= 1024
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30  # at most 30 per set
            for name in dimension_set:
                value = document[name]  # every dimension a member of the root, a string
                assert isinstance(value, str) and 1 <= len(value) <= 1024, name
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert isinstance(metric["Name"], str) and 1 <= len(metric["Name"]) <= 1024
            assert metric.get("Unit", "None") in UNITS
            value = document[metric["Name"]]  # every metric a member of the root: a number or up to 100
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100 and all(isinstance(v, int | float) for v in values)


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [
        doc for line in output.splitlines() if line.startswith("{") and "_aws" in (doc := json.loads(line))
    ]


def ours(output: str) -> list[dict[str, Any]]:
    return [
        d for d in emf_lines(output) if d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == HEALTH_NAMESPACE
    ]


def metrics(**settings: Any) -> SkillMetrics:
    settings.setdefault("health", "on")  # auto would be off here: not in Lambda
    return SkillMetrics(table_name="t", pseudonym_key=KEY, client=CapturingClient(), **settings)  # type: ignore[arg-type]


def test_each_utterance_is_one_emf_line_by_the_specification(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the sample skill with the recorder
    handler = build_handler(metrics())
    env = Envelopes()
    # When a launch, a failing roll (answered by the exception handler) and a session end arrive
    reply = handler(env.launch(user="u1", session="s1", at_ms=T), None)
    handler(env.intent("RollDiceIntent", user="u1", session="s1", at_ms=T + 1_000, slots={"sides": "lots"},
                       attributes=reply["sessionAttributes"]), None)  # fmt: skip
    handler(env.session_ended("USER_INITIATED", user="u1", session="s1", at_ms=T + 2_000), None)
    # Then two lines (utterances only), each valid EMF, with both dimension sets
    launch, roll = ours(capsys.readouterr().out)
    for document in (launch, roll):
        check_emf(document)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["SkillId", "Stage"], ["SkillId", "Stage", "FunctionVersion"]]
        assert (document["SkillId"], document["Stage"], document["FunctionVersion"]) == (
            env.skill_id,
            "live",
            "-",
        )
        units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
        assert units == {"Utterances": "Count", "FailedUtterances": "Count", "UnhandledUtterances": "Count",
                         "EndpointTime": "Milliseconds"}  # fmt: skip
    assert (launch["FailedUtterances"], launch["UnhandledUtterances"]) == ([0.0], [0.0])
    assert (roll["Utterances"], roll["FailedUtterances"], roll["UnhandledUtterances"]) == (
        [1.0],
        [1.0],
        [1.0],
    )
    assert roll["EndpointTime"][0] > 0


def test_the_function_version_comes_from_lambdas_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "12")
    assert HealthMetrics("live").function_version == "12"


class RollHandler(AbstractRequestHandler):
    """A skill's own handler that publishes its own Powertools metric."""

    def __init__(self, own: Metrics) -> None:
        self.own = own

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("RollDiceIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        self.own.add_metric(name="DiceRolled", unit=MetricUnit.Count, value=1)
        return handler_input.response_builder.speak("You rolled a 4.").ask("Again?").response


def test_the_skills_own_powertools_metrics_are_unaffected(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a skill publishing its own metrics with Powertools (service name from the environment)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "dice-coach")
    own = Metrics(namespace="DiceCoach")
    sb = SkillBuilder()
    sb.add_request_handler(RollHandler(own))
    handler = own.log_metrics(metrics().lambda_handler(sb))
    # When it answers two rolls
    env = Envelopes()
    for n in range(2):
        handler(env.intent("RollDiceIntent", user="u1", session=f"s{n}", at_ms=T + n, new=True), None)
    output = capsys.readouterr().out
    # Then its lines hold its metric and its dimensions only, exactly as without the recorder
    theirs = [d for d in emf_lines(output) if d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DiceCoach"]
    assert len(theirs) == 2
    for document in theirs:
        check_emf(document)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["service"]] and document["service"] == "dice-coach"
        assert [m["Name"] for m in directive["Metrics"]] == ["DiceRolled"]
        assert "Utterances" not in document and "SkillId" not in document
    # And ours carry none of the skill's: no service dimension, our namespace
    mine = ours(output)
    assert len(mine) == 2 and all("service" not in d and "DiceRolled" not in d for d in mine)


def test_a_failing_health_line_never_reaches_the_skill(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: HealthMetrics, event: Any) -> dict[str, Any]:
        raise RuntimeError("no EMF today")

    monkeypatch.setattr(HealthMetrics, "document", broken)
    recorder = metrics()
    handler = build_handler(recorder)
    env = Envelopes()
    for n in range(3):
        reply = handler(env.launch(user="u1", session=f"s{n}", at_ms=T + n), None)
        assert reply["response"]["outputSpeech"]["ssml"].startswith("<speak>Welcome")
    output = capsys.readouterr().out
    assert not ours(output) and output.count("skill health metrics error") == 1  # said once
    assert len(recorder.recorder.writer.transport._client.items) == 3  # type: ignore[attr-defined]


def test_health_metrics_can_be_switched_off_and_are_off_outside_lambda_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    for health in ("off", "auto"):
        build_handler(metrics(health=health))(Envelopes().launch(user="u1", session="s1", at_ms=T), None)
        assert not ours(capsys.readouterr().out), health
    # In Lambda (its stdout is CloudWatch Logs), auto is on
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "dice-coach")
    build_handler(metrics(health="auto"))(Envelopes().launch(user="u1", session="s1", at_ms=T), None)
    assert len(ours(capsys.readouterr().out)) == 1


class BatchClient:
    """Answers BatchWriteItem as DynamoDB does when every item was written."""

    def __init__(self) -> None:
        self.items = 0

    def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.items += sum(len(v) for v in kwargs["RequestItems"].values())
        return {"UnprocessedItems": {}}


def test_every_write_path_tells_the_observer_and_a_failing_one_stops_no_write() -> None:
    # The Lambda extension writes with put_by, a web service's background delivery with put_batch
    import time

    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.model import Event
    from alexa_skill_metrics.storage.writer import EventWriter

    seen: list[str] = []
    client = BatchClient()
    writer = EventWriter(Settings(table_name="t"), client)  # type: ignore[arg-type]
    writer.observer = lambda event: seen.append(event.request_id)
    events = [Event(skill_id="amzn1.ask.skill.1", request_id=f"r{n}", request_type="LaunchRequest",
                    timestamp_ms=T, received_ms=T) for n in range(3)]  # fmt: skip
    writer.put_batch(events)
    assert seen == ["r0", "r1", "r2"] and client.items == 3

    def broken(event: Event) -> None:
        raise RuntimeError("observer down")

    writer.observer = broken
    assert writer.put_batch(events[:1]) == 1 and client.items == 4
    writer.put_by(events[0], time.monotonic() + 0.2)  # no put_item on this client: dropped, not raised
