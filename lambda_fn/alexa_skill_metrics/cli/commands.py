"""``skill-metrics``: create the table, run the local demo, aggregate, report, rebuild and redrive.

Commands parse arguments and call the library; ``Context.from_environ`` builds the objects, so
tests can hand in another environment. Each command is one small function registered on the
``cli`` group; bad arguments are rejected by their click types before any AWS call, and expected
errors become one line and a non-zero exit (``cli.support.Group``).

Example
-------
>>> from click.testing import CliRunner
>>> CliRunner().invoke(cli, ["--help"]).exit_code
0
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from alexa_skill_metrics.cli.support import SKILL_ID, TIME, URL, Failure, Group, explain
from alexa_skill_metrics.config import STAGES, Settings
from alexa_skill_metrics.formatting import plural
from alexa_skill_metrics.model import DEFAULT_MIN_CUSTOMERS, LEAST_MIN_CUSTOMERS
from alexa_skill_metrics.periods import PERIODS
from alexa_skill_metrics.reporting.params import MAX_MIN_CUSTOMERS
from alexa_skill_metrics.reporting.views.retention import COHORTS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_PERIOD = "P1D"
_STAGE_HELP = "live or development [default: METRICS_STAGE if set, else live]"
_SKILL_HELP = "amzn1.ask.skill.<uuid> (or a legacy amzn1.echo-sdk-ams.app.<uuid>)"
_TABLE_HELP = "Table name [default: METRICS_TABLE]; not used with --endpoint."


@dataclass
class Context:
    """What every command needs, built from the environment."""

    environ: Mapping[str, str]
    table_name: str | None = None  # the table a command works on, named in its errors

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Context:
        return cls(os.environ if environ is None else environ)

    def settings(self, **overrides: Any) -> Settings:
        settings = Settings.from_env(self.environ, **overrides)
        self.table_name = settings.table_name
        return settings

    def stage(self, given: str | None) -> str:
        """The ``--stage`` given, else ``METRICS_STAGE`` (the skill's own setting), else ``live``."""
        return given or self.environ.get("METRICS_STAGE") or "live"

    def dynamodb(self) -> DynamoDBClient:
        import boto3

        return boto3.session.Session().client("dynamodb")


pass_context = click.make_pass_decorator(Context)


@click.group(cls=Group)
@click.version_option(package_name="alexa-skill-metrics")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Alexa skill metrics in your own AWS account.

    DynamoDB is reached through boto3's standard configuration: AWS_ENDPOINT_URL, AWS_REGION,
    AWS_PROFILE and credentials. The table is METRICS_TABLE unless --table is given.
    """
    if not isinstance(ctx.obj, Context):  # tests pass their own
        ctx.obj = Context.from_environ()


@cli.command("create-table")
@click.option("--table", help="Table name [default: METRICS_TABLE].")
@pass_context
def create_table_command(context: Context, table: str | None) -> None:
    """Create the metrics table with its stream and TTL; running it again is harmless."""
    from alexa_skill_metrics.storage.table import create_table

    settings = context.settings(table_name=table)
    created = create_table(context.dynamodb(), settings.table_name)
    click.echo(f"{'created' if created else 'already exists'}: {settings.table_name}")


@cli.command()
@click.option("--table", help="Table name [default: METRICS_TABLE].")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Stream records per aggregator batch.",
)
@pass_context
def aggregate(context: Context, table: str | None, batch_size: int) -> None:
    """Drain the table's stream through the aggregator once (local use, e.g. against moto's server).

    Draining again is harmless: every event counts exactly once, however often it is read.
    """
    from alexa_skill_metrics.aggregation.stream import drain_stream

    settings = context.settings(table_name=table)
    result = drain_stream(settings.table_name, dynamodb=context.dynamodb(), batch_size=batch_size)
    click.echo(
        f"{result.records} stream records read, {result.events} events in {result.batches} batches; "
        f"{result.rollups_written} rollup and {result.customers_written} customer writes"
    )
    if result.failed:
        raise Failure(f"{len(result.failed)} records still fail: {', '.join(result.failed[:5])}")


def _report_epilog() -> str:
    from alexa_skill_metrics.reporting.metrics import METRICS
    from alexa_skill_metrics.reporting.views import OWN_ROUTE_VIEWS, VIEWS

    views = _entries([*((name, spec.summary) for name, spec in VIEWS.items()), *OWN_ROUTE_VIEWS.items()])
    metrics = _entries((name, spec.description) for name, spec in METRICS.items())
    misread = _entries(
        [
            ("failedShare", "an intent's failed utterances / ALL failed utterances: where failures are"),
            ("failureRate", "the intent's own rate: its failed utterances / its utterances"),
            ("prompts", "replies that kept the session open and waited for the customer"),
            ("responded", "utterances that answered inside a session (session.new false)"),
            (
                "notResponded",
                "sessions that ended because the customer said nothing after the prompt and its "
                "reprompt; prompts need not equal responded + notResponded: a prompt can also end "
                "in 'stop', an error, or a session still open",
            ),
            ("dropOff share", "its sessions / sessions that ended no_response, user_ended or failed"),
            (
                "terminations",
                "friction: leaving (stop, cancel, USER_INITIATED) at the welcome or right after an "
                "unhandled reply; leaving at any other prompt is an exit, not friction",
            ),
            ("exitRate", "exits right after an intent's prompts / that intent's prompts (friction view)"),
        ]
    )
    return (
        f"\b\nViews:\n{views}\n\n\b\nMetrics (the Skill Management API's names, one value per bucket):\n"
        f"{metrics}\n\n\b\nFigures that are easy to misread:\n{misread}\n\n"
        "Times are UTC; a range is [start, end) and covers every bucket it touches."
    )


def _entries(pairs: Iterable[tuple[str, str]], width: int = 76) -> str:
    """``name  text`` lines, the text wrapped under itself, for a help page read at 80 columns."""
    import textwrap

    pairs = list(pairs)
    indent = 2 + max(len(name) for name, _ in pairs) + 2
    lines = []
    for name, text in pairs:
        wrapped = textwrap.wrap(text, width - indent) or [""]
        lines.append(f"  {name:<{indent - 4}}  {wrapped[0]}")
        lines += [" " * indent + rest for rest in wrapped[1:]]
    return "\n".join(lines)


# The report's options, by the API parameter each one sends; ``metric`` and ``skillType`` the client sets.
_API_OPTIONS = {"startTime": "--start", "endTime": "--end", "period": "--period", "cohort": "--cohort",
                "stage": "--stage", "locale": "--locale", "intent": "--intent", "release": "--release",
                "maxResults": "--max-results", "nextToken": "--next-token",
                "minCustomers": "--min-customers"}  # fmt: skip


@cli.command(epilog=_report_epilog())
@click.argument("name", metavar="VIEW|METRIC")
@click.option("--skill-id", required=True, type=SKILL_ID, help=_SKILL_HELP)
@click.option(
    "--start",
    "start_time",
    type=TIME,
    help="ISO 8601, e.g. 2026-01-05T00:00:00Z [required but for retention: 12 cohorts before --end]",
)
@click.option("--end", "end_time", type=TIME, help="ISO 8601, exclusive [required but for retention: now]")
@click.option(
    "--period",
    type=click.Choice(PERIODS),
    help=f"Bucket size (SINGLE: the whole range as one); not retention or paths [default: {DEFAULT_PERIOD}]",
)
@click.option(
    "--cohort", type=click.Choice(COHORTS), help="Retention: weekly or daily cohorts [default: week]."
)
@click.option("--stage", type=click.Choice(STAGES), help=_STAGE_HELP)
@click.option("--locale", help="e.g. en-US [default: all locales; not for retention]")
@click.option("--intent", help="Intent filter (customers, utterances and slots views, metrics).")
@click.option("--release", help="Release filter, e.g. 7 or v1.4.2 (- : recorded without one); not retention.")
@click.option(
    "--min-customers",
    type=click.IntRange(LEAST_MIN_CUSTOMERS, MAX_MIN_CUSTOMERS),
    help="Slots: list an unresolved value once this many distinct customers said it "
    f"[default: {DEFAULT_MIN_CUSTOMERS}].",
)
@click.option("--endpoint", type=URL, help="A deployed reporting API URL; requests are signed with SigV4.")
@click.option("--recompute", is_flag=True, help="Compute from raw events instead of rollups.")
@click.option(
    "--all-pages/--one-page",
    default=True,
    show_default=True,
    help="Metrics: follow nextToken to the last page (--one-page prints one page and its nextToken).",
)
@click.option("--next-token", help="Metrics: continue from this nextToken.")
@click.option("--max-results", type=click.IntRange(1, 200), help="Metrics: values per page [default: 200].")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON body instead of tables.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (RFC 4180, one row per point).")
@click.option("--table", help=_TABLE_HELP)
@pass_context
def report(
    context: Context,
    name: str,
    skill_id: str,
    start_time: str | None,
    end_time: str | None,
    period: str | None,
    cohort: str | None,
    stage: str | None,
    locale: str | None,
    intent: str | None,
    endpoint: str | None,
    recompute: bool,
    all_pages: bool,
    next_token: str | None,
    max_results: int | None,
    as_json: bool,
    table: str | None,
    as_csv: bool = False,
    release: str | None = None,
    min_customers: int | None = None,
) -> None:
    """Print a view or an SMAPI metric (names below), in-process from the table or from --endpoint.

    Each name takes its own options (retention: --cohort, no --period; paths: no --period).
    An empty report says where data is: another stage, other intents, or the skills the table has.
    """
    from alexa_skill_metrics.reporting.client import fetch_all_pages, fetch_report
    from alexa_skill_metrics.reporting.metrics import METRICS

    if endpoint is not None and recompute:
        raise click.UsageError("--recompute reads the table; it cannot go with --endpoint")
    given = {"startTime": start_time, "endTime": end_time, "period": period, "cohort": cohort,
             "locale": locale, "intent": intent, "release": release, "nextToken": next_token,
             "maxResults": str(max_results) if max_results else None,
             "minCustomers": str(min_customers) if min_customers else None}  # fmt: skip
    params = report_params(name, given, context.stage(stage))
    table_name = None if endpoint else context.settings(table_name=table).table_name

    def fetch(
        report_name: str, query: Mapping[str, str | None], *, from_events: bool = recompute
    ) -> dict[str, Any]:
        if not from_events:
            return fetch_report(report_name, skill_id, query, table_name=table_name, endpoint=endpoint)
        with _reading_progress() as progress:
            return fetch_report(report_name, skill_id, query, table_name=table_name, recompute=True,
                                progress=progress)  # fmt: skip

    body = fetch_all_pages(fetch, name, params) if name in METRICS and all_pages else fetch(name, params)
    if as_csv:
        from alexa_skill_metrics.reporting.export import to_csv

        click.echo(to_csv(body), nl=False)
    elif as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        from rich.console import Console

        from alexa_skill_metrics.cli.console import print_report

        print_report(Console(), body)
    # hints read rollups even after --recompute: they must stay cheap
    _hint_if_empty(context, partial(fetch, from_events=False), name, skill_id, params, body, table_name)


def report_params(name: str, given: Mapping[str, str | None], stage: str) -> dict[str, str | None]:
    """The query of report ``name``: the options given that its route takes, checked against them.

    The route's parameters are the API's own (``openapi.route_parameters``): an option the route
    does not take, or a required one missing, is a usage error naming the options it does take.
    """
    from alexa_skill_metrics.reporting.openapi import route_parameters

    accepted = {p["name"]: p for p in route_parameters(name) if p["name"] in _API_OPTIONS}
    takes = ", ".join(_API_OPTIONS[p] for p in accepted)
    wrong = [_API_OPTIONS[k] for k, v in given.items() if v is not None and k not in accepted]
    if wrong:
        raise click.UsageError(f"{' and '.join(wrong)} do{'es' * (len(wrong) == 1)} not apply to {name}; "
                               f"it takes {takes}")  # fmt: skip
    query = {k: v for k, v in given.items() if k in accepted}
    if "period" in accepted and not query.get("period"):
        query["period"] = DEFAULT_PERIOD
    missing = [_API_OPTIONS[k] for k, p in accepted.items() if p["required"] and not query.get(k)]
    if missing:
        raise click.UsageError(f"{name} needs {' and '.join(missing)}")
    if "stage" in accepted:
        query["stage"] = stage
    return query


@contextmanager
def _reading_progress() -> Iterator[Callable[[int, int, int], None]]:
    """Hours of raw events read (and the events found), on stderr: a recomputation takes seconds."""
    from rich.console import Console

    from alexa_skill_metrics.cli.console import progress_bar

    with progress_bar(Console(stderr=True)) as bar:
        task = bar.add_task("Reading raw events (hours)", total=None)

        def update(done: int, total: int, events: int) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"Reading raw events (hours), {plural(events, 'event')}")  # fmt: skip

        yield update


def _hint_if_empty(
    context: Context,
    fetch: Any,
    name: str,
    skill_id: str,
    params: Mapping[str, str | None],
    body: Mapping[str, Any],
    table_name: str | None,
) -> None:
    from alexa_skill_metrics.reporting.hints import is_empty, where_is_data

    if not is_empty(body):
        return
    client = context.dynamodb() if table_name else None
    for line in where_is_data(fetch, name, skill_id, params, table_name=table_name, dynamodb=client):
        click.echo(f"hint: {line}", err=True)


@cli.command()
@click.option("--skill-id", required=True, type=SKILL_ID, help=_SKILL_HELP)
@click.option("--start", "start_time", required=True, type=TIME, help="ISO 8601, e.g. 2026-01-05T00:00:00Z")
@click.option("--end", "end_time", required=True, type=TIME, help="ISO 8601, exclusive")
@click.option(
    "--period", type=click.Choice(["PT15M", "PT1H", "P1D", "P1W"]), default="P1D", show_default=True
)
@click.option("--stage", type=click.Choice(STAGES), help=_STAGE_HELP)
@click.option("--locale", help="e.g. en-US [default: all locales]")
@click.option("--endpoint", type=URL, help="A deployed reporting API URL; requests are signed with SigV4.")
@click.option("--out", default="metrics.html", show_default=True, type=click.Path(dir_okay=False))
@click.option("--table", help=_TABLE_HELP)
@pass_context
def dashboard(
    context: Context,
    skill_id: str,
    start_time: str,
    end_time: str,
    period: str,
    stage: str | None,
    locale: str | None,
    endpoint: str | None,
    out: str,
    table: str | None,
) -> None:
    """Write the views as one self-contained HTML page (opens without a network).

    A page whose every view is empty is still written; the hints on stderr say where data is.
    """
    from alexa_skill_metrics.dashboard import collect_views, write_dashboard
    from alexa_skill_metrics.dashboard.collect import VIEWS, collect_extra_views, extra_params
    from alexa_skill_metrics.reporting.client import fetch_report

    params = {
        "startTime": start_time,
        "endTime": end_time,
        "period": period,
        "stage": context.stage(stage),
        "locale": locale,
    }
    table_name = None if endpoint else context.settings(table_name=table).table_name
    views = collect_views(
        lambda view: fetch_report(view, skill_id, params, table_name=table_name, endpoint=endpoint)
    )
    views.update(
        collect_extra_views(
            lambda view: fetch_report(
                view, skill_id, extra_params(view, params), table_name=table_name, endpoint=endpoint
            )
        )
    )
    click.echo(f"wrote {write_dashboard(views, out=out).resolve()}")
    from alexa_skill_metrics.reporting.hints import is_empty

    # the page's banner alone is easy to miss; retention and paths always hold offsets and depths
    if all(is_empty(views[name]) for name in VIEWS):
        click.echo("hint: every view of this dashboard is empty", err=True)

        def fetch(name: str, query: Mapping[str, str | None]) -> dict[str, Any]:
            return fetch_report(name, skill_id, query, table_name=table_name, endpoint=endpoint)

        _hint_if_empty(context, fetch, "overview", skill_id, params, views["overview"], table_name)


@cli.command()
@click.option(
    "--customers", default=40, show_default=True, type=click.IntRange(1, 100_000), help="Simulated customers."
)
@click.option(
    "--days",
    default=28,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Simulated days, ending today (UTC): four weeks of cohorts.",
)
@click.option("--seed", default=42, show_default=True, help="Random seed: same seed, same traffic.")
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the JSON (and HTML) results.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Leave the local DynamoDB running with the demo's data (moto's server on --port) to explore "
    "with report, dashboard and aggregate; stop it with `skill-metrics demo --stop`.",
)
@click.option("--port", default=5005, show_default=True, type=click.IntRange(1024, 65535), help="For --keep.")
@click.option("--stop", is_flag=True, help="Stop the local DynamoDB a `demo --keep` left running, and exit.")
def demo(customers: int, days: int, seed: int, out_dir: str, keep: bool, port: int, stop: bool) -> None:
    """Simulate four weeks of a skill's traffic against an embedded DynamoDB and show what was recorded.

    Needs no AWS account: the data lives in moto's DynamoDB, in this process for the run, or in a
    local server that stays when --keep is given.
    """
    from alexa_skill_metrics.cli.demo import run_demo

    if stop:
        from alexa_skill_metrics.cli.local import stop_server

        click.echo(stop_server(port))
        return
    run_demo(customers=customers, days=days, seed=seed, out_dir=out_dir, keep_port=port if keep else None)


@cli.command()
@click.option("--skill-id", required=True, type=SKILL_ID, help=_SKILL_HELP)
@click.option(
    "--start", "start_time", required=True, type=TIME, help="ISO 8601; widened to the start of its UTC day"
)
@click.option(
    "--end", "end_time", required=True, type=TIME, help="ISO 8601, exclusive; widened to a whole UTC day"
)
@click.option("--table", help="Table name [default: METRICS_TABLE].")
@pass_context
def rebuild(context: Context, skill_id: str, start_time: str, end_time: str, table: str | None) -> None:
    """Rebuild a range's rollups from its raw events (after set-aside records, or a contract change).

    Safe while the live aggregator runs, and exact afterwards: nothing the aggregator delivers
    later is counted twice. The range is whole UTC days and must have ended 3 hours ago (late
    session ends). Raw events are kept for METRICS_RETENTION_DAYS: older ranges cannot be rebuilt.
    """
    from alexa_skill_metrics.aggregation.rebuild import rebuild as rebuild_range
    from alexa_skill_metrics.reporting.params import format_time, parse_time

    settings = context.settings(table_name=table)
    client = context.dynamodb()
    with _rebuild_progress() as progress:
        result = rebuild_range(
            settings.table_name,
            skill_id,
            parse_time("start", start_time),
            parse_time("end", end_time),
            client=client,
            progress=progress,
        )
    span = f"{format_time(result.start_ms)} to {format_time(result.end_ms)}"
    if not result.events and not result.rollups_written:
        from alexa_skill_metrics.reporting.hints import other_skills

        raise Failure(f"no data for {skill_id} from {span}: no raw events and no rollups; "
                      f"{other_skills(client, settings.table_name, skill_id)}")  # fmt: skip
    stages = ", ".join(result.stages) or "no stage had data"
    click.echo(
        f"rebuilt {span}: {plural(result.events, 'event')}, "
        f"{plural(result.rollups_written, 'rollup')} written ({stages}), "
        f"{result.customers_moved} customers' first utterance moved earlier, "
        f"{result.customers_reactivated} customers given active days they missed (retention)"
    )


@contextmanager
def _rebuild_progress() -> Iterator[Callable[[str, int, int], None]]:
    """Hours of raw events read, then rollup items written, on stderr."""
    from rich.console import Console

    from alexa_skill_metrics.cli.console import progress_bar

    with progress_bar(Console(stderr=True)) as bar:
        tasks = {"hours": bar.add_task("Raw events read (hours)", total=None),
                 "rollups": bar.add_task("Rollup items written", total=None)}  # fmt: skip

        def update(what: str, done: int, total: int) -> None:
            bar.update(tasks[what], completed=done, total=total)

        yield update


@cli.command()
@click.option("--queue-url", required=True, type=URL, help="The stack's DeadLetterQueueUrl output.")
@click.option(
    "--skill-id",
    "skill_ids",
    multiple=True,
    type=SKILL_ID,
    help="Skills to rebuild when a batch's records have left the stream (24 h); repeatable.",
)
@click.option("--table", help="Table name [default: METRICS_TABLE].")
@pass_context
def redrive(context: Context, queue_url: str, skill_ids: tuple[str, ...], table: str | None) -> None:
    """Replay the aggregator's dead-letter queue: rebuild the days of every set-aside batch.

    Each message names a stream batch; its records are read again from the stream to find the
    skills and days, which are rebuilt from raw events (see rebuild), and the message deleted.
    """
    from alexa_skill_metrics.aggregation.redrive import redrive as redrive_queue

    settings = context.settings(table_name=table)
    result = redrive_queue(queue_url, settings.table_name, skill_ids=skill_ids, dynamodb=context.dynamodb())
    for note in result.notes:
        click.echo(note)
    click.echo(
        f"{result.rebuilt} messages rebuilt and deleted, {result.kept} kept; {result.records} stream records "
        f"read again ({result.unreadable} not readable as events: no rebuild can count them)"
    )
    if result.kept:
        raise Failure(f"{result.kept} messages stay in the queue: see the lines above")


def main() -> None:
    """Console entry point: expected errors become one line and an exit code (2: fix the input)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        found = explain(exc)
        if found is None:
            raise
        click.echo(f"error: {found[0]}", err=True)
        sys.exit(found[1])


def _add_metrics_commands() -> None:
    # Amazon's v2 body (query) and the side-by-side with Amazon's figures (compare) live in their own module.
    from alexa_skill_metrics.cli.metrics import compare_command, query_command
    from alexa_skill_metrics.cli.releases import health_command, releases_command

    cli.add_command(query_command)
    cli.add_command(compare_command)
    cli.add_command(releases_command)
    cli.add_command(health_command)


_add_metrics_commands()
