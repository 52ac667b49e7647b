"""Terminal layout: tables fit the width (split columns, then vertical records); numbers stay whole."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from alexa_skill_metrics.cli.console import display, print_report

INTENTS: dict[str, Any] = {
    "view": "intents",
    "skillId": "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce",
    "stage": "live",
    "period": "P1D",
    "startTime": "2026-01-05T00:00:00Z",
    "endTime": "2026-01-12T00:00:00Z",
    "totals": {"utterances": 1234567, "failed": 109, "uniqueCustomers": 4722},
    "fallbackRate": 0.0699,
    "intents": [
        {"intent": "AMAZON.FallbackIntent", "uniqueCustomers": 4722, "utterances": 1234567, "failed": 109,
         "share": 0.4406, "failedShare": 0.6667, "failureRate": 0.0001,
         "latencyMs": {"p50": 0.08, "p90": 12.5, "p99": 2556.125}},
        {"intent": "RollDiceIntent", "uniqueCustomers": 9, "utterances": 10, "failed": 0, "share": 0.0,
         "failedShare": 0.0, "failureRate": 0.0, "latencyMs": {"p50": None, "p90": None, "p99": None}},
    ],
}  # fmt: skip


def render(body: dict[str, Any], width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    print_report(console, body)
    return str(console.file.getvalue()).splitlines()  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [30, 45, 80, 200])
def test_every_width_fits_and_keeps_numbers_whole(width: int) -> None:
    lines = render(INTENTS, width)
    assert max(len(line.rstrip()) for line in lines) <= width
    for shown in ("1,234,567", "4,722", "44.06%", "66.67%", "0.01%", "2,556.12 ms", "12.50 ms", "6.99%"):
        assert any(shown in line for line in lines), (width, shown)


def test_wide_tables_split_and_repeat_their_first_column() -> None:
    lines = render(INTENTS, 80)
    assert any(line.startswith("intents (1/") for line in lines)
    assert sum("AMAZON.FallbackIntent" in line for line in lines) >= 2


def test_narrow_terminals_get_vertical_records() -> None:
    lines = render(INTENTS, 30)
    assert "intents 1" in lines and "intents 2" in lines


def test_one_rounding_for_terminal_and_dashboard() -> None:
    from alexa_skill_metrics.formatting import ms, percent, ratio

    assert display("fallbackRate", 0.06994) == percent(0.06994)
    assert display("perSession", 2.979166) == ratio(2.979166)
    assert display("latencyMs.p99", 2556.125) == ms(2556.125)
    assert display("utterances", 1234567) == "1,234,567" and display("p50", None) == "\N{EN DASH}"


def test_endpoint_time_columns_carry_their_unit_like_latency() -> None:
    # Given the utterances view's totals, flattened as the tables show them
    assert display("totals.endpointMs.p90", 412.0) == display("totals.latencyMs.p90", 412.0) == "412.00 ms"
