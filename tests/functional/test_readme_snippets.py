"""The README's examples, run as printed: every block after a ``<!-- readme-test: NAME -->`` marker.

Python blocks are executed against moto's DynamoDB server (the ``moto_server`` fixture: real HTTP,
the recorder's own transport), then driven with the sample Alexa envelopes of ``events/`` the way
Lambda would call them; JSON blocks are parsed and held to what they claim. Examples that continue
an earlier one (its imports, ``LaunchHandler``, ``build_skill``) run after it, in one namespace.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import KEY, load_event, table_items

REPO = Path(__file__).resolve().parents[2]
TABLE = "skill-metrics-readme"
SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
MARKED = re.compile(r"<!-- readme-test: ([\w-]+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
# Examples that continue an earlier one run after it.
CONTINUES = {
    "session-attributes": ("integration",),
    "aliases": ("integration",),
    "local": ("integration", "aliases"),
    "skill-events": ("integration",),
}


def readme_snippets(readme: Path = REPO / "README.md") -> dict[str, tuple[str, str]]:
    """NAME -> (language, code) of every marked block of the README."""
    found: dict[str, tuple[str, str]] = {}
    for name, language, code in MARKED.findall(readme.read_text()):
        assert name not in found, f"two README blocks are marked {name!r}"
        found[name] = (language, code)
    return found


SNIPPETS = readme_snippets()


def run_snippet(name: str) -> dict[str, Any]:
    """Execute the named block (after the ones it continues) in a fresh namespace; return it."""
    namespace: dict[str, Any] = {"__name__": f"readme_{name.replace('-', '_')}"}
    for part in (*CONTINUES.get(name, ()), name):
        language, code = SNIPPETS[part]
        assert language == "python", part
        exec(compile(code, f"README.md[{part}]", "exec"), namespace)
    return namespace


def launch(request_id: str = "readme-launch-1", user_id: str = "amzn1.ask.account.README1") -> dict[str, Any]:
    event = copy.deepcopy(load_event("alexa-launch"))
    event["request"]["requestId"] = request_id
    event["session"]["user"]["userId"] = user_id
    event["context"]["System"]["user"]["userId"] = user_id
    return event


def lambda_context(arn: str = "arn:aws:lambda:us-east-1:123456789012:function:my-skill") -> Any:
    return SimpleNamespace(invoked_function_arn=arn, function_name="my-skill", aws_request_id="lambda-1")


def metric_events(client: Any, table: str = TABLE) -> list[dict[str, Any]]:
    return [item for item in table_items(client, table) if item["pk"]["S"].startswith("EVT#")]


@pytest.fixture
def skill_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A deployed skill's environment, against moto's server with the metrics table created."""
    import boto3

    from alexa_skill_metrics.storage.table import create_table

    monkeypatch.setenv("METRICS_TABLE", TABLE)
    monkeypatch.setenv("METRICS_PSEUDONYM_KEY", KEY)
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    return client


def test_every_marked_block_has_its_test() -> None:
    # test_<name>_example runs the block marked <name> (dashes as underscores)
    tests = {n.removeprefix("test_").removesuffix("_example") for n in globals() if n.endswith("_example")}
    # (shell blocks need a built wheel and a package index: tests/e2e/test_package.py runs them)
    assert {name.replace("-", "_") for name, (language, _) in SNIPPETS.items() if language != "bash"} == tests


def test_integration_example(skill_env: Any) -> None:
    # Given the complete example, When Lambda calls its handler with a launch request
    reply = run_snippet("integration")["lambda_handler"](launch(), lambda_context())
    # Then the skill answers, and one event is recorded under a pseudonym, never the raw user id
    assert "Welcome!" in reply["response"]["outputSpeech"]["ssml"]
    (event,) = metric_events(skill_env)
    assert event["request_type"]["S"] == "LaunchRequest" and event["stage"]["S"] == "live"
    assert "README1" not in json.dumps(event)


def test_persistence_example(skill_env: Any) -> None:
    # Given the CustomSkillBuilder example with the DynamoDB persistence adapter
    handler = run_snippet("persistence")["lambda_handler"]
    # When the same customer launches twice
    replies = [handler(launch(f"readme-launch-{i}"), lambda_context()) for i in (1, 2)]
    # Then the adapter kept its count in the skill's own table, and both requests were recorded
    assert "Launch number 2." in replies[1]["response"]["outputSpeech"]["ssml"]
    (state,) = table_items(skill_env, "dice-coach-state")
    assert state["attributes"]["M"]["launches"] == {"N": "2"}
    assert len(metric_events(skill_env)) == 2


def test_session_attributes_example(skill_env: Any) -> None:
    # Given a handler that replaces the session attributes
    reply = run_snippet("session-attributes")["lambda_handler"](launch(), lambda_context())
    # Then the reply carries the skill's attributes and the recorder's stamp
    assert reply["sessionAttributes"]["score"] == 0
    assert set(reply["sessionAttributes"]) == {"score", "_skill_metrics"}
    # And the session's end, sent with those attributes, is attributed to the session's start
    # (the example has no SessionEndedRequest handler: the SDK's error is re-raised, and recorded)
    from ask_sdk_runtime.exceptions import DispatchException

    end = copy.deepcopy(load_event("alexa-session-ended-user"))
    end["session"] = {**launch()["session"], "new": False, "attributes": reply["sessionAttributes"]}
    with pytest.raises(DispatchException):
        run_snippet("session-attributes")["lambda_handler"](end, lambda_context())
    ended = [e for e in metric_events(skill_env) if e["request_type"]["S"] == "SessionEndedRequest"]
    assert [e["session_start_ms"]["N"] for e in ended] == ["1767607200000"]  # the launch's timestamp


def test_skill_manifest_example(skill_env: Any) -> None:
    language, code = SNIPPETS["skill-manifest"]
    assert language == "json"
    events = json.loads(code)["manifest"]["events"]
    # The manifest subscribes to enablements and names a Lambda endpoint
    assert {"eventName": "SKILL_ENABLED"} in events["subscriptions"]
    assert events["endpoint"]["uri"].startswith("arn:aws:lambda:")
    # And the event Alexa then sends is acknowledged and recorded as an enablement
    reply = run_snippet("skill-events")["lambda_handler"](load_event("alexa-skill-enabled"), lambda_context())
    assert "outputSpeech" not in reply["response"]
    (event,) = metric_events(skill_env)
    assert event["request_type"]["S"] == "AlexaSkillEvent.SkillEnabled"


def test_skill_events_example(skill_env: Any) -> None:
    # Given the complete example with the skill-events handler added
    handler = run_snippet("skill-events")["lambda_handler"]
    # When Alexa sends an enablement and a disablement, Then both are acknowledged and recorded
    for name in ("alexa-skill-enabled", "alexa-skill-disabled"):
        assert handler(load_event(name), lambda_context())["response"] == {}
    types = sorted(e["request_type"]["S"] for e in metric_events(skill_env))
    assert types == ["AlexaSkillEvent.SkillDisabled", "AlexaSkillEvent.SkillEnabled"]


def test_other_region_example(skill_env: Any) -> None:
    import boto3

    from alexa_skill_metrics.storage.table import create_table

    # Given the metrics table in eu-west-1 while the function runs in us-east-1 (AWS_REGION)
    elsewhere = boto3.client("dynamodb", region_name="eu-west-1")
    create_table(elsewhere, TABLE)
    # When the example's recorder records a request of the complete example's skill
    namespace = run_snippet("integration")
    exec(compile(SNIPPETS["other-region"][1], "README.md[other-region]", "exec"), namespace)
    sb = namespace["SkillBuilder"]()
    sb.add_request_handler(namespace["LaunchHandler"]())
    namespace["metrics"].lambda_handler(sb)(launch(), lambda_context())
    # Then the event is in eu-west-1's table and not in the function's region
    assert len(metric_events(elsewhere)) == 1
    assert metric_events(skill_env) == []


def test_aliases_example(skill_env: Any) -> None:
    handler = run_snippet("aliases")["lambda_handler"]
    # When the live alias and the unqualified function are invoked
    handler(
        launch("readme-live"), lambda_context("arn:aws:lambda:us-east-1:123456789012:function:my-skill:live")
    )
    handler(launch("readme-dev"), lambda_context("arn:aws:lambda:us-east-1:123456789012:function:my-skill"))
    # Then each request is recorded once, under the stage of the alias it came through
    stages = sorted(e["stage"]["S"] for e in metric_events(skill_env))
    assert stages == ["development", "live"]


def test_local_example() -> None:
    # The example starts its own embedded DynamoDB and reads the overview it recorded
    overview = run_snippet("local")["overview"]
    assert overview["utterances"]["total"] == 1
    assert overview["sessions"]["total"] == 1


def test_delete_customer_example(skill_env: Any) -> None:
    from alexa_skill_metrics import SkillMetrics
    from alexa_skill_metrics.aggregation.stream import drain_stream
    from alexa_skill_metrics.recording.pseudonym import Pseudonymizer
    from sample_skill.app import build_handler

    # Given two customers recorded and aggregated (first-seen items written)
    handler = build_handler(SkillMetrics())
    handler(launch("readme-a", "amzn1.ask.account.FORGETME"), lambda_context())
    handler(launch("readme-b", "amzn1.ask.account.KEEPME"), lambda_context())
    drain_stream(TABLE, dynamodb=skill_env)
    customers_before = [i for i in table_items(skill_env, TABLE) if i["pk"]["S"].startswith("CUST#")]
    assert len(customers_before) == 2
    # When the example deletes the first one's data
    delete_customer = run_snippet("delete-customer")["delete_customer"]
    deleted = delete_customer("amzn1.ask.account.FORGETME", SKILL, 1_767_571_200_000, 1_767_657_600_000)
    # Then their event and first-seen item are gone, and the other customer's remain
    assert deleted == 1
    (kept,) = metric_events(skill_env)
    assert kept["sk"]["S"].endswith("readme-b")
    (customer,) = [i for i in table_items(skill_env, TABLE) if i["pk"]["S"].startswith("CUST#")]
    assert customer["pk"]["S"].endswith("#" + Pseudonymizer(KEY.encode())("amzn1.ask.account.KEEPME"))
