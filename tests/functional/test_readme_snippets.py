"""The README's and the docs' examples, run as printed: every block after a ``<!-- readme-test: NAME -->``
(README) or ``<!-- docs-test: NAME -->`` (``docs/**/*.md``) marker.

Python blocks are executed against moto's DynamoDB server (the ``moto_server`` fixture: real HTTP,
the recorder's own transport), then driven with the sample Alexa envelopes of ``events/`` the way
Lambda would call them; JSON blocks are parsed and held to what they claim. Examples that continue
an earlier one (its imports, ``LaunchHandler``, ``build_skill``) run after it, in one namespace.
Every other fenced block says why it is not run (``<!-- docs-not-run: why -->``): a block with
neither marker fails here, so no example goes untested by accident.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import KEY, load_event, table_items

REPO = Path(__file__).resolve().parents[2]
TABLE = "skill-metrics-readme"
SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
# A marker, then the fenced block right after it (at the marker's indentation, e.g. in a list item)
MARKED = re.compile(
    r"^(?P<indent> *)<!-- (?:readme|docs)-test: (?P<name>[\w-]+) -->\n(?P=indent)```(?P<language>\w+)\n"
    r"(?P<code>.*?)\n(?P=indent)```",
    re.DOTALL | re.MULTILINE,
)
FENCE = re.compile(r"^ *```")
NOT_RUN = re.compile(r"^ *<!-- docs-not-run: \S.* -->$")
RUN = re.compile(r"^ *<!-- (?:readme|docs)-test: [\w-]+ -->$")
# Examples that continue an earlier one run after it.
CONTINUES = {
    "session-attributes": ("integration",),
    "aliases": ("integration",),
    "local": ("integration",),
    "skill-events": ("integration",),
}
# Placeholders a reader replaces, and what the tests put there
PLACEHOLDERS = {"amzn1.ask.skill.<uuid>": SKILL}


def documents() -> list[Path]:
    """The README and every page of the documentation site."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def readme_snippets(paths: list[Path] | None = None) -> dict[str, tuple[str, str]]:
    """NAME -> (language, code) of every marked block of the README and the docs."""
    found: dict[str, tuple[str, str]] = {}
    for path in paths or documents():
        for match in MARKED.finditer(path.read_text()):
            name = match["name"]
            assert name not in found, f"two blocks are marked {name!r} ({path.relative_to(REPO)})"
            found[name] = (match["language"], textwrap.dedent(match["code"]))
    return found


SNIPPETS = readme_snippets()


def run_snippet(name: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute the named block (after the ones it continues) in a fresh namespace; return it."""
    namespace = {"__name__": f"readme_{name.replace('-', '_')}", **(namespace or {})}
    for part in (*CONTINUES.get(name, ()), name):
        language, code = SNIPPETS[part]
        assert language == "python", part
        for placeholder, value in PLACEHOLDERS.items():
            code = code.replace(placeholder, value)
        exec(compile(code, f"docs[{part}]", "exec"), namespace)
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


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_block_is_run_or_says_why_not(path: Path) -> None:
    # Every fenced block of the README and the docs is marked: run by a test here, or not run, and why
    lines = path.read_text().splitlines()
    inside, unmarked = False, []
    for number, line in enumerate(lines):
        if not FENCE.match(line):
            continue
        if not inside:
            before = lines[number - 1] if number else ""
            if not (RUN.match(before) or NOT_RUN.match(before)):
                unmarked.append(f"{path.relative_to(REPO)}:{number + 1}")
        inside = not inside
    assert unmarked == [], "blocks with neither <!-- docs-test: NAME --> nor <!-- docs-not-run: why -->"
    # And Python and JSON are always run: only shell sessions may need what a test cannot have
    not_run = [lines[i + 1] for i, line in enumerate(lines[:-1]) if NOT_RUN.match(line)]
    assert not [fence for fence in not_run if fence.strip() in ("```python", "```json")]


def test_the_set_up_commands_are_the_ones_ci_runs() -> None:
    # The README's two commands, and the demo page's, are one block: the test command is .ci/run's
    ci = (REPO / ".ci" / "run").read_text()
    (test_command,) = re.findall(r'^TEST_COMMAND="(.*)"$', ci, re.MULTILINE)
    for name in ("readme-setup", "setup-commands"):
        language, code = SNIPPETS[name]
        assert language == "bash"
        demo, tests = (line.split("#")[0].strip() for line in code.splitlines())
        assert demo == "python -m pip install -e '.[cli]' && python -m alexa_skill_metrics demo"
        assert tests == test_command
        assert shlex.split(tests)[-3:] == ["python", "-m", "pytest"]


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
    exec(compile(SNIPPETS["other-region"][1], "docs[other-region]", "exec"), namespace)
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


def test_slot_values_example(skill_env: Any) -> None:
    # The opt-in, in its two forms: the type read from the envelope, or declared
    namespace = run_snippet("slot-values")
    assert namespace["metrics"].settings.slot_values == (("OrderIntent", "dish", None),)
    assert namespace["declared"].settings.slot_values == (("OrderIntent", "dish", "DishType"),)
    assert namespace["metrics"].recorder.enabled


def test_delete_customer_example(skill_env: Any) -> None:
    from alexa_skill_metrics import SkillMetrics
    from alexa_skill_metrics.aggregation.stream import drain_stream
    from alexa_skill_metrics.recording.pseudonym import Pseudonymizer
    from sample_skill.app import build_handler

    # Given two customers recorded and aggregated (first-seen items written), the first also saying
    # a colour no value matched in the opted-in colour slot (a value index copy)
    handler = build_handler(SkillMetrics(slot_values={"RollDiceIntent": ["colour"]}))
    handler(launch("readme-a", "amzn1.ask.account.FORGETME"), lambda_context())
    handler(launch("readme-b", "amzn1.ask.account.KEEPME"), lambda_context())
    roll = copy.deepcopy(launch("readme-c", "amzn1.ask.account.FORGETME"))
    authority = f"amzn1.er-authority.echo-sdk.{SKILL}.DiceColour"
    colour = {"name": "colour", "value": "zqforget me", "resolutions": {"resolutionsPerAuthority": [
        {"authority": authority, "status": {"code": "ER_SUCCESS_NO_MATCH"}}]}}  # fmt: skip
    intent = {"name": "RollDiceIntent", "slots": {"colour": colour}}
    roll["request"] = {**roll["request"], "type": "IntentRequest", "intent": intent}
    handler(roll, lambda_context())
    drain_stream(TABLE, dynamodb=skill_env)
    customers_before = [i for i in table_items(skill_env, TABLE) if i["pk"]["S"].startswith("CUST#")]
    assert len(customers_before) == 2
    assert [i for i in table_items(skill_env, TABLE) if i["pk"]["S"].startswith("UVAL#")]
    # When the example deletes the first one's data
    delete_customer = run_snippet("delete-customer")["delete_customer"]
    deleted = delete_customer("amzn1.ask.account.FORGETME", SKILL, 1_767_571_200_000, 1_767_657_600_000)
    # Then their events, first-seen item and value copy are gone, and the other customer's remain
    assert deleted == 2
    assert "zqforget" not in json.dumps(table_items(skill_env, TABLE), default=repr)
    (kept,) = metric_events(skill_env)
    assert kept["sk"]["S"].endswith("readme-b")
    (customer,) = [i for i in table_items(skill_env, TABLE) if i["pk"]["S"].startswith("CUST#")]
    assert customer["pk"]["S"].endswith("#" + Pseudonymizer(KEY.encode())("amzn1.ask.account.KEEPME"))


def test_readme_recorder_example(skill_env: Any) -> None:
    # Given the README's dozen lines, When Lambda calls the handler with a launch request
    reply = run_snippet("readme-recorder")["lambda_handler"](launch(), lambda_context())
    # Then the skill answers and the request is recorded
    assert "Welcome!" in reply["response"]["outputSpeech"]["ssml"]
    (event,) = metric_events(skill_env)
    assert event["request_type"]["S"] == "LaunchRequest"


def test_add_recorder_example(skill_env: Any) -> None:
    from ask_sdk_runtime.exceptions import DispatchException

    # Given the guide's skeleton (no handler of its own yet), When a launch comes in
    handler = run_snippet("add-recorder")["lambda_handler"]
    # Then the SDK's "no handler" error is re-raised unchanged, and the request is still recorded
    with pytest.raises(DispatchException):
        handler(launch(), lambda_context())
    (event,) = metric_events(skill_env)
    assert event["request_type"]["S"] == "LaunchRequest"


def skill_builder_with_launch() -> Any:
    """The complete example's ``LaunchHandler`` in a new skill builder, for fragments that take ``sb``."""
    namespace = run_snippet("integration")
    sb = namespace["SkillBuilder"]()
    sb.add_request_handler(namespace["LaunchHandler"]())
    return sb


def test_by_hand_example(skill_env: Any) -> None:
    from alexa_skill_metrics import SkillMetrics

    # Given the recorder's parts registered by hand, in the guide's order
    sb = skill_builder_with_launch()
    run_snippet("by-hand", {"sb": sb, "metrics": SkillMetrics()})
    # When the skill's own handler answers a launch
    reply = sb.lambda_handler()(launch(), lambda_context())
    # Then the reply is the skill's, stamped, and the request is recorded once
    assert "Welcome!" in reply["response"]["outputSpeech"]["ssml"]
    assert "_skill_metrics" in reply["sessionAttributes"]
    assert len(metric_events(skill_env)) == 1


def test_three_lines_example(skill_env: Any) -> None:
    # Given an existing skill's builder, When the deploy guide's three lines build its handler
    handler = run_snippet("three-lines", {"sb": skill_builder_with_launch()})["lambda_handler"]
    reply = handler(launch(), lambda_context())
    # Then the skill answers as before, and the request is recorded
    assert "Welcome!" in reply["response"]["outputSpeech"]["ssml"]
    assert len(metric_events(skill_env)) == 1


def test_iam_policy_example() -> None:
    language, code = SNIPPETS["iam-policy"]
    assert language == "json"
    statements = json.loads(code)["Statement"]
    # Exactly the write to the table and the read of the key, nothing else
    assert [(s["Effect"], s["Action"]) for s in statements] == [
        ("Allow", "dynamodb:PutItem"),
        ("Allow", "ssm:GetParameter"),
    ]
    assert statements[1]["Resource"].endswith(":parameter/alexa-skill-metrics/pseudonym-key")


def test_webservice_example(skill_env: Any) -> None:
    from tests.functional.webservice_compat import ensure_webservice_support_importable

    ensure_webservice_support_importable()
    from django.urls import path
    from flask import Flask

    # Given a Flask app with verification off (a test), and what the example names but does not build
    app = Flask("readme-webservice")
    app.config["ASK_SDK_VERIFY_SIGNATURE"] = False
    app.config["ASK_SDK_VERIFY_TIMESTAMP"] = False
    namespace = run_snippet(
        "webservice", {"sb": skill_builder_with_launch(), "SKILL_ID": SKILL, "app": app, "path": path}
    )
    # When Flask serves a launch, Then the skill answers and the event is written off the request thread
    answer = app.test_client().post("/", data=json.dumps(launch()), content_type="application/json")
    assert answer.status_code == 200 and "Welcome!" in answer.get_data(as_text=True)
    namespace["metrics"].recorder.delivery.flush(5)
    assert len(metric_events(skill_env)) == 1
    # And the other two integrations are built: the web-service handler and Django's route
    assert callable(namespace["handler"].verify_request_and_dispatch)
    (route,) = namespace["urlpatterns"]
    assert str(route.pattern) == "alexa" and callable(route.callback)


def v2_reporter() -> Any:
    from alexa_skill_metrics.reporting import EventList, RecomputedRollups, Reporter

    return Reporter(RecomputedRollups(EventList([])), clock=lambda: 1_768_176_000_000)


def test_v2_body_example() -> None:
    from alexa_skill_metrics.reporting import MetricsV2Request

    # Given the guide's v2 body, When the reporting code answers it
    language, body = SNIPPETS["v2-body"]
    assert language == "json"
    answer = v2_reporter().metrics_v2(MetricsV2Request.from_body(SKILL, body))
    # Then each query has its result, in Amazon's shape: a week of days, grouped by intent, and weeks
    utterances, latency = answer["results"]
    assert (utterances["id"], utterances["label"], latency["id"], latency["stat"]) == (
        "u",
        "Utterances",
        "p90",
        "p90",
    )
    assert answer["paginationContext"]["nextToken"] is None


def test_metrics_client_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from alexa_skill_metrics.reporting import metrics_client
    from alexa_skill_metrics.reporting.api import build_app, http_event

    # Given both clients answered by the reporting API in process (no stack, no Amazon, no token)
    app = build_app(v2_reporter())
    calls: list[str] = []

    class InProcess:
        endpoint = "https://api.example"

        def send(
            self, method: str, url: str, body: str | None = None, *, accept: str = ""
        ) -> tuple[int, bytes]:
            calls.append(method)
            route, _, query = url.removeprefix(self.endpoint).partition("?")
            from urllib.parse import parse_qsl

            answer = app.resolve(http_event(route, dict(parse_qsl(query)), method, body), None)  # type: ignore[arg-type]
            return answer["statusCode"], answer["body"].encode()

    monkeypatch.setattr(
        metrics_client.MetricsClient, "for_stack", classmethod(lambda cls, url: cls(InProcess()))
    )
    monkeypatch.setattr(
        metrics_client.MetricsClient, "for_amazon", classmethod(lambda cls, tok: cls(InProcess()))
    )
    monkeypatch.setattr(metrics_client, "ask_cli_token", lambda: "Atza|token")
    # When the example runs, Then it read v2 pages and a v1 metric through the client's call shape
    run_snippet("metrics-client")
    assert calls == ["POST", "GET"]
    assert capsys.readouterr().out.startswith("[")
