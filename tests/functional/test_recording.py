"""Recording through the real ASK SDK dispatch of the sample skill, into in-process moto."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections import Counter
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.model import Outcome
from alexa_skill_metrics.pathtree import ROOT, child_of
from alexa_skill_metrics.recording.classify import STAMP_KEY
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill.app import BackendOutage, build_handler
from tests.conftest import KEY, TABLE, load_event, table_items


def api_calls(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return calls


def recorded(client: Any) -> list[Any]:
    return [item_to_event(item) for item in table_items(client)]


@pytest.fixture
def metrics(dynamodb: Any) -> SkillMetrics:
    return SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)


def test_normal_reply_is_one_put_item_and_no_read(dynamodb: Any, metrics: SkillMetrics) -> None:
    # Given the sample skill with the recorder
    handler = build_handler(metrics)
    calls = api_calls(dynamodb)
    # When Alexa sends a launch
    response = handler(load_event("alexa-launch"), None)
    # Then exactly one PutItem was made, nothing was read, and the event says what happened
    assert dict(calls) == {"PutItem": 1}
    (event,) = recorded(dynamodb)
    assert event.request_type == "LaunchRequest"
    assert event.outcome is Outcome.RESPONSE
    assert event.should_end_session is False
    assert event.session_start_ms == event.timestamp_ms
    assert event.handler_ms is not None and event.handler_ms >= 0
    assert response["sessionAttributes"][STAMP_KEY] == {
        "s": event.timestamp_ms,
        "t": event.timestamp_ms,
        "i": "LaunchRequest",
        "p": True,  # the launch reply waits for an answer: a prompt
        "n": child_of(ROOT, "LaunchRequest"),  # the session's path so far: start -> LaunchRequest
    }


def test_exception_answered_by_exception_handler_is_a_failed_utterance(
    dynamodb: Any, metrics: SkillMetrics
) -> None:
    # Given a RollDiceIntent with a number of sides the handler cannot parse
    handler = build_handler(metrics)
    response = handler(load_event("alexa-intent-roll-dice-bad-number"), None)
    # Then the customer got the apology and the event records a handled failure
    assert "trouble" in response["response"]["outputSpeech"]["ssml"]
    (event,) = recorded(dynamodb)
    assert (event.outcome, event.failed, event.intent) == (Outcome.HANDLED, True, "RollDiceIntent")
    assert event.exception == "ValueError"  # noted by the recorder's exception handler, which declined
    # And the stamp still went out, so the session's end can be attributed, marked unhandled
    assert response["sessionAttributes"][STAMP_KEY]["i"] == "RollDiceIntent"
    assert response["sessionAttributes"][STAMP_KEY]["u"] is True
    # The apology asked again (the session stays open): a prompt in friction's sense (METRICS.md),
    # so a customer leaving right after it is a termination
    assert response["response"]["shouldEndSession"] is False
    assert response["sessionAttributes"][STAMP_KEY]["p"] is True


def test_escaping_exception_is_reraised_unchanged_and_recorded(dynamodb: Any, metrics: SkillMetrics) -> None:
    handler = build_handler(metrics)
    with pytest.raises(BackendOutage, match="score service unavailable"):
        handler(load_event("alexa-intent-check-score-outage"), None)
    (event,) = recorded(dynamodb)
    assert (event.outcome, event.exception, event.failed) == (Outcome.ESCAPED, "BackendOutage", True)
    assert event.end_type is None  # not a session end: Alexa follows with SessionEndedRequest ERROR


def test_no_matching_handler_is_recorded_as_handled_failure(dynamodb: Any, metrics: SkillMetrics) -> None:
    # Given an intent the sample skill has no handler for
    request = load_event("alexa-intent-roll-dice")
    request["request"]["intent"]["name"] = "OrderPizzaIntent"
    build_handler(metrics)(request, None)
    (event,) = recorded(dynamodb)
    assert (event.outcome, event.failed, event.intent_key) == (Outcome.HANDLED, True, "OrderPizzaIntent")


def test_envelope_the_sdk_rejects_reaches_caller_as_same_exception(
    dynamodb: Any, metrics: SkillMetrics
) -> None:
    handler = build_handler(metrics)
    bare = build_handler(None)
    request = load_event("alexa-unknown-type")
    with pytest.raises(SerializationException) as bare_error:
        bare(copy.deepcopy(request), None)
    with pytest.raises(SerializationException) as recorded_error:
        handler(request, None)
    assert str(recorded_error.value) == str(bare_error.value)
    (event,) = recorded(dynamodb)
    assert (event.outcome, event.request_type) == (Outcome.UNPARSEABLE, "Alexa.NewRequestTypeFromTheFuture")
    assert event.handler_ms is None


def test_session_ended_request_carries_last_answered_intent(dynamodb: Any, metrics: SkillMetrics) -> None:
    build_handler(metrics)(load_event("alexa-session-ended-no-response"), None)
    (event,) = recorded(dynamodb)
    assert event.end_type is not None and event.end_type.value == "no_response"
    assert (event.last_intent, event.previous_ms) == ("RollDiceIntent", event.session_start_ms + 20_000)


def test_skill_ending_reply_ends_the_session(dynamodb: Any, metrics: SkillMetrics) -> None:
    response = build_handler(metrics)(load_event("alexa-intent-stop"), None)
    assert response["response"]["shouldEndSession"] is True
    (event,) = recorded(dynamodb)
    assert event.end_type is not None and event.end_type.value == "skill_ended"


def test_retried_request_is_written_once(dynamodb: Any, metrics: SkillMetrics) -> None:
    handler = build_handler(metrics)
    request = load_event("alexa-launch")
    handler(copy.deepcopy(request), None)
    handler(copy.deepcopy(request), None)
    assert len(table_items(dynamodb)) == 1
    assert (metrics.recorder.writer.written, metrics.recorder.writer.duplicates) == (1, 1)


def test_interceptors_registered_by_hand_record_normal_replies(dynamodb: Any, metrics: SkillMetrics) -> None:
    # Given a skill that registers the interceptors itself and uses the SDK's own handler
    from sample_skill.app import build_skill

    sb = build_skill()
    sb.add_global_request_interceptor(metrics.request_interceptor)
    sb.add_global_response_interceptor(metrics.response_interceptor)
    response = sb.lambda_handler()(load_event("alexa-intent-roll-dice"), None)
    (event,) = recorded(dynamodb)
    assert (event.outcome, event.intent, event.previous_ms) == (
        Outcome.RESPONSE,
        "RollDiceIntent",
        event.session_start_ms,
    )
    assert response["sessionAttributes"][STAMP_KEY]["i"] == "RollDiceIntent"


def test_missing_configuration_switches_recording_off_and_skill_answers(
    dynamodb: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no METRICS_TABLE in the environment (and no earlier warning in this process)
    from alexa_skill_metrics.recording import skill_metrics

    skill_metrics._SAID_OFF.clear()
    metrics = SkillMetrics(environ={})
    # Then one warning names the setting (an error is for a setting given but wrong)
    logged = capsys.readouterr().out
    assert "METRICS_TABLE" in logged and '"level":"WARNING"' in logged
    # And the skill answers exactly as without the recorder, writing nothing
    with_recorder = build_handler(metrics)(load_event("alexa-launch"), None)
    without = build_handler(None)(load_event("alexa-launch"), None)
    assert with_recorder == without
    assert not metrics.enabled and table_items(dynamodb) == []


def test_unreadable_ssm_key_switches_recording_off_once(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a key parameter that does not exist in SSM
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key="ssm:/missing/key", client=dynamodb)
    handler = build_handler(metrics)
    first = handler(load_event("alexa-launch"), None)
    second = handler(load_event("alexa-intent-one-shot"), None)
    # Then both requests are answered, nothing is written, and the problem is logged once
    assert first["response"]["outputSpeech"] and second["response"]["outputSpeech"]
    assert table_items(dynamodb) == []
    assert capsys.readouterr().out.count("recording is off") == 1


def test_key_is_read_from_ssm_securestring(dynamodb: Any) -> None:
    import boto3

    boto3.client("ssm").put_parameter(Name="/dice/metrics-key", Value="s" * 32, Type="SecureString")
    via_ssm = SkillMetrics(table_name=TABLE, pseudonym_key="ssm:/dice/metrics-key", client=dynamodb)
    build_handler(via_ssm)(load_event("alexa-launch"), None)
    (event,) = recorded(dynamodb)
    from alexa_skill_metrics.recording.pseudonym import Pseudonymizer

    user = load_event("alexa-launch")["context"]["System"]["user"]["userId"]
    assert event.customer == Pseudonymizer(b"s" * 32)(user)


def test_nothing_private_reaches_the_table_or_the_logs(
    dynamodb: Any, metrics: SkillMetrics, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handler = build_handler(metrics)
    samples = [
        "alexa-launch",
        "alexa-intent-roll-dice",
        "alexa-intent-roll-dice-bad-number",
        "alexa-session-ended-error",
        "alexa-skill-enabled",
    ]
    secrets: set[str] = set()
    for name in samples:
        request = load_event(name)
        system = request["context"]["System"]
        secrets |= {system["user"]["userId"], system["device"]["deviceId"], system["apiAccessToken"]}
        for slot in request["request"].get("intent", {}).get("slots", {}).values():
            slot["value"] = f"slot-value-{name}"  # distinctive, so a leak cannot hide among numbers
            secrets.add(slot["value"])
        response = handler(request, None)
        if speech := response.get("response", {}).get("outputSpeech"):
            secrets.add(speech["ssml"])
    with pytest.raises(BackendOutage):
        handler(load_event("alexa-intent-check-score-outage"), None)
    stored = json.dumps(table_items(dynamodb))
    logs = capsys.readouterr().out + caplog.text
    for secret in secrets:
        assert secret not in stored, secret
        assert secret not in logs, secret


def test_events_carry_whether_the_previous_reply_prompted_or_was_unhandled(
    dynamodb: Any, metrics: SkillMetrics
) -> None:
    # Given a session: launch (a prompt), a fallback (a prompt, unhandled), a roll, then the customer
    # leaves
    from sample_skill.envelopes import Envelopes

    handler = build_handler(metrics)
    env = Envelopes()
    t = 1_767_607_200_000
    reply = handler(env.launch(user="u1", session="s1", at_ms=t), None)
    reply = handler(env.intent("AMAZON.FallbackIntent", user="u1", session="s1", at_ms=t + 5_000,
                               attributes=reply["sessionAttributes"]), None)  # fmt: skip
    sides = {"sides": "6"}
    reply = handler(env.intent("RollDiceIntent", user="u1", session="s1", at_ms=t + 9_000, slots=sides,
                               attributes=reply["sessionAttributes"]), None)  # fmt: skip
    handler(env.session_ended("USER_INITIATED", user="u1", session="s1", at_ms=t + 20_000,
                              attributes=reply["sessionAttributes"]), None)  # fmt: skip
    # When the events are read back
    launch, fallback, roll, end = sorted(recorded(dynamodb), key=lambda e: e.timestamp_ms)
    # Then each carries what the reply before it was, and the friction rules follow
    assert (launch.last_prompt, launch.last_unhandled) == (None, None)
    assert (fallback.last_prompt, fallback.last_unhandled, fallback.unhandled) == (True, False, True)
    assert (roll.last_prompt, roll.last_unhandled, roll.is_retry) == (True, True, True)
    assert (end.last_prompt, end.last_unhandled, end.last_intent) == (True, False, "RollDiceIntent")
    # The roll's prompt was neither the welcome nor unhandled: leaving there is an exit, not friction
    assert end.is_exit and not end.is_termination and end.prompt_before == "RollDiceIntent"
    # And leaving right after the fallback's reply, or at the welcome, is a termination
    welcome = handler(env.launch(user="u1", session="s2", at_ms=t + 25_000), None)
    fallback_reply = handler(env.intent("AMAZON.FallbackIntent", user="u1", session="s2", at_ms=t + 30_000,
                                        attributes=welcome["sessionAttributes"]), None)  # fmt: skip
    leave = handler(env.intent("AMAZON.StopIntent", user="u1", session="s2", at_ms=t + 40_000,
                               attributes=fallback_reply["sessionAttributes"]), None)  # fmt: skip
    assert leave["response"]["shouldEndSession"] is True
    at_welcome_reply = handler(env.launch(user="u1", session="s3", at_ms=t + 50_000), None)
    handler(env.session_ended("USER_INITIATED", user="u1", session="s3", at_ms=t + 55_000,
                              attributes=at_welcome_reply["sessionAttributes"]), None)  # fmt: skip
    later = [e for e in recorded(dynamodb) if e.timestamp_ms in (t + 40_000, t + 55_000)]
    assert len(later) == 2 and all(e.is_termination and not e.is_exit for e in later)
    assert sorted(e.prompt_before for e in later) == ["AMAZON.FallbackIntent", "LaunchRequest"]


def test_a_skill_imported_by_its_tests_without_settings_warns_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a skill module with a module-level SkillMetrics(), imported by its tests several times
    # without METRICS_TABLE (the autouse fixture clears it)
    from alexa_skill_metrics.recording import skill_metrics

    skill_metrics._SAID_OFF.clear()
    assert not any(SkillMetrics().enabled for _ in range(3))
    # Then one warning (not an error) says recording is off and how to silence it in tests
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "recording is off" in line]
    assert len(lines) == 1 and lines[0]["level"] == "WARNING"
    assert "METRICS_TABLE" in lines[0]["message"] and "POWERTOOLS_LOG_LEVEL=ERROR" in lines[0]["message"]


def test_slot_statuses_are_recorded_and_no_slot_value_is(
    dynamodb: Any, metrics: SkillMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    # Given rolls whose slots carry distinctive values, resolved, unresolved and not at all
    from sample_skill.envelopes import Envelopes

    handler = build_handler(metrics)
    env = Envelopes()
    t = 1_767_607_200_000
    sent = []
    for n in range(12):
        envelope = env.intent("RollDiceIntent", user="u1", session=f"s{n}", at_ms=t + n, new=True,
                              slots={"sides": "zq7 sides"})  # fmt: skip
        sent.append(envelope["request"]["intent"])
        with caplog.at_level(logging.DEBUG):
            handler(envelope, None)
    # When the table is read back
    events = sorted(recorded(dynamodb), key=lambda e: int(str(e.session_id).rsplit("-s", 1)[1]))
    # Then each event carries the statuses its envelope's slots had
    from alexa_skill_metrics.recording.slots import read_slots

    assert [(e.slots, e.confirmation) for e in events] == [read_slots(intent) for intent in sent]
    assert {code.split(":")[1][0] for e in events for code in (e.slots or "").split()} == {"f", "e"}
    # And no value said or resolved appears anywhere in the table or the logs
    said = {"zq7 sides", "sparkly", "lucky one", "my usual", "RED", "BLUE", "GREEN"}  # said, resolved
    said = {s for s in said if any(s in json.dumps(i) for i in sent)}
    assert said, "the envelopes carried values"
    stored = json.dumps(table_items(dynamodb)) + caplog.text
    assert not [value for value in said if re.search(rf"\b{re.escape(value)}\b", stored, flags=re.IGNORECASE)]
