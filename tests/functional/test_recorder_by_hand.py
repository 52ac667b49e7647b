"""Interceptors and exception handlers registered by hand, without the wrapper, across failure paths.

Without the wrapper nothing sees a dispatch end when an exception handler answers (the ASK SDK
runs no response interceptors then) or when an exception escapes; these tests drive the sample
skill's real dispatch through ``sb.lambda_handler()`` over whole sessions.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from ask_sdk_core.skill_builder import SkillBuilder

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.model import Event, Outcome
from alexa_skill_metrics.recording.classify import STAMP_KEY
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill import app
from sample_skill.envelopes import Envelopes
from tests.conftest import KEY, TABLE, table_items

T = 1_767_607_200_000


def sample_handlers() -> list[Any]:
    return [
        app.LaunchHandler(),
        app.RollDiceHandler(),
        app.CheckScoreHandler(),
        app.HelpHandler(),
        app.FallbackHandler(),
        app.StopHandler(),
        app.SessionEndedHandler(),
    ]


def by_hand(metrics: SkillMetrics, exception_handlers: bool) -> Any:
    """The sample skill with the recorder registered as README's by-hand integration says."""
    sb = SkillBuilder()
    sb.add_global_request_interceptor(metrics.request_interceptor)
    if exception_handlers:
        sb.add_exception_handler(metrics.exception_handler)
    for handler in sample_handlers():
        sb.add_request_handler(handler)
    sb.add_exception_handler(app.ApologyExceptionHandler())
    if exception_handlers:
        sb.add_exception_handler(metrics.escape_handler)
    sb.add_global_response_interceptor(metrics.response_interceptor)
    return sb.lambda_handler()


def events(client: Any) -> dict[str, Event]:
    return {e.request_id: e for e in map(item_to_event, table_items(client))}


def session(handler: Any, steps: list[tuple[str, dict[str, str]]], env: Envelopes | None = None) -> list[str]:
    """Launch, then each intent with the previous reply's attributes; returns the request ids sent."""
    env = env or Envelopes()
    request = env.launch(user="u1", session="s1", at_ms=T)
    sent = [request["request"]["requestId"]]
    attributes = handler(request, None)["sessionAttributes"]
    for n, (name, slots) in enumerate(steps, start=1):
        request = env.intent(
            name, user="u1", session="s1", at_ms=T + n * 5_000, slots=slots, attributes=attributes
        )
        sent.append(request["request"]["requestId"])
        with contextlib.suppress(app.BackendOutage):  # escaped: Alexa keeps the last reply's attributes
            attributes = handler(request, None)["sessionAttributes"]
    return sent


BAD_ROLL = ("RollDiceIntent", {"sides": "one"})
ROLL = ("RollDiceIntent", {"sides": "6"})


def test_request_after_an_exception_handler_reply_is_recorded_as_itself(dynamodb: Any) -> None:
    # Given only the two interceptors registered by hand (no recorder exception handlers)
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    handler = by_hand(metrics, exception_handlers=False)
    # When an exception handler answers a roll, and a good roll follows
    launch, bad, good = session(handler, [BAD_ROLL, ROLL])
    # Then both rolls are recorded, each as itself
    recorded = events(dynamodb)
    assert set(recorded) == {launch, bad, good}
    assert recorded[bad].outcome is Outcome.HANDLED and recorded[bad].failed
    assert (recorded[good].outcome, recorded[good].intent) == (Outcome.RESPONSE, "RollDiceIntent")
    assert recorded[good].timestamp_ms == T + 10_000


def test_exception_handlers_by_hand_record_class_and_escapes_at_once(dynamodb: Any) -> None:
    # Given the interceptors and both recorder exception handlers registered by hand
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    handler = by_hand(metrics, exception_handlers=True)
    # When a roll fails (answered), then the score backend fails (escapes)
    launch, bad, outage = session(handler, [BAD_ROLL, ("CheckScoreIntent", {})])
    # Then both are stored at once, without waiting for a later request, with their classes
    recorded = events(dynamodb)
    assert set(recorded) == {launch, bad, outage}
    assert (recorded[bad].outcome, recorded[bad].exception) == (Outcome.HANDLED, "ValueError")
    assert (recorded[outage].outcome, recorded[outage].exception) == (Outcome.ESCAPED, "BackendOutage")
    assert recorded[bad].handler_ms is not None and recorded[bad].handler_ms >= 0
    # And the exception handler's reply carried the stamp, so the session stays tracked
    assert (recorded[outage].session_start_ms, recorded[outage].last_intent) == (T, "RollDiceIntent")
    assert recorded[outage].previous_ms == T + 5_000


def test_escape_without_the_escape_handler_is_recorded_with_the_next_request(dynamodb: Any) -> None:
    # Given the skill without its catch-all: no exception handler answers the backend outage
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    sb = SkillBuilder()
    sb.add_global_request_interceptor(metrics.request_interceptor)
    sb.add_exception_handler(metrics.exception_handler)
    for request_handler in sample_handlers():
        sb.add_request_handler(request_handler)
    sb.add_global_response_interceptor(metrics.response_interceptor)
    handler = sb.lambda_handler()
    # When the outage escapes (re-raised unchanged), then another request comes
    launch, outage, good = session(handler, [("CheckScoreIntent", {}), ROLL])
    # Then nothing is lost: the escaped request is recorded as a failure of its own, with its class
    # (without the escape handler, the recorder cannot tell it from an answered one)
    recorded = events(dynamodb)
    assert set(recorded) == {launch, outage, good}
    assert recorded[outage].failed and recorded[outage].exception == "BackendOutage"
    assert recorded[good].outcome is Outcome.RESPONSE


def test_recorder_exception_handler_changes_nothing_when_no_handler_answers(dynamodb: Any) -> None:
    # Given a skill with no exception handler of its own, with and without the recorder's
    def build(metrics: SkillMetrics | None) -> Any:
        sb = SkillBuilder()
        for request_handler in sample_handlers():
            sb.add_request_handler(request_handler)
        return sb.lambda_handler() if metrics is None else metrics.lambda_handler(sb)

    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    env = Envelopes()
    request = env.intent("RollDiceIntent", user="u1", session="s1", at_ms=T, slots={"sides": "one"}, new=True)
    # When the handler raises, the ASK SDK finds no handler and re-raises the same exception
    with pytest.raises(ValueError) as bare:
        build(None)(dict(request), None)
    with pytest.raises(ValueError) as recorded:
        build(metrics)(dict(request), None)
    assert str(recorded.value) == str(bare.value)
    (event,) = events(dynamodb).values()
    assert (event.outcome, event.exception) == (Outcome.ESCAPED, "ValueError")


def test_exception_handler_reply_to_the_last_request_is_recorded_at_once(dynamodb: Any) -> None:
    # Given the by-hand skill, which has no handler for CanFulfillIntentRequest (its catch-all answers)
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    reply = by_hand(metrics, exception_handlers=True)(
        Envelopes().can_fulfill("RollDiceIntent", user="u1", at_ms=T), None
    )
    assert STAMP_KEY not in (reply.get("sessionAttributes") or {})
    # Then it is stored before the handler returns, though no later request comes
    (event,) = events(dynamodb).values()
    assert (event.request_type, event.outcome, event.exception) == (
        "CanFulfillIntentRequest",
        Outcome.HANDLED,
        "DispatchException",
    )


def test_request_whose_handler_input_stays_alive_is_recorded_with_the_next_request(dynamodb: Any) -> None:
    # Given a by-hand skill whose exception handler keeps every handler input (so its end is not seen)
    kept: list[Any] = []

    class Keeping(app.ApologyExceptionHandler):
        def handle(self, handler_input: Any, exception: Exception) -> Any:
            kept.append(handler_input)
            return super().handle(handler_input, exception)

    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    sb = SkillBuilder()
    sb.add_global_request_interceptor(metrics.request_interceptor)
    for handler in sample_handlers():
        sb.add_request_handler(handler)
    sb.add_exception_handler(Keeping())
    sb.add_global_response_interceptor(metrics.response_interceptor)
    handler = sb.lambda_handler()
    # When a roll is answered by the exception handler, it is not stored yet
    env = Envelopes()
    launch, bad = session(handler, [BAD_ROLL], env)
    assert set(events(dynamodb)) == {launch}
    # Then the next request records it as itself first, and is recorded as itself
    launch2, good = session(handler, [ROLL], env)
    recorded = events(dynamodb)
    assert set(recorded) == {launch, bad, launch2, good}
    assert (recorded[bad].outcome, recorded[good].outcome) == (Outcome.HANDLED, Outcome.RESPONSE)
    assert len(kept) == 1


def test_first_request_by_hand_is_the_cold_start(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a process that has handled no request yet (the counter is per process)
    import itertools

    from alexa_skill_metrics.recording import recorder

    monkeypatch.setattr(recorder, "_requests", itertools.count())
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    # When the by-hand skill answers a session whose first reply comes from the exception handler
    env = Envelopes()
    launch, bad, good = session(by_hand(metrics, exception_handlers=True), [BAD_ROLL, ROLL], env)
    # Then only the first request is the cold start
    recorded = events(dynamodb)
    assert [recorded[r].cold_start for r in (launch, bad, good)] == [True, False, False]
    startup = recorded[launch].startup_ms
    assert startup is not None and startup > 0
    assert recorded[bad].startup_ms is None
