"""``skill-metrics releases`` (the releases of a range, two compared) and ``skill-metrics health``.

The body is the releases view's (``reporting.views.releases``); this module only lays it out.

Example
-------
>>> import io
>>> from rich.console import Console
>>> console = Console(width=100, file=io.StringIO())
>>> print_releases(console, {"releases": [], "comparison": None, "note": "fewer than two releases"})
>>> "fewer than two releases" in console.file.getvalue()
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from alexa_skill_metrics.cli.support import SKILL_ID, TIME, URL
from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.formatting import NONE, count, ms, percent, ratio

RATES = (
    ("failedUtteranceRate", "failed-utterance rate"),
    ("unhandledRate", "unhandled rate"),
    ("frictionRate", "friction rate"),
    ("coldStartShare", "cold-start share"),
    ("exitRate", "exit rate at a prompt"),
)
PROMPTS_SHOWN = 10
FIGURES = (
    ("customers", "customers", count),
    ("utterances", "utterances", count),
    ("utterancesPerSession", "utterances per session", ratio),
    ("endpointP50Ms", "endpoint p50", ms),
    ("endpointP90Ms", "endpoint p90", ms),
    ("endpointP99Ms", "endpoint p99", ms),
)


def print_releases(console: Console, body: Mapping[str, Any]) -> None:
    """The releases list, then the comparison's figures and rates with their intervals and verdicts."""
    listed = Table(title="Releases", title_justify="left", box=None)
    for column in ("release", "first seen", "last seen", "requests", "share"):
        listed.add_column(column, justify="right" if column in ("requests", "share") else "left")
    for row in body["releases"]:
        listed.add_row(row["release"], row["firstSeen"], row["lastSeen"], count(row["requests"]),
                       percent(row["trafficShare"]))  # fmt: skip
    if body["releases"]:
        console.print(listed)
    comparison = body.get("comparison")
    if comparison is None:
        console.print(body.get("note") or "no comparison")
        return
    base, cand = comparison["baseline"], comparison["candidate"]
    on = "on the hours both served" if comparison["comparedOn"] == "same hours" else "each over its own hours"
    table = Table(
        title=f"{cand['release']} against {base['release']} ({on}: {count(base['hours'])} h and "
        f"{count(cand['hours'])} h)",
        title_justify="left",
        box=None,
    )
    for column in ("figure", base["release"], cand["release"], "difference"):
        table.add_column(column, justify="left" if column == "figure" else "right", no_wrap=True)
    for key, label, shown in FIGURES:
        before, after = base[key], cand[key]
        difference = None if before is None or after is None else after - before
        table.add_row(label, _or_none(shown, before), _or_none(shown, after), _or_none(shown, difference))
    console.print(table)
    # One line per rate (the API's summary: verdict, both rates, difference and its 95% interval):
    # a table of six columns would not fit 80 of them.
    for key, _ in RATES:
        console.print(comparison[key]["summary"], overflow="fold", highlight=False)
    prompts = comparison["promptExitRates"]
    if prompts:
        console.print("per prompt, largest rise first (not in the verdict):", highlight=False)
    for row in prompts[:PROMPTS_SHOWN]:
        console.print(f"  {row['exitRate']['summary']}", overflow="fold", highlight=False)
    if len(prompts) > PROMPTS_SHOWN:
        console.print(f"  and {len(prompts) - PROMPTS_SHOWN} more (--json lists every one)", highlight=False)
    console.print(f"verdict: {comparison['verdict']}", highlight=False)


def _or_none(shown: Any, value: Any) -> str:
    return NONE if value is None else str(shown(value))


@click.command("releases")
@click.option("--skill-id", required=True, type=SKILL_ID, help="amzn1.ask.skill.<uuid>")
@click.option("--start", "start_time", required=True, type=TIME, help="ISO 8601, e.g. 2026-01-05T00:00:00Z")
@click.option("--end", "end_time", required=True, type=TIME, help="ISO 8601, exclusive")
@click.option("--baseline", help="The release compared against [default: the one seen before the candidate]")
@click.option("--candidate", help="The release judged [default: the one seen first most recently]")
@click.option(
    "--stage", type=click.Choice(STAGES), help="live or development [default: METRICS_STAGE, else live]"
)
@click.option("--locale", help="e.g. en-US [default: all locales]")
@click.option("--endpoint", type=URL, help="A deployed reporting API URL; requests are signed with SigV4.")
@click.option("--recompute", is_flag=True, help="Compute from raw events instead of rollups.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON body instead of tables.")
@click.option("--table", help="Table name [default: METRICS_TABLE]; not used with --endpoint.")
@click.pass_obj
def releases_command(
    context: Any,
    skill_id: str,
    start_time: str,
    end_time: str,
    baseline: str | None,
    candidate: str | None,
    stage: str | None,
    locale: str | None,
    endpoint: str | None,
    recompute: bool,
    as_json: bool,
    table: str | None,
) -> None:
    """List the releases that served a range and compare two (METRICS.md, Releases).

    Rates come with the 95% interval of their difference and a verdict: worse, better, no
    evidence of a change, or too little traffic to tell. Where both releases served in the same
    hours (a weighted alias, a canary), only those hours count for either.
    """
    import json

    from alexa_skill_metrics.reporting.client import fetch_report

    if endpoint is not None and recompute:
        raise click.UsageError("--recompute reads the table; it cannot go with --endpoint")
    params = {"startTime": start_time, "endTime": end_time, "stage": context.stage(stage), "locale": locale,
              "baseline": baseline, "candidate": candidate}  # fmt: skip
    table_name = None if endpoint else context.settings(table_name=table).table_name
    body = fetch_report(
        "releases", skill_id, params, table_name=table_name, endpoint=endpoint, recompute=recompute
    )
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        print_releases(Console(), body)


@click.command("health")
@click.option("--skill-id", required=True, type=SKILL_ID, help="amzn1.ask.skill.<uuid>")
@click.option("--start", "start_time", required=True, type=TIME, help="ISO 8601, e.g. 2026-01-05T00:00:00Z")
@click.option("--end", "end_time", required=True, type=TIME, help="ISO 8601, exclusive")
@click.option(
    "--stage", type=click.Choice(STAGES), help="live or development [default: METRICS_STAGE, else live]"
)
@click.option("--failed-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="FailedUtteranceRateThreshold")  # fmt: skip
@click.option("--unhandled-rate", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="UnhandledRateThreshold")  # fmt: skip
@click.option("--endpoint-p90-ms", type=click.FloatRange(1, 8000), default=2000.0, show_default=True,
              help="EndpointP90ThresholdMs")  # fmt: skip
@click.option("--min-utterances", type=click.IntRange(1), default=10, show_default=True,
              help="HealthAlarmMinUtterances")  # fmt: skip
@click.option("--recompute", is_flag=True, help="Compute from raw events instead of rollups.")
@click.option("--table", help="Table name [default: METRICS_TABLE].")
@click.pass_obj
def health_command(
    context: Any,
    skill_id: str,
    start_time: str,
    end_time: str,
    stage: str | None,
    failed_rate: float,
    unhandled_rate: float,
    endpoint_p90_ms: float,
    min_utterances: int,
    recompute: bool,
    table: str | None,
) -> None:
    """Which of the template's health alarms would have fired, and when, over recorded data.

    The failed-utterance rate, unhandled rate and endpoint p90 alarms (thresholds as the stack's
    parameters, same defaults), per 15-minute window, for the skill and for each release (a
    canary's alarms). Exits 1 when one would have fired. Silence (anomaly detection) is not
    evaluated.
    """
    from alexa_skill_metrics.reporting.client import table_reporter
    from alexa_skill_metrics.reporting.health import HealthRules

    rules = HealthRules(failed_rate, unhandled_rate, endpoint_p90_ms, min_utterances)
    reporter = table_reporter(context.settings(table_name=table).table_name, recompute=recompute)
    params = {"startTime": start_time, "endTime": end_time, "stage": context.stage(stage)}
    firings = reporter.health(skill_id, params, rules)
    for firing in firings:
        click.echo(f"would have fired: {firing.line}")
    if not firings:
        click.echo("no health alarm would have fired")
    else:
        raise SystemExit(1)
