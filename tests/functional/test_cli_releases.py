"""``skill-metrics releases`` and ``report --release`` over a table holding a rollout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from alexa_skill_metrics.cli import Context, cli
from tests.functional.reporting_fixtures import (
    DAY_MS,
    HOUR_MS,
    SKILL,
    START_MS,
    Deployment,
    aggregate,
    events_of,
    moto_table,
    record,
)

TABLE = "cli-releases"
RANGE = ["--start", "2026-01-05T00:00:00Z", "--end", "2026-01-07T00:00:00Z"]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    items = record(customers=60, days=2, seed=51, rollout_at_ms=START_MS + DAY_MS + 6 * HOUR_MS)
    with moto_table(TABLE) as client:
        aggregate(client, TABLE, items)
        yield Deployment(client, TABLE, events_of(items), now_ms=START_MS + 2 * DAY_MS)


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, obj=Context({"METRICS_TABLE": TABLE}))


def test_releases_prints_the_list_and_the_comparison(deployment: Deployment) -> None:
    result = invoke(["releases", "--skill-id", SKILL, *RANGE])
    assert result.exit_code == 0, result.output
    assert "2 against 1 (on the hours both served" in result.output
    for label in ("failed-utterance rate", "friction rate", "endpoint p90", "utterances per session"):
        assert label in result.output
    assert "(95% CI " in result.output
    assert result.output.strip().splitlines()[-1].startswith("verdict: ")


def test_releases_json_is_the_api_body(deployment: Deployment) -> None:
    as_json = json.loads(
        invoke(["releases", "--skill-id", SKILL, *RANGE, "--json", "--candidate", "2"]).output
    )
    expected = deployment.stored().releases(
        SKILL, {"startTime": RANGE[1], "endTime": RANGE[3], "stage": "live", "candidate": "2"}
    )
    as_json.pop("asOf"), expected.pop("asOf")
    assert as_json == expected
    assert [r["release"] for r in as_json["releases"]] == ["1", "2"]


def test_a_bad_release_name_is_named(deployment: Deployment) -> None:
    result = invoke(["releases", "--skill-id", SKILL, *RANGE, "--candidate", "a#b"])
    assert result.exit_code != 0 and "candidate" in result.output


def test_report_takes_a_release_filter(deployment: Deployment) -> None:
    result = invoke(["report", "utterances", "--skill-id", SKILL, *RANGE, "--release", "2", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    end_ms = START_MS + 2 * DAY_MS
    served = sum(e.is_utterance and e.release == "2" and e.timestamp_ms < end_ms for e in deployment.events)
    assert body["release"] == "2" and body["totals"]["utterances"] == served
    retention = invoke(["report", "retention", "--skill-id", SKILL, "--release", "2"])
    assert retention.exit_code == 2 and "cannot filter retention" in retention.output
