"""DynamoDB errors, throttling and hangs never change the skill's reply; drops are counted and logged.

The recorder's default transport is real HTTP, so these tests put a small DynamoDB stand-in on a
loopback port (reached through ``AWS_ENDPOINT_URL``, as any endpoint would be) that answers
with the error under test.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.storage.writer import EventWriter
from sample_skill.app import build_handler
from tests.conftest import KEY, TABLE, load_event


class FakeDynamoDB:
    """Answers every request with ``status`` and a DynamoDB error body for ``code``; keeps the requests."""

    def __init__(self) -> None:
        self.status = 200
        self.code = ""
        self.delay_s = 0.0  # before each answer
        self.requests: list[dict[str, Any]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append({"headers": dict(self.headers), "body": json.loads(body)})
                time.sleep(fake.delay_s)
                reply = (
                    b"{}"
                    if fake.status == 200
                    else json.dumps(
                        {"__type": f"com.amazonaws.dynamodb.v20120810#{fake.code}", "message": "injected"}
                    ).encode()
                )
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler


@pytest.fixture
def fake_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDynamoDB]:
    fake = FakeDynamoDB()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield fake
    server.shutdown()
    thread.join()


def answer_launch(metrics: SkillMetrics) -> dict[str, Any]:
    reply: dict[str, Any] = build_handler(metrics)(load_event("alexa-launch"), None)
    return reply


def test_default_transport_sends_one_signed_put_item(fake_dynamodb: FakeDynamoDB) -> None:
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY)
    answer_launch(metrics)
    (request,) = fake_dynamodb.requests
    assert request["headers"]["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert request["body"]["TableName"] == TABLE
    assert request["body"]["ConditionExpression"] == "attribute_not_exists(pk)"
    assert metrics.recorder.writer.written == 1


@pytest.mark.parametrize(
    ("status", "code", "attempts"),
    [
        (400, "ProvisionedThroughputExceededException", 2),
        (400, "ThrottlingException", 2),
        (500, "InternalServerError", 2),
        (503, "ServiceUnavailable", 2),
        (400, "ResourceNotFoundException", 1),
        (400, "AccessDeniedException", 1),
        (400, "ValidationException", 1),
    ],
)
def test_write_errors_leave_the_reply_unchanged_and_are_counted(
    fake_dynamodb: FakeDynamoDB, status: int, code: str, attempts: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a DynamoDB that fails every write with this error
    fake_dynamodb.status, fake_dynamodb.code = status, code
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY)
    # When a request is answered
    reply = answer_launch(metrics)
    # Then the reply is the one the skill gives without the recorder (but for the stamp)
    reply["sessionAttributes"].pop("_skill_metrics")
    assert reply == build_handler(None)(load_event("alexa-launch"), None)
    # And throttling and server errors were tried twice, others once; then dropped, counted, logged
    assert len(fake_dynamodb.requests) == attempts
    assert metrics.recorder.writer.dropped == 1
    out = capsys.readouterr().out
    assert "metrics event dropped" in out and code in out
    assert '"RecorderDrops"' in out  # the EMF metric the drop alarm watches
    assert "amzn1.ask.account" not in out


def test_duplicate_is_not_an_error(fake_dynamodb: FakeDynamoDB) -> None:
    fake_dynamodb.status, fake_dynamodb.code = 400, "ConditionalCheckFailedException"
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY)
    answer_launch(metrics)
    writer = metrics.recorder.writer
    assert (len(fake_dynamodb.requests), writer.duplicates, writer.dropped) == (1, 1, 0)


@pytest.fixture
def silent_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[socket.socket]]:
    """A loopback TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
    yield held
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hanging_endpoint_is_dropped_after_two_attempts(silent_server: list[socket.socket]) -> None:
    # Given DynamoDB reached at a server that never answers
    metrics = SkillMetrics(Settings(table_name=TABLE, pseudonym_key=KEY, timeout_ms=50))
    # When a request is answered, Then the reply still goes out and the event is dropped
    reply = answer_launch(metrics)
    assert reply["response"]["outputSpeech"]
    assert metrics.recorder.writer.dropped == 1
    assert len(silent_server) <= 2  # one connection per attempt at most


def test_writer_connects_nowhere_until_first_write() -> None:
    writer = EventWriter(Settings(table_name=TABLE))
    assert writer._transport is None


def test_a_slow_dynamodb_is_given_up_on_inline_and_waited_for_after_the_reply(
    fake_dynamodb: FakeDynamoDB,
) -> None:
    import time

    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.model import Event
    from alexa_skill_metrics.storage.writer import EventWriter

    # Given DynamoDB answering every call 600 ms late, and the default 400 ms timeouts
    fake_dynamodb.delay_s = 0.6
    writer = EventWriter(Settings(table_name=TABLE))
    event = Event(skill_id="s", request_id="r1", request_type="LaunchRequest", timestamp_ms=1, received_ms=1)
    # When the customer waits (inline): two attempts time out, the event is dropped
    assert writer.put(event) is False
    assert len(fake_dynamodb.requests) == 2 and writer.dropped == 1
    writer.breaker.succeeded()  # the timeouts opened it; this part is about the wait alone
    # When nobody waits (after the reply, 8 s to the deadline): one attempt, waited for
    assert writer.put_by(event, deadline=time.monotonic() + 8) is True
    assert len(fake_dynamodb.requests) == 3 and writer.written == 1
