"""The local demo: the whole pipeline on one machine, with no AWS account.

A local DynamoDB (moto), the metrics table, a simulated week of traffic through the sample
skill with the recorder installed as a skill developer would, the table's stream drained
through the aggregator, and every view read back from the rollups through the reporting
code, summarised, and written as tables, JSON and HTML.

By default moto runs in this process (``local.in_process_dynamodb``) and the recorder writes
through ``SkillMetrics(client=...)`` (a documented integration) with a boto3 client made for
in-process moto (``local.MotoPutItem``: unsigned, unvalidated, one attempt), and so does the
aggregator: no socket, no HTTP server, and the data is gone when the demo ends.
With ``keep_port`` the demo runs against moto's server started as a process of its own on that
port, with the recorder's default signed HTTP transport, and leaves it running so ``report``,
``dashboard`` and ``aggregate`` can explore the data; the demo prints those commands.

Example
-------
>>> run_demo(customers=5, days=1, seed=1, out_dir="/tmp/skill-metrics-demo", quiet=True)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from alexa_skill_metrics.formatting import count, ms, percent, plural

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.aggregation.apply import Aggregator

DEMO_TABLE = "skill-metrics-demo"
DEMO_KEY = "demo-pseudonym-key-not-a-secret"
DAY_MS = 86_400_000


@dataclass(frozen=True)
class DemoResult:
    requests: int
    events: int
    views: dict[str, dict[str, Any]]
    files: list[Path]
    skill_id: str = ""
    start: str = ""  # the reported range, as the API echoes it
    end: str = ""


def run_demo(
    *, customers: int, days: int, seed: int, out_dir: str, quiet: bool = False, keep_port: int | None = None
) -> DemoResult:
    """Run the pipeline, print a summary of the views, write them to ``out_dir``; return what was made.

    ``keep_port``: run against a local moto server on that port and leave it running.
    """
    if customers < 1 or days < 1:
        raise ValueError(f"the demo needs at least one customer and one day, not {customers} and {days}")
    with _warnings_only():
        return _run_demo(customers, days, seed, out_dir, quiet, keep_port)


@contextlib.contextmanager
def _warnings_only() -> Iterator[None]:
    """The demo's skill runs outside Lambda: the recorder's INFO line saying that its writes are
    inline is true and useless to a newcomer, so only warnings and errors show while it runs."""
    from alexa_skill_metrics import telemetry

    log = telemetry.logger()
    level = log.log_level
    log.setLevel("WARNING")
    try:
        yield
    finally:
        log.setLevel(level)


def _run_demo(
    customers: int, days: int, seed: int, out_dir: str, quiet: bool, keep_port: int | None
) -> DemoResult:
    if keep_port is None:
        from alexa_skill_metrics.cli.local import in_process_dynamodb

        with in_process_dynamodb() as where:
            return _run(customers, days, seed, out_dir, quiet, where, embedded=True)
    from alexa_skill_metrics.cli.local import local_environment, start_server

    endpoint, _ = start_server(keep_port)
    with local_environment(endpoint):
        result = _run(customers, days, seed, out_dir, quiet, endpoint, embedded=False)
    if not quiet:
        # soft_wrap: the commands stay one line each, to paste whole whatever the terminal's width
        Console().print(next_steps(keep_port, result), soft_wrap=True, highlight=False, markup=False)
    return result


def _run(
    customers: int, days: int, seed: int, out_dir: str, quiet: bool, where: str, *, embedded: bool
) -> DemoResult:
    import boto3

    from alexa_skill_metrics.aggregation.stream import drain_stream
    from alexa_skill_metrics.cli.console import progress_bar
    from alexa_skill_metrics.cli.local import MotoPutItem
    from alexa_skill_metrics.dashboard.collect import EXTRA_VIEWS, extra_params
    from alexa_skill_metrics.recording.recorder import start_container
    from alexa_skill_metrics.reporting.client import report_body, table_reporter
    from alexa_skill_metrics.reporting.params import format_time
    from alexa_skill_metrics.reporting.views import VIEWS
    from alexa_skill_metrics.storage.table import create_table
    from sample_skill.traffic import Containers, Rollout, Simulation

    console = Console(quiet=quiet)
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    start_ms = today - days * DAY_MS
    simulation = Simulation(customers=customers, days=days, seed=seed, start_ms=start_ms)
    console.print(f"Local DynamoDB (moto) {where}; table [bold]{DEMO_TABLE}[/]")
    client = boto3.client("dynamodb")
    if not embedded:
        _drop_table(client, DEMO_TABLE)  # a kept server holds the previous run's data
    create_table(client, DEMO_TABLE)
    # Release 2 (big dice fail) comes in halfway behind a weighted alias: half the requests from then on
    half = days * DAY_MS // 2
    rollout = Rollout(at_ms=start_ms + half, canary_share=0.5, canary_ms=half, seed=seed)
    handler = Containers(
        rollout.serve(_sample_skill_handlers(MotoPutItem() if embedded else None)), start_container, seed=seed
    )
    params = {"startTime": format_time(start_ms), "endTime": format_time(today), "period": "P1D"}
    reporter = table_reporter(DEMO_TABLE)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar(console) as progress:
        task = progress.add_task("Alexa traffic through the skill", total=simulation.session_count())
        stats = simulation.run(handler, progress=lambda n: progress.update(task, completed=n))
        # Every request writes one event: the bar counts the events the aggregator has applied.
        aggregating = progress.add_task("Stream through the aggregator", total=stats.requests)
        drained = drain_stream(
            DEMO_TABLE,
            batch_size=_batch_size(stats.requests),
            aggregator=_aggregator() if embedded else None,
            progress=lambda events: progress.update(aggregating, completed=events),
        )
        reporting = progress.add_task("Views from the rollups", total=len(VIEWS) + len(EXTRA_VIEWS) + 1)
        views: dict[str, dict[str, Any]] = {}
        for name in (*VIEWS, *EXTRA_VIEWS):
            # retention: the weekly cohorts up to today; paths: the range's sessions
            query = extra_params(name, params) if name in EXTRA_VIEWS else params
            views[name] = report_body(reporter, name, simulation.skill_id, query)
            progress.advance(reporting)
        files = _write_views(views, out)
        progress.advance(reporting)
    console.print(
        f"{plural(stats.requests, 'request')} in {plural(stats.sessions, 'session')} "
        f"({plural(stats.escaped, 'exception')} escaped the skill) -> {plural(drained.events, 'event')}"
    )
    console.print(
        f"Aggregated in {plural(drained.batches, 'batch', 'batches')}: "
        f"{plural(drained.rollups_written, 'rollup write')}"
    )
    for line in summary(views):
        console.print(line, highlight=False, markup=False)
    for line in release_lines(views, reporter.health(simulation.skill_id, extra_params("releases", params))):
        console.print(line, highlight=False, markup=False)
    console.print(f"All {len(views)} views as tables: {files[0]}; as JSON: {out}/<view>.json")
    console.print(f"Dashboard: [bold]{files[-1].resolve()}[/]")
    if embedded:
        console.print("To explore this data with report and dashboard: [bold]skill-metrics demo --keep[/]")
    return DemoResult(
        requests=stats.requests,
        events=drained.events,
        views=views,
        files=files,
        skill_id=simulation.skill_id,
        start=params["startTime"],
        end=params["endTime"],
    )


def _batch_size(events: int) -> int:
    """About ten batches, so the aggregator's bar moves; the traffic is in time order, so batches
    touch mostly different rollups and cost few more writes than one batch would."""
    return max(100, -(-events // 10))


def _write_views(views: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """Every view as tables (``report.txt``) and as JSON, and the dashboard; their paths, dashboard last."""
    from alexa_skill_metrics.cli.console import print_report

    report = out / "report.txt"
    with report.open("w") as text:
        tables = Console(file=text, width=100, color_system=None)
        for body in views.values():
            print_report(tables, body)
    files = [report]
    for name, body in views.items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(body, indent=2) + "\n")
        files.append(path)
    files.append(_dashboard(views, out / "metrics.html"))
    return files


def summary(views: dict[str, dict[str, Any]]) -> list[str]:
    """The demo's headline figures, one line of at most 80 columns each, from the views' own numbers."""
    sessions, utterances = views["sessions"]["totals"], views["utterances"]["totals"]
    customers = views["customers"]["totals"]
    latency = utterances["latencyMs"]
    top = sorted(views["intents"]["intents"], key=lambda row: -row["utterances"])[:3]
    lines = [
        f"{plural(customers['uniqueCustomers'], 'customer')} ({count(customers['newCustomers'])} new), "
        f"{plural(sessions['started'], 'session')} ({count(sessions['successful'])} successful), "
        f"{plural(utterances['utterances'], 'utterance')} ({count(utterances['failed'])} failed)",
        f"Handler latency p50 {ms(latency['p50'])}, p90 {ms(latency['p90'])}, p99 {ms(latency['p99'])}; "
        f"friction rate {percent(views['friction']['totals']['frictionRate'])}",
        "Top intents: " + ", ".join(f"{row['intent']} {count(row['utterances'])}" for row in top),
    ]
    dialogs = views["slots"].get("dialogs") if "slots" in views else None
    if dialogs is not None and dialogs["totals"]["started"]:
        totals, left = dialogs["totals"], dialogs["abandonedAt"]
        line = (
            f"Dialogs: {count(totals['started'])} started, {percent(totals['completionRate'])} completed "
            f"(p50 {totals['turns']['p50']} turns)"
        )
        where = f", most left at {left[0]['slot'] or left[0]['question']}" if left else ""
        lines.append(line + where if len(line + where) <= 80 else line)
    values = views.get("slots", {}).get("unresolvedValues")
    if values and values["values"]:  # the sample skill opts its colour slot in
        line = f"Unresolved values said by {values['minCustomers']}+ customers:"
        for v in values["values"]:
            more = f" {v['value']} ({v['customers']})"
            if len(line) + len(more) + 1 > 80:
                break
            line += more + ","
        lines.append(line.rstrip(","))
    retention, paths = views.get("retention"), views.get("paths")
    if retention is not None and paths is not None:
        cohorts = retention["cohorts"]
        lines.append(
            f"Retention: {plural(retention['customers'], 'customer')} in {len(cohorts)} "
            f"{retention['cohort']}ly cohorts; paths of {plural(paths['sessions'], 'session')}"
        )
    return lines


def release_lines(views: dict[str, dict[str, Any]], firings: list[Any]) -> list[str]:
    """The releases comparison's verdict and the first health alarm that would have fired."""
    comparison = views["releases"]["comparison"]
    lines = []
    if comparison is not None:
        base, cand = comparison["baseline"]["release"], comparison["candidate"]["release"]
        on = "same hours" if comparison["comparedOn"] == "same hours" else "own hours"
        lines.append(f"Release {cand} against {base} ({on}): {comparison['failedUtteranceRate']['summary']}")
    if firings:
        # the candidate's own alarm first: what a canary's deployment would have rolled back on
        candidate = comparison["candidate"]["release"] if comparison is not None else None
        first = next((f for f in firings if f.release == candidate), firings[0])
        more = f" (+{len(firings) - 1} more)" if len(firings) > 1 else ""
        # the alarm on a line of its own: beside the heading it wraps mid-phrase at 80 columns
        lines += [f"Alarm that would have fired{more}:", f"  {first.line}"]
    else:
        lines.append("No health alarm would have fired")
    return lines


def _aggregator() -> Aggregator:
    """The aggregator of an in-process demo: every call through a client made for in-process moto."""
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.cli.local import MotoPutItem

    client: DynamoDBClient = MotoPutItem()  # type: ignore[assignment]
    return Aggregator(DEMO_TABLE, client, concurrency=1)  # in-process moto is CPU: threads buy nothing


def next_steps(port: int, result: DemoResult) -> str:
    """The commands that explore a kept demo's data, ready to paste into a shell."""
    from alexa_skill_metrics.cli.local import exports

    common = f"--skill-id {result.skill_id} --start {result.start} --end {result.end}"
    lines = [
        f"The demo's data stays in moto's DynamoDB server on port {port}. In a shell:",
        "",
        *(f"  {line}" for line in exports(port, {"METRICS_TABLE": DEMO_TABLE, "METRICS_STAGE": "live"})),
        f"  skill-metrics report overview {common}",
        f"  skill-metrics report totalSessions {common} --period PT1H",
        f"  skill-metrics dashboard {common} --out metrics.html",
        "",
        f"Stop the server with: skill-metrics demo --stop --port {port}",
    ]
    return "\n".join(lines)


def _drop_table(client: Any, name: str) -> None:
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_table(TableName=name)


def _dashboard(views: dict[str, dict[str, Any]], path: Path) -> Path:
    from alexa_skill_metrics.dashboard import collect_views, write_dashboard
    from alexa_skill_metrics.dashboard.collect import EXTRA_VIEWS

    collected = collect_views(views.__getitem__)
    collected.update({name: views[name] for name in EXTRA_VIEWS if name in views})
    return write_dashboard(collected, out=path)


def _sample_skill_handlers(client: Any = None) -> Any:
    """The sample skill's two releases' handlers by version, the recorder configured through the environment.

    With ``client`` the recorder writes through that client (in-process moto); without, the
    sample skill's own module-level recorder with the default signed HTTP transport.
    """
    import importlib
    import sys

    os.environ.update(
        {"METRICS_TABLE": DEMO_TABLE, "METRICS_PSEUDONYM_KEY": DEMO_KEY, "METRICS_STAGE": "live"}
    )
    sys.modules.pop("sample_skill.app", None)
    app = importlib.import_module("sample_skill.app")
    if client is None:
        return app.release_handlers(app.metrics)
    from alexa_skill_metrics import SkillMetrics

    return app.release_handlers(SkillMetrics(client=client, slot_values=app.SLOT_VALUES))
