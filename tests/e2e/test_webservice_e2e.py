"""A Flask skill served on loopback HTTP records into moto's DynamoDB server, off its request thread."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.model import Outcome
from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.delivery import BackgroundDelivery
from alexa_skill_metrics.storage.table import create_table
from sample_skill.app import build_skill
from tests.conftest import KEY, TABLE, load_event, table_items
from tests.functional.webservice_compat import ensure_webservice_support_importable

pytestmark = pytest.mark.e2e


@pytest.fixture
def skill_server(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SkillMetrics]]:
    """The sample skill behind flask-ask-sdk on a loopback HTTP server, configured from the environment."""
    ensure_webservice_support_importable()
    from flask import Flask
    from flask_ask_sdk.skill_adapter import SkillAdapter
    from werkzeug.serving import make_server

    create_table(boto3.client("dynamodb"), TABLE)
    monkeypatch.setenv("METRICS_TABLE", TABLE)
    monkeypatch.setenv("METRICS_PSEUDONYM_KEY", KEY)
    app = Flask("dice-coach")
    app.config.update(ASK_SDK_VERIFY_SIGNATURE=False, ASK_SDK_VERIFY_TIMESTAMP=False)
    metrics = SkillMetrics()
    adapter = metrics.webservice(SkillAdapter(skill=build_skill().create(), skill_id="dice", app=app))
    adapter.register(app=app, route="/alexa")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alexa", metrics
    finally:
        server.shutdown()
        delivery = metrics.recorder.delivery
        assert isinstance(delivery, BackgroundDelivery)
        delivery.close(timeout_s=5)


def post(url: str, envelope: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(envelope).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_flask_skill_over_http_records_every_request(skill_server: tuple[str, SkillMetrics]) -> None:
    url, metrics = skill_server
    # When Alexa sends a launch, a roll, a failing score check and the end of the session over HTTP
    names = ["alexa-launch", "alexa-intent-roll-dice", "alexa-intent-check-score-outage"]
    status = [post(url, load_event(name))[0] for name in [*names, "alexa-session-ended-user"]]
    # Then Flask answered each as it would without the recorder (the outage is Flask's 500)
    assert status == [200, 200, 500, 200]
    # And after the background writer has caught up, the four events are in the table
    metrics.recorder.delivery.flush(timeout_s=10)
    events = {
        e.request_type + (e.intent or ""): e
        for e in map(item_to_event, table_items(boto3.client("dynamodb")))
    }
    expected = {"LaunchRequest", "IntentRequestRollDiceIntent", "IntentRequestCheckScoreIntent"}
    assert set(events) == {*expected, "SessionEndedRequest"}
    assert events["IntentRequestCheckScoreIntent"].outcome is Outcome.ESCAPED
    assert events["IntentRequestCheckScoreIntent"].exception == "BackendOutage"
    assert metrics.recorder.writer.dropped == 0
