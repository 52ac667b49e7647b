"""``skill-metrics``: create the table, run the local demo, aggregate and report.

Commands parse arguments and call the library; ``Context.from_environ`` builds the objects, so
tests can hand in another environment.

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.exceptions import ConfigurationError, SkillMetricsError
from alexa_skill_metrics.reporting.errors import BadRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class Context:
    """What every command needs, built from the environment."""

    environ: Mapping[str, str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Context:
        return cls(os.environ if environ is None else environ)

    def settings(self, **overrides: Any) -> Settings:
        return Settings.from_env(self.environ, **overrides)

    def dynamodb(self) -> DynamoDBClient:
        import boto3

        return boto3.session.Session().client("dynamodb")


pass_context = click.make_pass_decorator(Context)


@click.group()
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
@click.option("--table", help="Table name (default: METRICS_TABLE).")
@pass_context
def create_table_command(context: Context, table: str | None) -> None:
    """Create the metrics table with its stream and TTL; running it again is harmless."""
    from alexa_skill_metrics.storage.table import create_table

    settings = context.settings(table_name=table)
    created = create_table(context.dynamodb(), settings.table_name)
    click.echo(f"{'created' if created else 'already exists'}: {settings.table_name}")


@cli.command()
@click.option("--table", help="Table name (default: METRICS_TABLE).")
@click.option("--batch-size", default=1000, show_default=True, help="Stream records per aggregator batch.")
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
        raise click.ClickException(f"{len(result.failed)} records still fail: {', '.join(result.failed[:5])}")


@cli.command()
@click.argument("name", metavar="VIEW|METRIC")
@click.option("--skill-id", required=True, help="amzn1.ask.skill.<uuid>")
@click.option("--start", "start_time", required=True, help="ISO 8601, e.g. 2026-01-05T00:00:00Z")
@click.option("--end", "end_time", required=True, help="ISO 8601, exclusive")
@click.option("--period", type=click.Choice(["SINGLE", "PT15M", "PT1H", "P1D"]), help="Bucket size.")
@click.option("--stage", type=click.Choice(["live", "development"]))
@click.option("--locale", help="e.g. en-US")
@click.option("--intent", help="Intent filter (customers and utterances views, metrics).")
@click.option("--endpoint", help="A deployed reporting API URL; requests are signed with SigV4.")
@click.option("--recompute", is_flag=True, help="Compute from raw events instead of rollups.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON body instead of tables.")
@click.option("--table", help="Table name (default: METRICS_TABLE); not used with --endpoint.")
@pass_context
def report(
    context: Context,
    name: str,
    skill_id: str,
    start_time: str,
    end_time: str,
    period: str | None,
    stage: str | None,
    locale: str | None,
    intent: str | None,
    endpoint: str | None,
    recompute: bool,
    as_json: bool,
    table: str | None,
) -> None:
    """Print a view (overview, customers, sessions, utterances, intents, retention, paths) or a metric.

    Reads the configured table in-process, or calls a deployed API with --endpoint.
    """
    from alexa_skill_metrics.reporting.client import fetch_report

    params = {"startTime": start_time, "endTime": end_time, "period": period, "stage": stage,
              "locale": locale, "intent": intent}  # fmt: skip
    if endpoint is not None:
        if recompute:
            raise click.UsageError("--recompute reads the table; it cannot go with --endpoint")
        body = fetch_report(name, skill_id, params, endpoint=endpoint)
    else:
        body = fetch_report(
            name,
            skill_id,
            params,
            table_name=context.settings(table_name=table).table_name,
            recompute=recompute,
        )
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        from rich.console import Console

        from alexa_skill_metrics.console import print_report

        print_report(Console(), body)


@cli.command()
@click.option("--skill-id", required=True, help="amzn1.ask.skill.<uuid>")
@click.option("--start", "start_time", required=True, help="ISO 8601, e.g. 2026-01-05T00:00:00Z")
@click.option("--end", "end_time", required=True, help="ISO 8601, exclusive")
@click.option("--period", type=click.Choice(["PT15M", "PT1H", "P1D"]), default="P1D", show_default=True)
@click.option("--stage", type=click.Choice(["live", "development"]))
@click.option("--locale", help="e.g. en-US")
@click.option("--endpoint", help="A deployed reporting API URL; requests are signed with SigV4.")
@click.option("--out", default="metrics.html", show_default=True, type=click.Path(dir_okay=False))
@click.option("--table", help="Table name (default: METRICS_TABLE); not used with --endpoint.")
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
    """Write the five views as one self-contained HTML page (opens without a network)."""
    from alexa_skill_metrics.dashboard import collect_views, write_dashboard
    from alexa_skill_metrics.dashboard.collect import collect_extra_views, extra_params
    from alexa_skill_metrics.reporting.client import fetch_report

    params = {
        "startTime": start_time,
        "endTime": end_time,
        "period": period,
        "stage": stage,
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


@cli.command()
@click.option("--customers", default=40, show_default=True, help="Simulated customers.")
@click.option(
    "--days", default=28, show_default=True, help="Simulated days, ending today (UTC): four weeks of cohorts."
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
def demo(customers: int, days: int, seed: int, out_dir: str) -> None:
    """Simulate four weeks of a skill's traffic against an embedded DynamoDB and show what was recorded.

    Needs no AWS account: moto's DynamoDB server runs on a free loopback port for the run.
    """
    from alexa_skill_metrics.demo import run_demo

    run_demo(customers=customers, days=days, seed=seed, out_dir=out_dir)


def main() -> None:
    """Console entry point: configuration errors become a clear message and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ConfigurationError, BadRequest) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except SkillMetricsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        from botocore.exceptions import NoCredentialsError, NoRegionError

        if isinstance(exc, NoRegionError):
            click.echo("error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)", err=True)
            sys.exit(2)
        if isinstance(exc, NoCredentialsError):
            click.echo("error: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID", err=True)
            sys.exit(2)
        raise
