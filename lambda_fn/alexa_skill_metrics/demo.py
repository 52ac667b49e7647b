"""The local demo: the sample skill with the recorder, a simulated week, an embedded DynamoDB.

Example
-------
>>> run_demo(customers=5, days=1, seed=1, out_dir="/tmp/skill-metrics-demo", quiet=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

DEMO_TABLE = "skill-metrics-demo"
DEMO_KEY = "demo-pseudonym-key-not-a-secret"


def run_demo(*, customers: int, days: int, seed: int, out_dir: str, quiet: bool = False) -> dict[str, Any]:
    """Run the whole local pipeline and print it; returns what it wrote to ``out_dir``."""
    import boto3

    from alexa_skill_metrics.local import embedded_dynamodb
    from alexa_skill_metrics.storage.codec import item_to_event
    from alexa_skill_metrics.storage.table import create_table
    from sample_skill.traffic import Simulation

    console = Console(quiet=quiet)
    simulation = Simulation(customers=customers, days=days, seed=seed)
    with embedded_dynamodb() as endpoint:
        console.print(f"Embedded DynamoDB (moto) at [bold]{endpoint}[/]")
        client = boto3.client("dynamodb")
        create_table(client, DEMO_TABLE)
        handler = _sample_skill_handler()
        with _progress(console) as progress:
            task = progress.add_task("Simulating Alexa traffic", total=simulation.session_count())
            stats = simulation.run(handler, progress=lambda n: progress.update(task, completed=n))
        items = _scan(client)
        events = [item_to_event(i) for i in items]
    summary = _summary(events, stats.requests)
    _print_summary(console, summary)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "recorded.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"Wrote [bold]{path}[/]")
    return summary


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
        transient=False,
    )


def _scan(client: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": DEMO_TABLE}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _summary(events: list[Any], sent: int) -> dict[str, Any]:
    outcomes = Counter(e.outcome.value for e in events)
    return {
        "requests_sent": sent,
        "events_recorded": len(events),
        "by_request_type": dict(Counter(e.request_type for e in events).most_common()),
        "by_outcome": dict(outcomes.most_common()),
        "utterances": sum(e.is_utterance for e in events),
        "failed_utterances": sum(e.failed for e in events),
        "sessions_started": sum(e.starts_session for e in events),
        "session_ends": dict(Counter(str(e.end_type) for e in events if e.end_type).most_common()),
        "distinct_customers": len({e.customer for e in events if e.is_utterance and e.customer}),
    }


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="Recorded events", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if isinstance(value, dict):
            for sub, count in value.items():
                table.add_row(f"{key}: {sub}", str(count))
        else:
            table.add_row(key, str(value))
    console.print(table)
