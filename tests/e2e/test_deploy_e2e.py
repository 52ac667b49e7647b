"""Deploy-time pieces on moto's HTTP server: the infra/ scripts, and the skill as the template sets it up."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from alexa_skill_metrics.recording.pseudonym import Pseudonymizer
from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.table import create_table
from tests.conftest import TABLE, load_event, table_items
from tests.unit.test_events_samples import recorded_calls
from tests.unit.test_template import allowed_actions, load_template, template_environment

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "infra" / script), *args],
        check=False,
        env=env or dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def reset_moto(endpoint: str) -> None:
    """Empty moto's backends: they are process-wide, so every server in this process shares them."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)


@pytest.fixture
def empty_moto(moto_server: str) -> Iterator[str]:
    reset_moto(moto_server)
    yield moto_server
    reset_moto(moto_server)


def test_sample_skill_as_deployed_records_with_the_key_the_infra_script_created(
    empty_moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the table, and the pseudonym key created by the documented script, twice (idempotent)
    template = load_template()
    create_table(boto3.client("dynamodb"), TABLE)
    first, again = run_script("create_pseudonym_key.py"), run_script("create_pseudonym_key.py")
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert "Created SecureString" in first.stdout and "left unchanged" in again.stdout
    # And the skill module loaded in the environment the template gives the function
    for name, value in template_environment(template, "SampleSkillFunction", TABLE).items():
        monkeypatch.setenv(name, value)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]  # an earlier test's SSM client may point elsewhere
    sys.modules.pop("sample_skill.app", None)
    app: Any = importlib.import_module("sample_skill.app")
    try:
        # When Alexa sends a launch
        with recorded_calls() as calls:
            reply = app.lambda_handler(load_event("alexa-launch"), None)
        dropped = app.metrics.recorder.writer.dropped
    finally:
        sys.modules.pop("sample_skill.app", None)
        parameters.clear_caches()  # type: ignore[no-untyped-call]
    # Then the skill answered and one event was written, for the template's default stage
    assert reply["version"] == "1.0" and dropped == 0
    (item,) = table_items(boto3.client("dynamodb"))
    event = item_to_event(item)
    assert (event.request_type, event.stage) == ("LaunchRequest", template["Parameters"]["Stage"]["Default"])
    # And the customer is pseudonymised with the key read from SSM, through the one permitted call
    key = boto3.client("ssm").get_parameter(Name="/alexa-skill-metrics/pseudonym-key", WithDecryption=True)
    assert event.customer == Pseudonymizer(key["Parameter"]["Value"].encode())("amzn1.ask.account.DEMOA1B2C3")
    assert calls == {"ssm:GetParameter"} <= allowed_actions(template, "SampleSkillFunction")
    # And raw events expire after the template's default retention
    days = int(template["Parameters"]["RetentionDays"]["Default"])
    assert int(item["expires_at"]["N"]) == event.received_ms // 1000 + days * 86_400


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_local_moto_script_starts_a_server_that_outlives_it_and_stops_it() -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    try:
        # When the documented start command runs
        started = run_script("local_moto.py", "start", "--port", port, env=env)
        assert started.returncode == 0, started.stderr
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in started.stdout.splitlines()
            if line.startswith("export ")
        )
        # Then the printed environment reaches a working DynamoDB, and status says so
        client = boto3.client(
            "dynamodb",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name=exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        assert create_table(client, "from-the-script") is True
        assert run_script("local_moto.py", "status", "--port", port, env=env).returncode == 0
        # And starting again is harmless
        assert run_script("local_moto.py", "start", "--port", port, env=env).returncode == 0
    finally:
        stopped = run_script("local_moto.py", "stop", "--port", port, env=env)
    # Then stop ends it
    assert stopped.returncode == 0
    assert run_script("local_moto.py", "status", "--port", port, env=env).returncode == 1
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
        pass
