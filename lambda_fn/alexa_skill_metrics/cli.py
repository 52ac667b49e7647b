"""``skill-metrics``: create the table, run the local demo, aggregate and report.

Commands parse arguments and call the library; ``Context.from_environ`` builds the objects, so
tests can hand in another environment.

Example
-------
>>> from click.testing import CliRunner
>>> CliRunner().invoke(main, ["--help"]).exit_code
0
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.exceptions import ConfigurationError

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
@click.option("--customers", default=200, show_default=True, help="Simulated customers.")
@click.option("--days", default=7, show_default=True, help="Simulated days, ending today (UTC).")
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
    """Simulate a week of a skill's traffic against an embedded DynamoDB and show what was recorded.

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
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        from botocore.exceptions import NoCredentialsError, NoRegionError

        if isinstance(exc, NoRegionError):
            click.echo("error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)", err=True)
            sys.exit(2)
        if isinstance(exc, NoCredentialsError):
            click.echo("error: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID", err=True)
            sys.exit(2)
        raise
