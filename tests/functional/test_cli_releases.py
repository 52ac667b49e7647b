"""``skill-metrics releases`` and ``report --release`` over a table holding a rollout."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
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
    # And the exit rate, over all prompts and per prompt intent, with the API's numbers
    body = json.loads(invoke(["releases", "--skill-id", SKILL, *RANGE, "--json"]).output)["comparison"]
    printed = " ".join(result.output.split())  # lines longer than the terminal fold
    assert body["exitRate"]["summary"] in printed
    per_prompt = [row["exitRate"]["summary"] for row in body["promptExitRates"]]
    assert len(per_prompt) >= 2 and all(line in printed for line in per_prompt[:10])
    assert "per prompt, largest rise first" in printed


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


def test_health_prints_the_windows_whose_alarm_would_have_fired(deployment: Deployment) -> None:
    # Given the rollout's traffic and a low traffic floor (this traffic is thin)
    result = invoke(["health", "--skill-id", SKILL, *RANGE, "--min-utterances", "3"])
    lines = [line for line in result.output.splitlines() if line.startswith("would have fired: ")]
    assert result.exit_code == 1 and lines
    # Then each failed-utterance line is the raw events' rate in that 15-minute window and release
    for line in lines:
        start, alarm = line.split()[3], " ".join(line.split()[4:6])
        if alarm != "failed-utterance rate":
            continue
        who = line.rsplit("(", 1)[1]
        release = None if who.startswith("the skill") else who.split(",")[0].removeprefix("release ")
        bucket = int(datetime.fromisoformat(start).timestamp() * 1000)
        window = [
            e for e in deployment.events
            if e.is_utterance and bucket <= e.timestamp_ms < bucket + 900_000
            and (release is None or e.release == release)
        ]  # fmt: skip
        assert f"{100 * sum(e.failed for e in window) / len(window):.1f}%" in line
        assert f"{len(window):,} utterances" in line
    quiet = invoke(["health", "--skill-id", SKILL, *RANGE, "--failed-rate", "1", "--unhandled-rate", "1"])
    assert quiet.exit_code == 0 and quiet.output.strip() == "no health alarm would have fired"


def test_a_dashboard_longer_than_the_releases_view_compares_its_last_hours(
    deployment: Deployment, tmp_path: Any
) -> None:
    # Given a dashboard of 200 days ending with the rollout (the releases view compares 3,000 hours)
    out = tmp_path / "metrics.html"
    args = ["--start", "2025-06-20T00:00:00Z", "--end", "2026-01-07T00:00:00Z", "--out", str(out)]
    result = invoke(["dashboard", "--skill-id", SKILL, *args])
    # Then it is written, and its Releases tab compares the range's last 125 days, saying so
    assert result.exit_code == 0, result.output
    panel = out.read_text().split('id="panel-releases"')[1].split("</section>")[0]
    assert "2 against 1" in panel
    shown = re.search(r'<p class="range">([^<]*)</p>', panel)
    assert shown is not None and shown.group(1).startswith("2025-09-04 00:00 to 2026-01-07 00:00"), shown
