"""skill-metrics end to end over moto's server: record, aggregate, report, dashboard."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alexa_skill_metrics.cli import Context, cli
from sample_skill.envelopes import DEMO_SKILL_ID
from sample_skill.traffic import Simulation
from tests.conftest import KEY, TABLE

pytestmark = pytest.mark.e2e
START, END = "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z"
START_MS = 1_767_571_200_000


def run(args: list[str]) -> Any:
    result = CliRunner().invoke(cli, args, obj=Context.from_environ({"METRICS_TABLE": TABLE}))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture
def recorded(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Two days of simulated traffic recorded by the sample skill into moto's server."""
    run(["create-table"])
    monkeypatch.setenv("METRICS_TABLE", TABLE)
    monkeypatch.setenv("METRICS_PSEUDONYM_KEY", KEY)
    sys.modules.pop("sample_skill.app", None)
    app: Any = importlib.import_module("sample_skill.app")
    stats = Simulation(customers=25, days=2, seed=3, start_ms=START_MS).run(app.lambda_handler)
    sys.modules.pop("sample_skill.app", None)
    return stats.requests


def report_json(name: str, *extra: str) -> dict[str, Any]:
    args = ["report", name, "--skill-id", DEMO_SKILL_ID, "--start", START, "--end", END, "--json", *extra]
    body: dict[str, Any] = json.loads(run(args).stdout)  # progress goes to stderr
    return body


def test_aggregate_then_reports_match_the_recomputation(recorded: int) -> None:
    # Given recorded traffic, When the stream is drained through the aggregator
    out = run(["aggregate"]).output
    assert f"{recorded} events" in out
    # Then every view from rollups equals the recomputation from raw events (exact below 1,000 customers)
    for view in ("overview", "customers", "sessions", "utterances", "intents"):
        stored, recomputed = (
            report_json(view, "--period", "P1D"),
            report_json(view, "--period", "P1D", "--recompute"),
        )
        for body in (stored, recomputed):
            body.pop("asOf")
        assert _without_latency(stored) == _without_latency(recomputed), view
    # And an SMAPI metric reports the utterances the simulation sent, in SMAPI's shape
    metric = report_json("totalUtterances", "--period", "SINGLE")
    assert set(metric) == {"metric", "timestamps", "values", "nextToken"}
    assert metric["values"][0] == report_json("utterances", "--period", "P1D")["totals"]["utterances"] > 0
    # And draining again changes nothing
    run(["aggregate"])
    assert report_json("totalUtterances", "--period", "SINGLE") == metric


def test_dashboard_and_tables(recorded: int, tmp_path: Path) -> None:
    run(["aggregate"])
    page = tmp_path / "metrics.html"
    out = run(["dashboard", "--skill-id", DEMO_SKILL_ID, "--start", START, "--end", END, "--out", str(page)])
    assert str(page) in out.output
    html = page.read_text()
    assert "<script src=" not in html and DEMO_SKILL_ID in html
    tables = run(["report", "sessions", "--skill-id", DEMO_SKILL_ID, "--start", START, "--end", END]).output
    assert "Sessions" in tables and "dropOff" in tables


def test_bad_report_parameters_exit_2_naming_the_parameter(moto_server: str) -> None:
    run(["create-table"])
    result = CliRunner().invoke(
        cli,
        ["report", "overview", "--skill-id", "not-a-skill", "--start", START, "--end", END],
        obj=Context.from_environ({"METRICS_TABLE": TABLE}),
    )
    # Rejected by the option's type, before any call, naming the option and the expected form
    assert result.exit_code == 2
    assert "--skill-id" in result.output and "not an Alexa skill id" in result.output


def _without_latency(value: Any) -> Any:
    """Latency percentiles: the sketch's are approximate, the recomputation's exact; the rest is equal."""
    if isinstance(value, dict):
        return {k: _without_latency(v) for k, v in value.items() if k != "latencyMs"}
    if isinstance(value, list):
        return [_without_latency(v) for v in value]
    return value
