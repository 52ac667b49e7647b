"""The local demo: the whole pipeline on one machine, with no AWS account.

A local DynamoDB (moto), the metrics table, a simulated week of traffic through the sample
skill with the recorder installed as a skill developer would, the table's stream drained
through the aggregator, and the five views read back from the rollups through the reporting
code, printed and written as JSON and HTML.

By default moto runs in this process (``local.in_process_dynamodb``) and the recorder writes
through ``SkillMetrics(client=...)`` (a documented integration) to moto's backend directly
(``local.MotoPutItem``), and so does the aggregator: no socket, no HTTP server, and the data is
gone when the demo ends.
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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    """Run the pipeline, print the five views, write them to ``out_dir``; return what was made.

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
    from alexa_skill_metrics.cli.local import MotoPutItem
    from alexa_skill_metrics.dashboard.collect import EXTRA_VIEWS, extra_params
    from alexa_skill_metrics.reporting.client import report_body, table_reporter
    from alexa_skill_metrics.reporting.params import format_time
    from alexa_skill_metrics.reporting.views import VIEWS
    from alexa_skill_metrics.storage.table import create_table
    from sample_skill.traffic import Simulation

    console = Console(quiet=quiet)
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    start_ms = today - days * DAY_MS
    simulation = Simulation(customers=customers, days=days, seed=seed, start_ms=start_ms)
    console.print(f"Local DynamoDB (moto) {where}; table [bold]{DEMO_TABLE}[/]")
    client = boto3.client("dynamodb")
    if not embedded:
        _drop_table(client, DEMO_TABLE)  # a kept server holds the previous run's data
    create_table(client, DEMO_TABLE)
    handler = _sample_skill_handler(MotoPutItem() if embedded else None)
    with _progress(console) as progress:
        task = progress.add_task("Alexa traffic through the skill", total=simulation.session_count())
        stats = simulation.run(handler, progress=lambda n: progress.update(task, completed=n))
        aggregating = progress.add_task("Stream through the aggregator", total=None)
        drained = drain_stream(  # in one batch of Lambda's largest size
            DEMO_TABLE, batch_size=10_000, aggregator=_aggregator() if embedded else None
        )
        progress.update(aggregating, total=1, completed=1)
    console.print(
        f"{stats.requests} requests ({stats.sessions} sessions, {stats.escaped} escaped exceptions) -> "
        f"{drained.events} events -> {drained.rollups_written} rollup writes in {drained.batches} batches"
    )
    params = {"startTime": format_time(start_ms), "endTime": format_time(today), "period": "P1D"}
    reporter = table_reporter(DEMO_TABLE)
    views = {name: report_body(reporter, name, simulation.skill_id, params) for name in VIEWS}
    for name in EXTRA_VIEWS:  # retention: the weekly cohorts up to today; paths: the range's sessions
        views[name] = report_body(reporter, name, simulation.skill_id, extra_params(name, params))
    from alexa_skill_metrics.cli.console import print_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name, body in views.items():
        print_report(console, body)
        path = out / f"{name}.json"
        path.write_text(json.dumps(body, indent=2) + "\n")
        files.append(path)
    files.append(_dashboard(views, out / "metrics.html"))
    console.print(f"Wrote {', '.join(str(p) for p in files[:-1])}")
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


def _aggregator() -> Aggregator:
    """The aggregator of an in-process demo: writes straight to moto's backend, reads through boto3."""
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.cli.local import MotoPutItem
    from alexa_skill_metrics.storage.rollups import analytics_client

    client: DynamoDBClient = MotoPutItem(analytics_client())  # type: ignore[assignment]
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


def _sample_skill_handler(client: Any = None) -> Any:
    """The sample skill's handler, the recorder configured through the environment.

    With ``client`` the recorder writes through that client (in-process moto); without, the
    sample skill's own module-level handler with the default signed HTTP transport.
    """
    import importlib
    import sys

    os.environ.update(
        {"METRICS_TABLE": DEMO_TABLE, "METRICS_PSEUDONYM_KEY": DEMO_KEY, "METRICS_STAGE": "live"}
    )
    sys.modules.pop("sample_skill.app", None)
    app = importlib.import_module("sample_skill.app")
    if client is None:
        return app.lambda_handler
    from alexa_skill_metrics import SkillMetrics

    return app.build_handler(SkillMetrics(client=client))


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
