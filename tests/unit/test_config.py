"""Settings: argument, then environment, then default; errors name the setting."""

from __future__ import annotations

import pytest

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.exceptions import ConfigurationError

BASE = {"METRICS_TABLE": "t", "METRICS_PSEUDONYM_KEY": "k" * 16}


def test_defaults() -> None:
    s = Settings.from_env(BASE)
    assert (s.table_name, s.stage, s.retention_days, s.key_parameter) == ("t", "live", 90, None)


def test_arguments_override_environment() -> None:
    s = Settings.from_env({**BASE, "METRICS_STAGE": "development"}, stage="live", table_name="other")
    assert (s.stage, s.table_name) == ("live", "other")


def test_environment_values_are_read() -> None:
    s = Settings.from_env(
        {**BASE, "METRICS_STAGE": "development", "METRICS_RETENTION_DAYS": "30", "METRICS_TIMEOUT_MS": "250"}
    )
    assert (s.stage, s.retention_days, s.timeout_ms) == ("development", 30, 250)


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({}, "METRICS_TABLE"),
        ({**BASE, "METRICS_STAGE": "prod"}, "METRICS_STAGE"),
        ({**BASE, "METRICS_RETENTION_DAYS": "ninety"}, "METRICS_RETENTION_DAYS"),
        ({**BASE, "METRICS_RETENTION_DAYS": "0"}, "METRICS_RETENTION_DAYS"),
        ({**BASE, "METRICS_TIMEOUT_MS": "60000"}, "METRICS_TIMEOUT_MS"),
    ],
)
def test_invalid_settings_name_the_variable(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env(env)
    assert err.value.setting == setting
    assert setting in str(err.value)


@pytest.mark.parametrize(
    ("key", "parameter"),
    [("ssm:/skill/metrics-key", "/skill/metrics-key"), ("/skill/key", "/skill/key"), ("x" * 20, None)],
)
def test_key_may_name_an_ssm_parameter(key: str, parameter: str | None) -> None:
    assert Settings(table_name="t", pseudonym_key=key).key_parameter == parameter


@pytest.mark.parametrize("key", ["", "short"])
def test_recorder_needs_a_usable_key(key: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        Settings(table_name="t", pseudonym_key=key).validated(need_key=True)
    assert err.value.setting == "METRICS_PSEUDONYM_KEY"


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="tabel"):
        Settings.from_env(BASE, tabel="x")
