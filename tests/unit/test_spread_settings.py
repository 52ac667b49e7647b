"""The deployment's spread settings: write shards, read shards and rollup parts, from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.storage import keys

ENV = {"METRICS_TABLE": "t"}


@pytest.fixture(autouse=True)
def fresh_spread() -> Iterator[None]:
    keys.reset_spread()
    yield
    keys.reset_spread()


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env(ENV)
    assert (settings.event_write_shards, settings.shards_read, settings.rollup_parts) == (32, 32, 8)


def test_read_shards_never_fall_below_the_written_ones() -> None:
    env = {**ENV, "METRICS_EVENT_WRITE_SHARDS": "16", "METRICS_EVENT_READ_SHARDS": "64"}
    assert Settings.from_env(env).shards_read == 64
    assert Settings.from_env({**env, "METRICS_EVENT_READ_SHARDS": "8"}).shards_read == 16


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METRICS_EVENT_WRITE_SHARDS", "0"),
        ("METRICS_EVENT_WRITE_SHARDS", "2000"),
        ("METRICS_EVENT_READ_SHARDS", "-1"),
        ("METRICS_ROLLUP_PARTS", "0"),
        ("METRICS_ROLLUP_PARTS", "65"),
        ("METRICS_ROLLUP_PARTS", "eight"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**ENV, name: value})


def test_keys_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 64 write shards and 4 rollup parts in the environment
    monkeypatch.setenv("METRICS_EVENT_WRITE_SHARDS", "64")
    monkeypatch.setenv("METRICS_ROLLUP_PARTS", "4")
    keys.reset_spread()
    # Then the recorder's keys spread over 64 shards and readers list all of them
    shards = {keys.event_shard(f"session-{n}") for n in range(2000)}
    assert shards == set(range(64))
    assert len(keys.event_partitions("amzn1.ask.skill.1", 1_767_607_200_000)) == 64
    assert keys.rollup_parts() == 4


def test_a_bad_environment_falls_back_to_the_defaults_in_the_recorder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The recorder never fails on it (Settings.from_env reports it where settings are resolved)
    monkeypatch.setenv("METRICS_EVENT_WRITE_SHARDS", "zero")
    keys.reset_spread()
    assert keys.event_write_shards() == 32
    assert keys.event_pk("amzn1.ask.skill.1", 1_767_607_200_000, "amzn1.echo-api.request.1").endswith("#26")


def test_the_recorder_writes_over_the_shards_its_settings_name(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alexa_skill_metrics import SkillMetrics
    from sample_skill.app import build_handler
    from sample_skill.envelopes import Envelopes
    from tests.conftest import KEY, TABLE, table_items

    def shards_written(metrics: SkillMetrics) -> set[str]:
        handler, envelopes = build_handler(metrics), Envelopes()
        for n in range(60):
            handler(envelopes.launch(user=f"u{n}", session=f"s{n}", at_ms=1_767_607_200_000 + n), None)
        return {item["pk"]["S"].rsplit("#", 1)[1] for item in table_items(dynamodb)}

    # Given SkillMetrics told to write over 2 shards in code, Then sixty sessions land in those two
    assert shards_written(SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb,
                                       event_write_shards=2)) == {"0", "1"}  # fmt: skip
    # And Settings built in code follow the environment's, the shards the deployment's readers query
    monkeypatch.setenv("METRICS_EVENT_WRITE_SHARDS", "3")
    assert Settings(table_name=TABLE).event_write_shards == 3
    assert shards_written(SkillMetrics(Settings(table_name=TABLE, pseudonym_key=KEY), client=dynamodb)) == {
        "0",
        "1",
        "2",
    }
