"""What ``skill-metrics`` commands share: argument types checked up front, and errors as one line.

Argument types reuse the reporting API's own validation (``reporting.params``), so the command
line rejects exactly what the API would, before any AWS call. ``explain`` turns the exceptions a
command can meet (a missing table, an unreachable endpoint, missing credentials, a bad
parameter) into one line that says what to do, or ``None`` for a genuine bug (a traceback).

Example
-------
>>> SKILL_ID.convert("amzn1.echo-sdk-ams.app.00000000-0000-4000-8000-00000000d1ce", None, None)
'amzn1.echo-sdk-ams.app.00000000-0000-4000-8000-00000000d1ce'
>>> URL.convert("https://abc.execute-api.eu-west-1.amazonaws.com/", None, None)
'https://abc.execute-api.eu-west-1.amazonaws.com/'
>>> explain(ValueError("a bug")) is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from alexa_skill_metrics.exceptions import ConfigurationError, SkillMetricsError
from alexa_skill_metrics.reporting.errors import BadRequest, HttpError

if TYPE_CHECKING:
    _ParamType = click.ParamType[str, Any]
else:  # click before 8.3 has no type parameters
    _ParamType = click.ParamType

USAGE_EXIT = 2  # like click's own usage errors: the command line or the environment needs a change
FAILURE_EXIT = 1


class _SkillId(_ParamType):
    name = "SKILL_ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from alexa_skill_metrics.reporting.params import check_skill_id

        try:
            return check_skill_id(str(value))
        except BadRequest as exc:
            self.fail(exc.message.removeprefix("skillId "), param, ctx)


class _Time(_ParamType):
    """ISO 8601 as the API reads it; the text is kept (the API echoes it), only checked here."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from alexa_skill_metrics.reporting.params import parse_time

        try:
            parse_time(param.name if param and param.name else "time", str(value))
        except BadRequest as exc:
            self.fail(exc.message.split(" ", 1)[-1], param, ctx)
        return str(value)


class _Url(_ParamType):
    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(
                f"{value!r} is not a URL; use the stack's MetricsApiUrl output, "
                "e.g. https://abc123.execute-api.eu-west-1.amazonaws.com",
                param,
                ctx,
            )
        return str(value)


SKILL_ID = _SkillId()
TIME = _Time()
URL = _Url()


class Failure(click.ClickException):
    """A one-line error: the command failed (exit code 1)."""

    exit_code = FAILURE_EXIT


class UsageFailure(Failure):
    """The command line or the environment needs a change (exit code 2, like click's usage errors)."""

    exit_code = USAGE_EXIT


class Group(click.Group):
    """A click group whose commands' expected errors become ``Failure`` lines instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            found = explain(exc, table=getattr(ctx.obj, "table_name", None))
            if found is None:
                raise
            message, code = found
            raise (UsageFailure if code == USAGE_EXIT else Failure)(message) from exc


def explain(exc: BaseException, *, table: str | None = None) -> tuple[str, int] | None:
    """One line and an exit code for an expected error; ``None`` for anything else (a bug)."""
    if isinstance(exc, ConfigurationError | BadRequest):
        return str(exc), USAGE_EXIT
    if isinstance(exc, HttpError):  # the reporting endpoint's own answer, or unreachable
        return str(exc), FAILURE_EXIT
    if isinstance(exc, SkillMetricsError):
        return str(exc), USAGE_EXIT if getattr(exc, "usage", False) else FAILURE_EXIT
    return _explain_botocore(exc, table)


def _explain_botocore(exc: BaseException, table: str | None) -> tuple[str, int] | None:
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
    )

    where = _dynamodb_location()
    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)", USAGE_EXIT
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and its secret", USAGE_EXIT
    if isinstance(exc, ConnectionError | HTTPClientError):
        hint = (
            "is the local server running? `skill-metrics demo --keep` leaves one, or check AWS_ENDPOINT_URL"
            if "127.0.0.1" in where or "localhost" in where
            else "check the network, AWS_REGION and AWS_ENDPOINT_URL"
        )
        return f"cannot reach DynamoDB at {where}: {hint}", FAILURE_EXIT
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            name = f"table {table!r}" if table else "the table"
            return (
                f"{name} does not exist at {where}: create it with `skill-metrics create-table`, "
                "or name another with --table or METRICS_TABLE",
                USAGE_EXIT,
            )
        if code in ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"):
            return f"AWS rejected the credentials ({code}): refresh them or set AWS_PROFILE", USAGE_EXIT
        if code == "AccessDeniedException":
            return f"access denied at {where}: {exc.response['Error'].get('Message', '')}", FAILURE_EXIT
    return None


def _dynamodb_location() -> str:
    import os

    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return f"DynamoDB in {region}" if region else "DynamoDB (no region set)"
