"""Cold starts: a fresh skill process, its handler built at import, marks its first request only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import boto3
import pytest

from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.table import create_table
from tests.conftest import KEY, REPO, TABLE, table_items

pytestmark = pytest.mark.e2e

# The skill's process: import the sample skill (SkillMetrics and the handler are built at import),
# stay idle as a container between init and its first invoke may, then answer three requests.
SKILL_PROCESS = textwrap.dedent(
    """
    import json, sys, time
    from sample_skill import app
    time.sleep(0.3)
    for name in ("alexa-launch", "alexa-intent-roll-dice", "alexa-session-ended-user"):
        with open(f"{sys.argv[1]}/events/{name}.json") as f:
            app.lambda_handler(json.load(f), None)
    """
)


def test_first_request_of_a_process_is_the_cold_start(moto_server: str) -> None:
    # Given the metrics table on moto's server
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    env = dict(os.environ, PYTHONPATH=str(REPO / "lambda_fn"), METRICS_TABLE=TABLE, METRICS_PSEUDONYM_KEY=KEY)
    # When a fresh process imports the skill and answers three requests
    subprocess.run([sys.executable, "-c", SKILL_PROCESS, str(REPO)], env=env, check=True, timeout=60)
    # Then only its first request is a cold start, with the time since the recorder's import
    events = sorted((item_to_event(i) for i in table_items(client)), key=lambda e: e.timestamp_ms)
    assert [e.request_type for e in events] == ["LaunchRequest", "IntentRequest", "SessionEndedRequest"]
    assert [e.cold_start for e in events] == [True, False, False]
    first = events[0].startup_ms
    assert first is not None and 300 <= first < 10_000
    assert [e.startup_ms for e in events[1:]] == [None, None]
