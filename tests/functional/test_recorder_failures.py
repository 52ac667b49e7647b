"""DynamoDB errors, throttling and hangs never change the skill's reply; drops are counted and logged."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.storage.writer import EventWriter, recorder_client
from sample_skill.app import build_handler
from tests.conftest import KEY, TABLE, load_event


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def failing_client(settings: Settings, status: int, code: str) -> tuple[Any, list[int]]:
    """The recorder's own client, with every HTTP attempt answered by ``status``/``code``."""
    client = recorder_client(settings)
    attempts: list[int] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        attempts.append(1)
        body = f'{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}'.encode()
        return AWSResponse(request.url, status, {"x-amzn-errortype": code}, _Raw(body))  # type: ignore[arg-type]

    client.meta.events.register("before-send.dynamodb.PutItem", answer)
    return client, attempts


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ProvisionedThroughputExceededException"),
        (400, "ThrottlingException"),
        (500, "InternalServerError"),
        (400, "ResourceNotFoundException"),
        (400, "AccessDeniedException"),
    ],
)
def test_write_errors_leave_the_reply_unchanged_and_are_counted(
    status: int, code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a recorder whose every write fails
    settings = Settings(table_name=TABLE, pseudonym_key=KEY)
    client, attempts = failing_client(settings, status, code)
    metrics = SkillMetrics(settings, client=client)
    # When a request is answered
    reply = build_handler(metrics)(load_event("alexa-launch"), None)
    # Then the reply is the one the skill gives without the recorder (but for the stamp)
    bare = build_handler(None)(load_event("alexa-launch"), None)
    reply["sessionAttributes"].pop("_skill_metrics")
    assert reply == bare
    # And the write was tried at most twice, then dropped, counted and logged without customer data
    assert 1 <= len(attempts) <= 2
    assert metrics.recorder.writer.dropped == 1
    out = capsys.readouterr().out
    assert "metrics event dropped" in out and code in out
    assert '"RecorderDrops"' in out  # the EMF metric the drop alarm watches
    assert "amzn1.ask.account" not in out


def test_retryable_errors_are_tried_exactly_twice() -> None:
    settings = Settings(table_name=TABLE, pseudonym_key=KEY)
    client, attempts = failing_client(settings, 400, "ThrottlingException")
    metrics = SkillMetrics(settings, client=client)
    build_handler(metrics)(load_event("alexa-launch"), None)
    assert len(attempts) == 2


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hanging_endpoint_is_dropped_not_waited_for(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB reached through AWS_ENDPOINT_URL at a server that never answers
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_server)
    settings = Settings(table_name=TABLE, pseudonym_key=KEY, timeout_ms=50)
    metrics = SkillMetrics(settings)
    # When a request is answered, Then the reply still goes out and the event is dropped
    reply = build_handler(metrics)(load_event("alexa-launch"), None)
    assert reply["response"]["outputSpeech"]
    assert metrics.recorder.writer.dropped == 1


def test_recorder_client_is_bounded() -> None:
    client = recorder_client(Settings(table_name=TABLE, timeout_ms=300))
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.3, 0.3)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_writer_builds_no_client_until_first_write() -> None:
    writer = EventWriter(Settings(table_name=TABLE))
    assert writer._client is None
