"""The Releases tab: the releases that served the range, and the candidate against the baseline.

Lays out the releases view's JSON (``reporting.views.releases``); it computes nothing.

Example
-------
>>> view = {"view": "releases", "startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z",
...         "asOf": "2026-01-06T00:00:00Z", "releases": [], "comparison": None,
...         "note": "fewer than two releases served requests in this range"}
>>> tab = releases_tab(view)
>>> tab.title, tab.blocks[0].text
('Releases', 'fewer than two releases served requests in this range')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alexa_skill_metrics.dashboard.charts import COLORS, Trace, category_figure
from alexa_skill_metrics.dashboard.layout import (
    Block,
    Card,
    Chart,
    Note,
    Tab,
    Table,
    View,
    count,
    ms,
    percent,
    ratio,
    tab_for,
    when,
)

RATES = (
    ("failedUtteranceRate", "Failed-utterance rate"),
    ("unhandledRate", "Unhandled rate"),
    ("frictionRate", "Friction rate"),
    ("coldStartShare", "Cold-start share"),
    ("exitRate", "Exit rate at a prompt"),
)
BASELINE_COLOR = "#868E96"


def releases_tab(view: View) -> Tab:
    """Cards for the comparison's verdict, the rates side by side with their intervals, the list."""
    listed = Table(
        id="releases-list",
        title="Releases in the range",
        columns=("Release", "First hour", "Last hour (end)", "Requests", "Share"),
        rows=tuple(
            (
                r["release"],
                when(r["firstSeen"]),
                when(r["lastSeen"]),
                count(r["requests"]),
                percent(r["trafficShare"]),
            )
            for r in view["releases"]
        ),
        numeric=(False, False, False, True, True),
        caption="A release is METRICS_RELEASE's label, else the Lambda function version; - is none recorded.",
    )
    comparison = view.get("comparison")
    if comparison is None:
        note = Note("Comparison", view.get("note") or "No comparison.")
        return tab_for(view, "Releases", [Card("Releases", count(len(view["releases"])))], [note, listed])
    base, cand = comparison["baseline"], comparison["candidate"]
    on = "on the hours both served" if comparison["comparedOn"] == "same hours" else "each over its own hours"
    failed = comparison["failedUtteranceRate"]
    cards = [
        Card(
            f"{cand['release']} against {base['release']}",
            comparison["verdict"],
            (f"Compared {on}: {count(base['hours'])} h and {count(cand['hours'])} h",),
        ),
        Card("Failed-utterance rate", percent(failed["candidate"]), (failed["summary"],)),
        Card(
            "Endpoint p90",
            ms(cand["endpointP90Ms"]),
            (f"{base['release']}: {ms(base['endpointP90Ms'])}",),
        ),
    ]
    blocks: list[Block] = [
        _rates_chart(comparison),
        _prompt_exits_table(comparison),
        _figures_table(comparison),
        listed,
    ]
    return tab_for(view, "Releases", cards, blocks)


def _rates_chart(comparison: Mapping[str, Any]) -> Chart:
    base, cand = comparison["baseline"]["release"], comparison["candidate"]["release"]
    labels = [label for _, label in RATES]
    rates = [comparison[key] for key, _ in RATES]
    table = Table(
        id="releases-rates-values",
        title="Rates",
        columns=("Rate", base, cand, "Difference (95% CI)", "Verdict"),
        rows=tuple(_rate_cells(label, r) for label, r in zip(labels, rates, strict=True)),
        numeric=(False, True, True, True, False),
    )
    return Chart(
        id="releases-rates",
        title=f"Release {cand} against {base}",
        figure=category_figure(
            labels,
            [
                Trace(f"Release {base}", [r["baseline"] for r in rates], BASELINE_COLOR),
                Trace(f"Release {cand}", [r["candidate"] for r in rates], COLORS["friction"]),
            ],
            x_title="Rate",
            kind="percent",
        ),
        caption="Higher is worse for each. The verdict reads the 95% interval of the difference "
        "(Newcombe): worse or better when it excludes 0, too little traffic to tell when it is wide.",
        kind="percent",
        values=table,
        wide=True,
    )


def _prompt_exits_table(comparison: Mapping[str, Any]) -> Table:
    base, cand = comparison["baseline"]["release"], comparison["candidate"]["release"]
    return Table(
        id="releases-prompt-exits",
        title="Exit rate per prompt, largest rise first",
        columns=("Prompt", base, cand, "Difference (95% CI)", "Verdict"),
        rows=tuple(_rate_cells(row["intent"], row["exitRate"]) for row in comparison["promptExitRates"]),
        numeric=(False, True, True, True, False),
        caption="Exits right after the prompt intent's replies / those replies. Each prompt has its own "
        "verdict; only the exit rate of all prompts enters the release's verdict.",
    )


def _rate_cells(label: str, r: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        label,
        f"{percent(r['baseline'])} of {count(r['baselineOf'])}",
        f"{percent(r['candidate'])} of {count(r['candidateOf'])}",
        f"{100 * r['difference']:+.1f} pts ({100 * r['ciLow']:+.1f} to {100 * r['ciHigh']:+.1f})",
        r["verdict"],
    )


def _figures_table(comparison: Mapping[str, Any]) -> Table:
    base, cand = comparison["baseline"], comparison["candidate"]
    rows = [
        ("Customers", count(base["customers"]), count(cand["customers"])),
        ("Utterances", count(base["utterances"]), count(cand["utterances"])),
        ("Sessions started", count(base["sessionsStarted"]), count(cand["sessionsStarted"])),
        ("Utterances per session", ratio(base["utterancesPerSession"]), ratio(cand["utterancesPerSession"])),
        ("Endpoint p50", ms(base["endpointP50Ms"]), ms(cand["endpointP50Ms"])),
        ("Endpoint p90", ms(base["endpointP90Ms"]), ms(cand["endpointP90Ms"])),
        ("Endpoint p99", ms(base["endpointP99Ms"]), ms(cand["endpointP99Ms"])),
    ]
    return Table(
        id="releases-figures",
        title="Figures over the hours compared",
        columns=("Figure", base["release"], cand["release"]),
        rows=tuple(rows),
        numeric=(False, True, True),
    )
