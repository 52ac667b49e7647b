"""The local demo: the whole pipeline on one machine, with no AWS account.

An embedded DynamoDB (moto's server on a free loopback port), the metrics table, a simulated
week of traffic through the sample skill with the recorder installed exactly as a skill
developer would, the table's stream drained through the aggregator, and the five views read
back from the rollups through the reporting code, printed and written as JSON and HTML.

Example
-------
>>> run_demo(customers=5, days=1, seed=1, out_dir="/tmp/skill-metrics-demo", quiet=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

DEMO_TABLE = "skill-metrics-demo"
DEMO_KEY = "demo-pseudonym-key-not-a-secret"
DAY_MS = 86_400_000


@dataclass(frozen=True)
class DemoResult:
    requests: int
    events: int
    views: dict[str, dict[str, Any]]
    files: list[Path]


def run_demo(*, customers: int, days: int, seed: int, out_dir: str, quiet: bool = False) -> DemoResult:
    """Run the pipeline, print the five views, write them to ``out_dir``; return what was made."""
    import boto3

    from alexa_skill_metrics.aggregation.stream import drain_stream
    from alexa_skill_metrics.dashboard.collect import EXTRA_VIEWS, extra_params
    from alexa_skill_metrics.local import embedded_dynamodb
    from alexa_skill_metrics.reporting.client import report_body, table_reporter
    from alexa_skill_metrics.reporting.params import format_time
    from alexa_skill_metrics.reporting.views import VIEWS
    from alexa_skill_metrics.storage.table import create_table
    from sample_skill.traffic import Simulation

    console = Console(quiet=quiet)
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    start_ms = today - days * DAY_MS
    simulation = Simulation(customers=customers, days=days, seed=seed, start_ms=start_ms)
    with embedded_dynamodb() as endpoint:
        console.print(
            f"Embedded DynamoDB (moto's server) at [bold]{endpoint}[/]; table [bold]{DEMO_TABLE}[/]"
        )
        create_table(boto3.client("dynamodb"), DEMO_TABLE)
        handler = _sample_skill_handler()
        with _progress(console) as progress:
            task = progress.add_task("Alexa traffic through the skill", total=simulation.session_count())
            stats = simulation.run(handler, progress=lambda n: progress.update(task, completed=n))
            aggregating = progress.add_task("Stream through the aggregator", total=None)
            drained = drain_stream(DEMO_TABLE, batch_size=10_000)  # Lambda's largest stream batch
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
    from alexa_skill_metrics.console import print_report

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
    return DemoResult(requests=stats.requests, events=drained.events, views=views, files=files)


def _dashboard(views: dict[str, dict[str, Any]], path: Path) -> Path:
    from alexa_skill_metrics.dashboard import collect_views, write_dashboard
    from alexa_skill_metrics.dashboard.collect import EXTRA_VIEWS

    collected = collect_views(views.__getitem__)
    collected.update({name: views[name] for name in EXTRA_VIEWS if name in views})
    return write_dashboard(collected, out=path)


def _sample_skill_handler() -> Any:
    """The sample skill's own module-level handler, configured through the environment."""
    import importlib
    import sys

    os.environ.update(
        {"METRICS_TABLE": DEMO_TABLE, "METRICS_PSEUDONYM_KEY": DEMO_KEY, "METRICS_STAGE": "live"}
    )
    sys.modules.pop("sample_skill.app", None)
    return importlib.import_module("sample_skill.app").lambda_handler


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
