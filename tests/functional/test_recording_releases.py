"""Every event knows its release: the Lambda function version and alias, or the developer's label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.config import ENV_RELEASE, Settings
from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.recording.classify import STAMP_KEY
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill.app import build_handler
from sample_skill.envelopes import Envelopes
from tests.conftest import KEY, TABLE, table_items

T = 1_767_607_200_000
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:dice-skill"


@dataclass
class Context:
    """The two attributes of Lambda's context object the recorder reads."""

    function_version: str
    invoked_function_arn: str
    aws_request_id: str = "lambda-request-1"


def recorded(client: Any) -> list[Any]:
    return sorted((item_to_event(item) for item in table_items(client)), key=lambda e: e.timestamp_ms)


def test_function_version_and_alias_name_the_release(dynamodb: Any) -> None:
    # Given the sample skill invoked through alias "live", served by version 7 and then by version 8
    handler = build_handler(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb))
    env = Envelopes()
    reply = handler(env.launch(user="u1", session="s1", at_ms=T), Context("7", f"{ARN}:live"))
    assert reply["sessionAttributes"][STAMP_KEY]["r"] == "7"  # the session remembers who started it
    handler(
        env.intent("AMAZON.HelpIntent", user="u1", session="s1", at_ms=T + 5_000,
                   attributes=reply["sessionAttributes"]),
        Context("8", f"{ARN}:live"),
    )  # fmt: skip
    handler(env.launch(user="u2", session="s2", at_ms=T + 9_000), Context("$LATEST", ARN))
    # When the events are read back
    launch, help_, unqualified = recorded(dynamodb)
    # Then each names the version that served it, the alias it came through, and its session's release
    assert (launch.release, launch.alias, launch.session_release, launch.session_release_key) == (
        "7", "live", None, "7"
    )  # fmt: skip
    assert (help_.release, help_.alias, help_.session_release) == ("8", "live", "7")
    assert (unqualified.release, unqualified.alias) == ("$LATEST", None)


def test_the_developers_label_wins_over_the_function_version(dynamodb: Any) -> None:
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb, release="git-3f9c2e1")
    handler = build_handler(metrics)
    handler(Envelopes().launch(user="u1", session="s1", at_ms=T), Context("7", f"{ARN}:7"))
    (event,) = recorded(dynamodb)
    assert (event.release, event.alias) == ("git-3f9c2e1", None)  # invoked by version number: no alias


def test_without_lambda_or_label_an_event_has_no_release(dynamodb: Any) -> None:
    handler = build_handler(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb))
    handler(Envelopes().launch(user="u1", session="s1", at_ms=T), None)
    (event,) = recorded(dynamodb)
    assert (event.release, event.release_key) == (None, "-")


def test_release_comes_from_the_environment_and_a_bad_one_is_named() -> None:
    env = {"METRICS_TABLE": TABLE, ENV_RELEASE: " v1.4.2 "}
    assert Settings.from_env(env).release == "v1.4.2"
    for bad in ("has space", "a#b", "-", "x" * 25):
        with pytest.raises(ConfigurationError) as raised:
            Settings.from_env({**env, ENV_RELEASE: bad})
        assert raised.value.setting == ENV_RELEASE


def test_a_stamp_edited_on_the_way_carries_no_release(dynamodb: Any) -> None:
    # A web service's client could send anything back in the session attributes
    handler = build_handler(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb))
    env = Envelopes()
    reply = handler(env.launch(user="u1", session="s1", at_ms=T), Context("7", ARN))
    attributes = {STAMP_KEY: {**reply["sessionAttributes"][STAMP_KEY], "r": "#" * 80}}
    handler(env.intent("AMAZON.HelpIntent", user="u1", session="s1", at_ms=T + 1_000, attributes=attributes),
            Context("7", ARN))  # fmt: skip
    _, help_ = recorded(dynamodb)
    assert help_.session_release == help_.session_release_key == "-"
