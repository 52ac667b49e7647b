"""The skill, configured only by environment variables, records into DynamoDB over HTTP (moto's server)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import boto3
import pytest

from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.table import create_table
from tests.conftest import KEY, TABLE, load_event, table_items

pytestmark = pytest.mark.e2e


def test_sample_skill_module_records_over_http(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the table on moto's server and the skill's environment as SAM would set it
    client = boto3.client("dynamodb")
    assert client.meta.endpoint_url == moto_server
    create_table(client, TABLE)
    monkeypatch.setenv("METRICS_TABLE", TABLE)
    monkeypatch.setenv("METRICS_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("METRICS_STAGE", "development")
    sys.modules.pop("sample_skill.app", None)
    app: Any = importlib.import_module("sample_skill.app")
    # When Alexa sends a launch, a roll and the end of the session
    for name in ("alexa-launch", "alexa-intent-roll-dice", "alexa-session-ended-user"):
        reply = app.lambda_handler(load_event(name), None)
        assert reply["version"] == "1.0"
    # Then three events are in the table, for the development stage, with pseudonymous customers
    events = sorted((item_to_event(i) for i in table_items(client)), key=lambda e: e.timestamp_ms)
    assert [e.request_type for e in events] == ["LaunchRequest", "IntentRequest", "SessionEndedRequest"]
    assert {e.stage for e in events} == {"development"}
    assert len({e.customer for e in events}) == 1 and events[0].customer is not None
    assert app.metrics.recorder.writer.dropped == 0
    sys.modules.pop("sample_skill.app", None)
