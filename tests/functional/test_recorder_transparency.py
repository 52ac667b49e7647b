"""The recorder is invisible to the customer: same replies, same exceptions, any envelope Alexa sends."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.model import Outcome
from alexa_skill_metrics.recording.classify import STAMP_KEY
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill.app import build_handler
from sample_skill.envelopes import Envelopes
from tests.conftest import EVENTS, KEY, TABLE, shared_fixture_files, table_items


def run(handler: Any, request: dict[str, Any]) -> tuple[str, Any]:
    """The reply as JSON text, or the exception's type and message."""
    try:
        return "reply", json.dumps(handler(copy.deepcopy(request), None), sort_keys=True)
    except Exception as exc:
        return "raised", (type(exc), str(exc))


def without_stamp(result: tuple[str, Any]) -> tuple[str, Any]:
    kind, value = result
    if kind != "reply":
        return result
    reply = json.loads(value)
    reply.get("sessionAttributes", {}).pop(STAMP_KEY, None)
    return kind, json.dumps(reply, sort_keys=True)


def conversation() -> list[dict[str, Any]]:
    """A whole session: launch, a roll, a failed roll, help, fallback, stop; then a second session's end."""
    env = Envelopes()
    t = 1_767_607_200_000
    return [
        env.launch(user="u1", session="a", at_ms=t),
        env.intent("RollDiceIntent", user="u1", session="a", at_ms=t + 5_000, slots={"sides": "12"}),
        env.intent("RollDiceIntent", user="u1", session="a", at_ms=t + 9_000, slots={"sides": "one"}),
        env.intent("AMAZON.HelpIntent", user="u1", session="a", at_ms=t + 12_000),
        env.intent("AMAZON.FallbackIntent", user="u1", session="a", at_ms=t + 15_000),
        env.intent("AMAZON.StopIntent", user="u1", session="a", at_ms=t + 18_000),
        env.launch(user="u2", session="b", at_ms=t + 20_000),
        env.session_ended("EXCEEDED_MAX_REPROMPTS", user="u2", session="b", at_ms=t + 40_000),
    ]


def test_session_replies_are_byte_for_byte_the_same_apart_from_the_stamp(dynamodb: Any) -> None:
    # Given the same skill with and without the recorder, each carrying its own session attributes
    recorded = build_handler(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb))
    bare = build_handler(None)
    attributes: dict[str, dict[str, Any]] = {"recorded": {}, "bare": {}}
    for request in conversation():
        session_id = request["session"]["sessionId"]
        outcomes = {}
        for name, handler in (("recorded", recorded), ("bare", bare)):
            sent = copy.deepcopy(request)
            if not sent["session"]["new"]:
                sent["session"]["attributes"] = attributes[name].get(session_id, {})
            outcomes[name] = run(handler, sent)
            if outcomes[name][0] == "reply":
                attributes[name][session_id] = json.loads(outcomes[name][1]).get("sessionAttributes", {})
        # Then every reply differs only by the recorder's reserved key
        assert without_stamp(outcomes["recorded"]) == outcomes["bare"]
    assert len(table_items(dynamodb)) == len(conversation())


@pytest.mark.parametrize("sample", sorted(p.stem for p in EVENTS.glob("alexa-*.json")))
def test_every_events_sample_behaves_the_same_with_the_recorder(dynamodb: Any, sample: str) -> None:
    request = json.loads((EVENTS / f"{sample}.json").read_text())
    recorded = build_handler(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb))
    assert without_stamp(run(recorded, request)) == without_stamp(run(build_handler(None), request))
    (item,) = table_items(dynamodb)
    assert item_to_event(item).request_type == request["request"]["type"]


def classification(request: dict[str, Any]) -> dict[str, Any]:
    """What METRICS.md says the recorder must make of this envelope."""
    body = request.get("request", {})
    session = request.get("session") or {}
    kind = body.get("type")
    utterance = kind in ("LaunchRequest", "IntentRequest")
    return {
        "request_type": kind,
        "is_utterance": utterance,
        "intent": body.get("intent", {}).get("name") if kind == "IntentRequest" else None,
        "session_id": session.get("sessionId"),
        "starts_session": utterance and session.get("new") is True and "sessionId" in session,
    }


def test_shared_fixtures_are_recorded_and_classified(dynamodb: Any, shared_fixtures: Path) -> None:
    # Given every real envelope other projects wrote (responses are not requests: skipped)
    files = [p for p in shared_fixture_files() if "request" in json.loads(p.read_text(encoding="utf-8-sig"))]
    assert len(files) >= 40
    handler = build_handler(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb))
    bare = build_handler(None)
    for path in files:
        request = json.loads(path.read_text(encoding="utf-8-sig"))
        # When it goes through the skill with and without the recorder
        with_recorder, without = run(handler, request), run(bare, request)
        # Then the caller sees the same reply or the same exception
        assert without_stamp(with_recorder) == without_stamp(without), path.name
        items = table_items(dynamodb)
        assert len(items) == 1, f"{path.name}: expected one event, found {len(items)}"
        event = item_to_event(items[0])
        expected = classification(request)
        assert event.request_type == expected["request_type"], path.name
        assert event.is_utterance == expected["is_utterance"], path.name
        assert event.intent == expected["intent"], path.name
        assert event.session_id == expected["session_id"], path.name
        assert event.starts_session == expected["starts_session"], path.name
        sdk_rejected = without[0] == "raised" and without[1][0] is SerializationException
        assert (event.outcome is Outcome.UNPARSEABLE) == sdk_rejected, path.name
        assert event.customer is None or "amzn1" not in event.customer
        if not event.is_utterance:
            assert event.end_type is None or event.request_type == "SessionEndedRequest", path.name
        # Many fixtures share request ids, which the recorder rightly writes once: start afresh
        dynamodb.delete_item(TableName=TABLE, Key={"pk": items[0]["pk"], "sk": items[0]["sk"]})
