"""The circuit breaker, alone and in the writer: one slow write per cool-down, drops counted, probe closes."""

from __future__ import annotations

from typing import Any

import pytest

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.model import Event, Outcome
from alexa_skill_metrics.storage.breaker import CircuitBreaker
from alexa_skill_metrics.storage.signed_http import DynamoDBError
from alexa_skill_metrics.storage.writer import CIRCUIT_OPEN, DEADLINE_CLOSE, EventWriter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedTransport:
    """Fails with ``error`` while it is set, else answers like DynamoDB; counts the calls."""

    def __init__(self) -> None:
        self.error: DynamoDBError | None = None
        self.calls = 0

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {}


def an_event(n: int = 0) -> Event:
    return Event(
        skill_id="amzn1.ask.skill.test",
        request_id=f"amzn1.echo-api.request.{n}",
        request_type="LaunchRequest",
        timestamp_ms=1_767_607_200_000 + n,
        received_ms=1_767_607_200_000 + n,
        outcome=Outcome.RESPONSE,
    )


@pytest.fixture
def setup() -> tuple[EventWriter, ScriptedTransport, Clock]:
    clock = Clock()
    writer = EventWriter(Settings(table_name="t"), breaker=CircuitBreaker(clock=clock))
    transport = ScriptedTransport()
    writer._transport = transport
    return writer, transport, clock


TIMEOUT = DynamoDBError("ReadTimeoutError", retryable=True)
REFUSED = DynamoDBError("EndpointConnectionError", retryable=True)


def test_cool_down_doubles_up_to_sixty_seconds() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    cool_downs = []
    for _ in range(9):
        cool_downs.append(breaker.failed())
        clock.now += cool_downs[-1]
        assert breaker.allow()  # the probe after each cool-down
    assert cool_downs == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    breaker.succeeded()
    assert not breaker.is_open and breaker.failed() == 1  # a success starts over


def test_a_timeout_costs_one_write_per_cool_down(setup: tuple[EventWriter, ScriptedTransport, Clock]) -> None:
    writer, transport, clock = setup
    # Given DynamoDB that times out
    transport.error = TIMEOUT
    # When 10 events come within the first second
    for n in range(10):
        assert writer.put(an_event(n)) is False
        clock.now += 0.09
    # Then only the first one was tried (its two attempts), the nine others skipped, all ten dropped
    assert transport.calls == 2
    assert writer.dropped == 10 and writer.written == 0
    # When the cool-down is over: one probe, which fails again, and the next cool-down is 2 s
    clock.now = 101.0
    writer.put(an_event(10))
    writer.put(an_event(11))
    assert transport.calls == 4
    clock.now = 102.5
    writer.put(an_event(12))
    assert transport.calls == 4  # still open: 2 s from 101.0
    # When DynamoDB is back and the probe succeeds, the breaker closes and every write goes out
    transport.error = None
    clock.now = 103.0
    assert writer.put(an_event(13)) is True
    assert writer.put(an_event(14)) is True
    assert transport.calls == 6 and writer.written == 2 and writer.dropped == 13


def test_refused_connections_open_it_too(setup: tuple[EventWriter, ScriptedTransport, Clock]) -> None:
    writer, transport, _ = setup
    transport.error = REFUSED
    writer.put(an_event(1))
    writer.put(an_event(2))
    assert transport.calls == 2 and writer.breaker.is_open


@pytest.mark.parametrize(
    ("error", "attempts"),
    [
        (DynamoDBError("ValidationException", retryable=False, status=400), 1),
        (DynamoDBError("ProvisionedThroughputExceededException", retryable=True, status=400), 2),
    ],
)
def test_an_answer_from_dynamodb_does_not_open_it(
    setup: tuple[EventWriter, ScriptedTransport, Clock], error: DynamoDBError, attempts: int
) -> None:
    writer, transport, _ = setup
    transport.error = error
    writer.put(an_event(1))
    writer.put(an_event(2))
    assert not writer.breaker.is_open
    assert transport.calls == 2 * attempts  # both events tried
    assert writer.dropped == 2


def test_skips_are_counted_as_drops_with_their_code(
    setup: tuple[EventWriter, ScriptedTransport, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, transport, _ = setup
    counted: list[str] = []
    warned: list[dict[str, Any]] = []
    monkeypatch.setattr("alexa_skill_metrics.telemetry.count", lambda metric, **_: counted.append(metric))
    monkeypatch.setattr(
        "alexa_skill_metrics.telemetry.warn",
        lambda message, **fields: warned.append({"m": message, **fields}),
    )
    transport.error = TIMEOUT
    for n in range(5):
        writer.put(an_event(n))
    assert counted == ["RecorderDrops"] * 5
    # one warning that writes are paused, one for the event that was tried; the skipped ones are quiet
    assert [w["m"] for w in warned] == ["metrics writes paused", "metrics event dropped"]
    assert warned[0]["cool_down_s"] == 1.0
    assert CIRCUIT_OPEN != DEADLINE_CLOSE


def test_no_attempt_starts_that_could_end_after_the_deadline(
    setup: tuple[EventWriter, ScriptedTransport, Clock],
) -> None:
    import time

    writer, transport, _ = setup
    # Given a deadline closer than one attempt's timeouts (2 x 400 ms)
    assert writer.put(an_event(1), deadline=time.monotonic() + 0.5) is False
    # Then nothing was sent, the event is a drop, and the breaker has no opinion
    assert transport.calls == 0 and writer.dropped == 1 and not writer.breaker.is_open
    assert writer.put(an_event(2), deadline=time.monotonic() + 5) is True


class FlakyTransport(ScriptedTransport):
    """Fails with ``error`` for its first ``failures`` calls (all when ``None``); notes read timeouts."""

    def __init__(self, error: DynamoDBError, failures: int | None) -> None:
        super().__init__()
        self.failures = failures
        self.fail_with = error
        self.read_timeouts: list[float | None] = []

    def call(
        self, operation: str, payload: dict[str, Any], read_timeout_s: float | None = None
    ) -> dict[str, Any]:
        self.read_timeouts.append(read_timeout_s)
        self.error = self.fail_with if self.failures is None or self.calls < self.failures else None
        return super().call(operation, payload)


SERVER_ERROR = DynamoDBError("InternalServerError", retryable=True, status=500)
THROTTLED = DynamoDBError("ProvisionedThroughputExceededException", retryable=True, status=400)


def patient_writer(transport: ScriptedTransport) -> EventWriter:
    writer = EventWriter(Settings(table_name="t"))
    writer._transport = transport
    return writer


def test_after_the_reply_a_slow_dynamodb_is_waited_for_as_long_as_the_deadline_allows() -> None:
    import time

    transport = FlakyTransport(TIMEOUT, failures=0)
    writer = patient_writer(transport)
    # Given 7.9 s left (Alexa's 8 s): the one attempt waits up to 400 ms x 1.5^7 for the answer
    assert writer.put_by(an_event(1), deadline=time.monotonic() + 7.9) is True
    assert transport.read_timeouts == [6.834375]
    # And the wait shrinks with the time left, never past it (400 ms connect + read)
    assert writer.attempt_within(7.9) == 6.834375
    assert writer.attempt_within(1.0) == 0.6
    assert writer.attempt_within(0.79) is None


@pytest.mark.parametrize("error", [TIMEOUT, REFUSED, SERVER_ERROR, THROTTLED])
def test_after_the_reply_failures_are_retried_until_the_write_goes_through(error: DynamoDBError) -> None:
    import time

    transport = FlakyTransport(error, failures=3)
    writer = patient_writer(transport)
    assert writer.put_by(an_event(1), deadline=time.monotonic() + 8) is True
    assert transport.calls == 4 and writer.written == 1 and writer.dropped == 0
    assert not writer.breaker.is_open


@pytest.mark.parametrize(("error", "opens"), [(SERVER_ERROR, True), (REFUSED, True), (THROTTLED, False)])
def test_after_the_reply_failing_until_the_deadline_drops_and_only_a_down_dynamodb_opens_the_breaker(
    error: DynamoDBError, opens: bool
) -> None:
    import time

    transport = FlakyTransport(error, failures=None)
    writer = patient_writer(transport)
    # Given DynamoDB failing for longer than the invocation lives
    started = time.monotonic()
    assert writer.put_by(an_event(1), deadline=started + 1.0) is False
    # Then it was retried, gave up by the deadline and counted the drop
    assert transport.calls >= 2 and time.monotonic() < started + 1.0
    assert writer.dropped == 1
    # And a DynamoDB that errors or refuses opens the breaker (the next write is skipped, counted);
    # a throttling one answered, so it stays closed
    assert writer.breaker.is_open is opens
    calls = transport.calls
    writer.put_by(an_event(2), deadline=time.monotonic() + 1.0)
    assert writer.dropped == 2
    assert (transport.calls == calls) is opens


def test_after_the_reply_a_rejected_write_is_not_retried() -> None:
    import time

    transport = FlakyTransport(
        DynamoDBError("ValidationException", retryable=False, status=400), failures=None
    )
    writer = patient_writer(transport)
    assert writer.put_by(an_event(1), deadline=time.monotonic() + 8) is False
    assert transport.calls == 1 and writer.dropped == 1 and not writer.breaker.is_open


def test_a_server_error_opens_the_breaker_inline_too(
    setup: tuple[EventWriter, ScriptedTransport, Clock],
) -> None:
    writer, transport, _ = setup
    transport.error = SERVER_ERROR
    writer.put(an_event(1))
    assert transport.calls == 2 and writer.breaker.is_open


def test_after_the_reply_no_time_for_an_attempt_builds_nothing() -> None:
    import time

    # Given a cold writer (no transport yet) and less time left than one attempt's timeouts
    writer = EventWriter(Settings(table_name="t"))
    assert writer.put_by(an_event(1), deadline=time.monotonic() + 0.5) is False
    # Then the event is a drop and the transport (boto3's session: slow to build) was not built
    assert writer.dropped == 1 and writer._transport is None and not writer.breaker.is_open
