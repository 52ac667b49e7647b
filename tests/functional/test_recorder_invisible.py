"""The reserved attribute is invisible to the skill's code, and what the skill persists is unchanged.

A probe skill built with ``CustomSkillBuilder`` and the real ``ask-sdk-dynamodb-persistence-adapter``
(against in-process moto) notes what every one of its parts sees in the session attributes and
saves them as persistent attributes, in a handler, in a response interceptor and in an exception
handler. The same conversation runs through it with and without the recorder; each side carries
its own replies' session attributes, as Alexa does.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestHandler,
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name, is_request_type
from ask_sdk_model.response import Response

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.model import Outcome
from alexa_skill_metrics.recording.classify import STAMP_KEY
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill.envelopes import Envelopes
from tests.conftest import KEY, TABLE, table_items

Seen = list[tuple[str, Any]]


def seen_by(handler_input: HandlerInput) -> dict[str, Any]:
    session = handler_input.request_envelope.session
    return {
        "managed": copy.deepcopy(handler_input.attributes_manager.session_attributes),
        "envelope": copy.deepcopy(session.attributes) if session is not None else None,
    }


class Probe:
    """The probe skill's parts; ``seen`` lists what each part saw, in dispatch order."""

    def __init__(self) -> None:
        self.seen: Seen = []

    def note(self, part: str, handler_input: HandlerInput) -> None:
        self.seen.append((part, seen_by(handler_input)))


def persist(handler_input: HandlerInput) -> None:
    """The common adapter pattern: copy the session attributes into persistent attributes and save."""
    manager = handler_input.attributes_manager
    manager.persistent_attributes = dict(manager.session_attributes or {})
    manager.save_persistent_attributes()


def build_probe_skill(probe: Probe, adapter: Any) -> CustomSkillBuilder:
    class CountingInterceptor(AbstractRequestInterceptor):
        def process(self, handler_input: HandlerInput) -> None:
            probe.note("request interceptor", handler_input)
            # A skill that counts its attributes: the recorder's key would change the count
            attributes = handler_input.attributes_manager.session_attributes
            if attributes is not None:
                attributes["seen_keys"] = len(attributes)

    class SavingInterceptor(AbstractResponseInterceptor):
        def process(self, handler_input: HandlerInput, response: Response | None) -> None:
            probe.note("response interceptor", handler_input)
            persist(handler_input)

    class Launch(AbstractRequestHandler):
        def can_handle(self, handler_input: HandlerInput) -> bool:
            return bool(is_request_type("LaunchRequest")(handler_input))

        def handle(self, handler_input: HandlerInput) -> Response:
            probe.note("launch", handler_input)
            handler_input.attributes_manager.session_attributes["turns"] = 1
            return handler_input.response_builder.speak("Hello").ask("Again?").response

    class Turn(AbstractRequestHandler):
        def can_handle(self, handler_input: HandlerInput) -> bool:
            return bool(is_intent_name("TurnIntent")(handler_input))

        def handle(self, handler_input: HandlerInput) -> Response:
            probe.note("turn", handler_input)
            attributes = handler_input.attributes_manager.session_attributes
            attributes["turns"] = int(attributes.get("turns", 0)) + 1
            persist(handler_input)
            return handler_input.response_builder.speak("Turn").ask("Again?").response

    class Replace(AbstractRequestHandler):
        def can_handle(self, handler_input: HandlerInput) -> bool:
            return bool(is_intent_name("ReplaceIntent")(handler_input))

        def handle(self, handler_input: HandlerInput) -> Response:
            probe.note("replace", handler_input)
            handler_input.attributes_manager.session_attributes = {"replaced": True}
            return handler_input.response_builder.speak("Fresh").ask("Again?").response

    class Crash(AbstractRequestHandler):
        def can_handle(self, handler_input: HandlerInput) -> bool:
            return bool(is_intent_name("CrashIntent")(handler_input))

        def handle(self, handler_input: HandlerInput) -> Response:
            probe.note("crash", handler_input)
            raise KeyError("no such thing")

    class Ended(AbstractRequestHandler):
        def can_handle(self, handler_input: HandlerInput) -> bool:
            return bool(is_request_type("SessionEndedRequest")(handler_input))

        def handle(self, handler_input: HandlerInput) -> Response:
            probe.note("ended", handler_input)
            return handler_input.response_builder.response

    class Apology(AbstractExceptionHandler):
        def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
            return True

        def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
            probe.note("exception handler", handler_input)
            persist(handler_input)
            return handler_input.response_builder.speak("Sorry").ask("Again?").response

    sb = CustomSkillBuilder(persistence_adapter=adapter)
    for handler in (Launch(), Turn(), Replace(), Crash(), Ended()):
        sb.add_request_handler(handler)
    sb.add_exception_handler(Apology())
    sb.add_global_request_interceptor(CountingInterceptor())
    sb.add_global_response_interceptor(SavingInterceptor())
    return sb


def conversation() -> list[dict[str, Any]]:
    env = Envelopes()
    t = 1_767_607_200_000
    steps = ["TurnIntent", "CrashIntent", "TurnIntent", "ReplaceIntent", "TurnIntent", "CrashIntent"]
    requests = [env.launch(user="u1", session="s1", at_ms=t)]
    for n, name in enumerate(steps, start=1):
        requests.append(env.intent(name, user="u1", session="s1", at_ms=t + n * 4_000))
    requests.append(env.session_ended("USER_INITIATED", user="u1", session="s1", at_ms=t + 60_000))
    return requests


def adapter_for(table: str) -> Any:
    import boto3
    from ask_sdk_dynamodb.adapter import DynamoDbAdapter

    resource = boto3.resource("dynamodb", region_name="us-east-1")
    return DynamoDbAdapter(table_name=table, create_table=True, dynamodb_resource=resource)


def saved(client: Any, table: str) -> str:
    """The persistence table as DynamoDB returns it, as text: byte-for-byte comparable."""
    return json.dumps(table_items(client, table), sort_keys=True)


def converse(handler: Any, client: Any, table: str) -> tuple[list[Any], list[str]]:
    """Replies (without the reserved key) and the persistence table after every request."""
    attributes: dict[str, Any] = {}
    replies, tables = [], []
    for request in conversation():
        if not request["session"]["new"]:
            request["session"]["attributes"] = copy.deepcopy(attributes)
        reply = handler(request, None)
        attributes = reply.get("sessionAttributes", attributes)
        shown = copy.deepcopy(reply)
        shown.get("sessionAttributes", {}).pop(STAMP_KEY, None)
        replies.append(shown)
        tables.append(saved(client, table))
    return replies, tables


@pytest.mark.parametrize("integration", ["wrapper", "by hand"])
def test_skill_code_sees_and_saves_exactly_what_it_would_without_the_recorder(
    dynamodb: Any, integration: str
) -> None:
    # Given the probe skill with and without the recorder, each with its own persistence table
    bare_probe, recorded_probe = Probe(), Probe()
    bare = build_probe_skill(bare_probe, adapter_for("persist-bare")).lambda_handler()
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    sb = build_probe_skill(recorded_probe, adapter_for("persist-recorded"))
    if integration == "wrapper":
        recorded = metrics.lambda_handler(sb)
    else:  # as README says: request interceptor and exception handler first, response interceptor last
        config = sb.runtime_configuration_builder
        config.global_request_interceptors.insert(0, metrics.request_interceptor)
        config.exception_handlers.insert(0, metrics.exception_handler)
        sb.add_exception_handler(metrics.escape_handler)
        sb.add_global_response_interceptor(metrics.response_interceptor)
        recorded = sb.lambda_handler()
    # When the same conversation goes through both
    bare_replies, bare_tables = converse(bare, dynamodb, "persist-bare")
    recorded_replies, recorded_tables = converse(recorded, dynamodb, "persist-recorded")
    # Then every part of the skill saw the same attributes, and the bare skill never the reserved key
    assert STAMP_KEY not in json.dumps(bare_probe.seen)
    if integration == "wrapper":
        assert recorded_probe.seen == bare_probe.seen
    else:
        # Without the wrapper, an exception handler's reply can be stamped only before it runs:
        # there, and only there, the skill's exception handlers see the key (README)
        for (part, seen), (bare_part, bare_seen) in zip(recorded_probe.seen, bare_probe.seen, strict=True):
            assert part == bare_part
            if part == "exception handler":
                seen["managed"].pop(STAMP_KEY)
            assert seen == bare_seen, part
    # And the replies differ only by the reserved key
    assert recorded_replies == bare_replies
    # And the persistence table holds byte-for-byte the same items after every request (by hand,
    # except right after the exception handler saved, as above)
    crashed = [
        n for n, r in enumerate(conversation()) if r["request"].get("intent", {}).get("name") == "CrashIntent"
    ]
    for n, (recorded_table, bare_table) in enumerate(zip(recorded_tables, bare_tables, strict=True)):
        if integration == "wrapper" or n not in crashed:
            assert recorded_table == bare_table, n
    # And every request was recorded, the session tracked to its end
    events = {e.request_id: e for e in map(item_to_event, table_items(dynamodb))}
    assert len(events) == len(conversation())
    crashes = [e for e in events.values() if e.intent == "CrashIntent"]
    assert [(e.outcome, e.exception) for e in crashes] == [(Outcome.HANDLED, "KeyError")] * 2
    assert all(e.tracked for e in events.values())
    (ended,) = [e for e in events.values() if e.request_type == "SessionEndedRequest"]
    assert ended.last_intent == "CrashIntent"


def test_skill_that_replaces_its_attribute_dict_keeps_its_session_tracked(dynamodb: Any) -> None:
    # Given the probe skill with the recorder, whose ReplaceIntent sets a new attribute dict
    probe = Probe()
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    handler = metrics.lambda_handler(build_probe_skill(probe, adapter_for("persist")))
    env = Envelopes()
    t = 1_767_607_200_000
    launch = handler(env.launch(user="u1", session="s1", at_ms=t), None)
    replaced = handler(
        env.intent(
            "ReplaceIntent", user="u1", session="s1", at_ms=t + 3_000, attributes=launch["sessionAttributes"]
        ),
        None,
    )
    # Then the reply carries the skill's new dict plus the stamp, and the next request is tracked
    assert replaced["sessionAttributes"]["replaced"] is True
    assert replaced["sessionAttributes"][STAMP_KEY]["i"] == "ReplaceIntent"
    handler(
        env.intent(
            "TurnIntent", user="u1", session="s1", at_ms=t + 6_000, attributes=replaced["sessionAttributes"]
        ),
        None,
    )
    events = sorted(map(item_to_event, table_items(dynamodb)), key=lambda e: e.timestamp_ms)
    assert [(e.session_start_ms, e.last_intent) for e in events] == [
        (t, None),
        (t, "LaunchRequest"),
        (t, "ReplaceIntent"),
    ]


def test_envelope_the_sdk_rejects_saves_nothing_and_is_recorded(dynamodb: Any) -> None:
    # Given the probe skill with and without the recorder, and a request type the SDK cannot parse
    from ask_sdk_core.exceptions import SerializationException

    request = Envelopes().launch(user="u1", session="s1", at_ms=1_767_607_200_000)
    request["request"]["type"] = "Alexa.NewRequestTypeFromTheFuture"
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    handlers = {
        "bare": build_probe_skill(Probe(), adapter_for("persist-bare")).lambda_handler(),
        "recorded": metrics.lambda_handler(build_probe_skill(Probe(), adapter_for("persist-recorded"))),
    }
    # When it is sent to both
    errors = {}
    for name, handler in handlers.items():
        with pytest.raises(SerializationException) as raised:
            handler(copy.deepcopy(request), None)
        errors[name] = str(raised.value)
    # Then both raise the same, neither saved anything, and the request is recorded as unparseable
    assert errors["recorded"] == errors["bare"]
    assert saved(dynamodb, "persist-recorded") == saved(dynamodb, "persist-bare") == "[]"
    (event,) = map(item_to_event, table_items(dynamodb))
    assert (event.outcome, event.request_type) == (Outcome.UNPARSEABLE, "Alexa.NewRequestTypeFromTheFuture")


def test_response_interceptor_raising_after_the_recorder_is_a_handled_failure(dynamodb: Any) -> None:
    # Given a skill that adds a response interceptor after the recorder's, which raises
    class Late(AbstractResponseInterceptor):
        def process(self, handler_input: HandlerInput, response: Response | None) -> None:
            raise RuntimeError("late")

    probe = Probe()
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    sb = build_probe_skill(probe, adapter_for("persist"))
    handler = metrics.lambda_handler(sb)
    sb.add_global_response_interceptor(Late())
    # When a launch is answered, then fails in that interceptor, and the exception handler answers
    reply = handler(Envelopes().launch(user="u1", session="s1", at_ms=1_767_607_200_000), None)
    # Then the exception handler saw no reserved key, the reply carries it, and the event is a failure
    (seen,) = [seen for part, seen in probe.seen if part == "exception handler"]
    assert STAMP_KEY not in seen["managed"]
    assert reply["sessionAttributes"][STAMP_KEY]["i"] == "LaunchRequest"
    (event,) = map(item_to_event, table_items(dynamodb))
    assert (event.outcome, event.exception) == (Outcome.HANDLED, "RuntimeError")
