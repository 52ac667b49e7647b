"""Which delivery ``SkillMetrics`` picks, and the extension's registration, against the in-process emulator.

The full lifecycle under the real runtime client is in ``tests/lambda_runtime``; these check the
choice itself: post-response only in Lambda, during init, and not when configured inline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.recording.lambda_extension import ExtensionDelivery
from alexa_skill_metrics.storage.delivery import InlineDelivery
from sample_skill.app import build_skill
from tests.conftest import KEY, TABLE
from tests.lambda_runtime.emulator import LambdaEmulator


@pytest.fixture
def emulator() -> Iterator[LambdaEmulator]:
    with LambdaEmulator() as emulator:
        yield emulator


def lambda_environ(emulator: LambdaEmulator, **extra: str) -> dict[str, str]:
    return {
        "METRICS_TABLE": TABLE,
        "METRICS_PSEUDONYM_KEY": KEY,
        "AWS_LAMBDA_RUNTIME_API": emulator.address,
        **extra,
    }


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"level"')]


def test_in_lambda_during_init_the_handler_registers_an_extension(emulator: LambdaEmulator) -> None:
    metrics = SkillMetrics(environ=lambda_environ(emulator))
    metrics.lambda_handler(build_skill())
    assert isinstance(metrics.recorder.delivery, ExtensionDelivery) and metrics.recorder.delivery.serving
    (name,) = emulator.extensions.values()
    assert name.startswith("alexa-skill-metrics-")
    # A second handler from the same SkillMetrics registers nothing more
    metrics.lambda_handler(build_skill())
    assert len(emulator.extensions) == 1


def test_registration_refused_writes_inline_and_says_so_once(
    emulator: LambdaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.phase = "ready"  # init is over: Lambda refuses extensions now
    metrics = SkillMetrics(environ=lambda_environ(emulator))
    metrics.lambda_handler(build_skill())
    metrics.lambda_handler(build_skill())
    delivery = metrics.recorder.delivery
    assert isinstance(delivery, ExtensionDelivery) and not delivery.serving
    assert emulator.extensions == {} and len(emulator.refused) == 1
    (line,) = log_lines(capsys)
    assert line["level"] == "WARNING" and "registration failed" in line["message"] and "403" in line["reason"]


def test_inline_when_configured_so_even_in_lambda(
    emulator: LambdaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = SkillMetrics(environ=lambda_environ(emulator, METRICS_DELIVERY="inline"))
    metrics.lambda_handler(build_skill())
    assert isinstance(metrics.recorder.delivery, InlineDelivery)
    assert emulator.extensions == {} and emulator.refused == []
    (line,) = log_lines(capsys)
    assert line["reason"] == "METRICS_DELIVERY=inline"


def test_outside_lambda_inline_and_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = SkillMetrics(environ={"METRICS_TABLE": TABLE, "METRICS_PSEUDONYM_KEY": KEY})
    metrics.lambda_handler(build_skill())
    metrics.lambda_handler(build_skill())
    assert isinstance(metrics.recorder.delivery, InlineDelivery)
    (line,) = log_lines(capsys)
    assert line["level"] == "INFO" and "AWS_LAMBDA_RUNTIME_API" in line["reason"]


def test_an_unknown_delivery_switches_recording_off_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = SkillMetrics(
        environ={"METRICS_TABLE": TABLE, "METRICS_PSEUDONYM_KEY": KEY, "METRICS_DELIVERY": "later"}
    )
    assert not metrics.enabled
    (line,) = log_lines(capsys)
    assert line["level"] == "ERROR" and line["setting"] == "METRICS_DELIVERY"
