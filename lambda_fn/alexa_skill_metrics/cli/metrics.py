"""``skill-metrics query`` (Amazon's v2 body, against our data or Amazon's) and ``skill-metrics compare``.

``query`` takes a v2 body from a file (``--body body.json``, ``-`` for stdin) or builds one from
arguments (``--metric Alexa.Custom:UTTERANCES --period BY_DAY ...``), answers it in-process from
the table, from a deployed stack (``--endpoint``, SigV4) or from Amazon (``--amazon``, an LWA
token), follows every page, and prints the JSON answer or, with ``--csv``, its CSV.

``compare`` asks Amazon's Metrics API v1 and ours for the same metric, range and filters and
prints them side by side with the differences, so a developer sees how our figures relate to
the console's.

Example
-------
>>> body = build_body(["Alexa.Custom:UTTERANCES"], "2026-01-05T00:00:00Z", "1767657600000", period="BY_HOUR")
>>> body["startTime"], body["endTime"], body["metricQueries"][0]["id"]
('2026-01-05T00:00:00Z', 1767657600000, 'utterances')
>>> rows = side_by_side({"2026-01-05T00:00:00Z": 10}, {"2026-01-05T00:00:00Z": 12})
>>> rows[0].difference, rows[0].relative
(2, 0.2)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from alexa_skill_metrics.reporting.errors import BadRequest

if TYPE_CHECKING:
    from alexa_skill_metrics.reporting.metrics_client import MetricsClient

V2_PERIODS = ("SINGLE", "BY_15", "BY_HOUR", "BY_DAY", "BY_WEEK")
AMAZON_PERIODS = ("SINGLE", "PT15M", "PT1H", "P1D")  # Amazon's v1 has no weeks


def build_body(
    metrics: Iterable[str],
    start: str,
    end: str,
    *,
    period: str = "BY_DAY",
    stat: str | None = None,
    group_by: str | None = None,
    stage: str | None = None,
    locale: str | None = None,
    max_results: int | None = None,
) -> dict[str, Any]:
    """A v2 body from command-line arguments; each metric is ``Namespace:NAME`` (``Alexa.Custom`` if bare)."""
    dimensions = [{"name": "Alexa.Stage", "value": stage}] if stage else []
    if locale:
        dimensions.append({"name": "Alexa.Locale", "value": locale})
    queries = []
    for metric in metrics:
        namespace, _, name = metric.rpartition(":")
        query: dict[str, Any] = {
            "id": name.lower(),
            "name": name,
            "metricNamespace": namespace or "Alexa.Custom",
            "aggregationPeriod": period,
        }
        for key, value in (("stat", stat), ("groupBy", group_by), ("dimensions", dimensions)):
            if value:
                query[key] = value
        queries.append(query)
    body: dict[str, Any] = {"startTime": _time(start), "endTime": _time(end), "metricQueries": queries}
    if max_results:
        body["maxResultsPerQuery"] = max_results
    return body


def _time(raw: str) -> int | str:
    """Epoch milliseconds stay a number (Amazon's form); anything else is passed on as ISO 8601."""
    return int(raw) if raw.isdigit() else raw


def load_body(path: str) -> dict[str, Any]:
    """A v2 body from a JSON file, or from standard input for ``-``."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BadRequest("body", f"in {path} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("body", f"in {path} is not a JSON object")
    return body


def all_pages(
    answer_page: Callable[[dict[str, Any]], dict[str, Any]], body: dict[str, Any]
) -> dict[str, Any]:
    """Every page of a v2 answer, merged: each query's groups with all their points, in order."""
    merged: dict[str, Any] | None = None
    current = dict(body)
    while True:
        page = answer_page(current)
        if merged is None:
            merged = {"results": [dict(r, data=[dict(d) for d in r["data"]]) for r in page["results"]]}
        else:
            for result, more in zip(merged["results"], page["results"], strict=True):
                _append(result["data"], more["data"])
        token = page["paginationContext"]["nextToken"]
        if not token:
            merged["paginationContext"] = {"nextToken": None}
            return merged
        current["nextToken"] = token


def _append(data: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
    groups = {json.dumps(d.get("groupedBy"), sort_keys=True): d for d in data}
    for element in more:
        known = groups.get(json.dumps(element.get("groupedBy"), sort_keys=True))
        if known is None:
            data.append(dict(element))
        else:
            known["timestamps"] = known["timestamps"] + element["timestamps"]
            known["values"] = known["values"] + element["values"]


def v2_page_source(
    skill_id: str, *, table_name: str | None, client: MetricsClient | None, recompute: bool
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What answers one page of a v2 body: a remote client, or a reporter over the table."""
    if client is not None:
        remote = client
        return lambda body: dict(remote.get_metrics_v2(skill_id, body))  # type: ignore[arg-type]
    from alexa_skill_metrics.reporting.client import table_reporter
    from alexa_skill_metrics.reporting.v2 import MetricsV2Request

    if table_name is None:
        raise click.UsageError("no table: set METRICS_TABLE or pass --table (or --endpoint / --amazon)")
    reporter = table_reporter(table_name, recompute=recompute)
    return lambda body: reporter.metrics_v2(MetricsV2Request.from_body(skill_id, json.dumps(body)))


# --- compare ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One bucket: Amazon's value, ours, and ours minus Amazon's (relative to Amazon's when it is not 0)."""

    timestamp: str
    amazon: float | None
    ours: float | None
    difference: float | None
    relative: float | None


def _ms(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000)


def side_by_side(amazon: Mapping[str, float], ours: Mapping[str, float]) -> list[Row]:
    """Both series by bucket start (timestamps compared as instants, whatever their notation)."""
    by_ms: dict[int, tuple[str, float | None, float | None]] = {}
    for timestamp, value in amazon.items():
        by_ms[_ms(timestamp)] = (timestamp, value, None)
    for timestamp, value in ours.items():
        known = by_ms.get(_ms(timestamp))
        by_ms[_ms(timestamp)] = (known[0] if known else timestamp, known[1] if known else None, value)
    rows = []
    for ms in sorted(by_ms):
        _, theirs, mine = by_ms[ms]
        difference = None if theirs is None or mine is None else mine - theirs
        relative = round(difference / theirs, 4) if difference is not None and theirs else None
        iso = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(Row(iso, theirs, mine, difference, relative))
    return rows


def series_of(pages: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Timestamp -> value over every page of a v1 get-metrics answer."""
    values: dict[str, float] = {}
    for page in pages:
        values.update(zip(page["timestamps"], page["values"], strict=True))
    return values


def print_comparison(rows: list[Row], metric: str, *, as_csv: bool) -> None:
    if as_csv:
        from alexa_skill_metrics.reporting.export import to_csv

        series = [
            {
                "timestamp": r.timestamp,
                "amazon": r.amazon,
                "ours": r.ours,
                "difference": r.difference,
                "relative": r.relative,
            }
            for r in rows
        ]
        click.echo(to_csv({"series": series}), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{metric}: Amazon's Metrics API v1 vs ours", title_justify="left")
    for column in ("bucket (UTC)", "Amazon", "ours", "ours - Amazon", "relative"):
        table.add_column(column, justify="left" if column.startswith("bucket") else "right")
    for row in rows:
        relative = "-" if row.relative is None else f"{row.relative:+.1%}"
        table.add_row(
            row.timestamp, _num(row.amazon), _num(row.ours), _num(row.difference, signed=True), relative
        )
    console = Console()
    console.print(table)
    differing = [r for r in rows if r.difference]
    console.print(f"{len(differing)} of {len(rows)} buckets differ", style="bold" if differing else "dim")


def _num(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+,}" if signed else f"{value:,}"


# --- the commands ----------------------------------------------------------------------------------------


def _settings_table(ctx: click.Context, table: str | None) -> str | None:
    from alexa_skill_metrics.exceptions import ConfigurationError

    try:
        name: str = ctx.obj.settings(table_name=table).table_name
    except ConfigurationError:
        return None
    return name


def _amazon_client(token: str | None, ask_profile: str, endpoint: str) -> MetricsClient:
    from alexa_skill_metrics.reporting.metrics_client import MetricsClient, ask_cli_token

    return MetricsClient.for_amazon(token or ask_cli_token(ask_profile), endpoint=endpoint)


def amazon_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--token`` (or ``ASK_ACCESS_TOKEN``, else the ASK CLI's), ``--ask-profile``, ``--amazon-endpoint``."""
    for option in reversed(
        (
            click.option(
                "--token",
                envvar="ASK_ACCESS_TOKEN",
                help="LWA access token (or ASK_ACCESS_TOKEN); default: the one the ASK CLI stored.",
            ),
            click.option("--ask-profile", default="default", show_default=True, help="ASK CLI profile."),
            click.option("--amazon-endpoint", default="https://api.amazonalexa.com", show_default=True),
        )
    ):
        command = option(command)
    return command


@click.command("query")
@click.option("--skill-id", required=True, help="amzn1.ask.skill.<uuid>")
@click.option("--body", "body_path", help="A v2 request body (JSON file; - reads standard input).")
@click.option(
    "--metric", "metrics", multiple=True, help="Namespace:NAME, e.g. Alexa.Custom:UTTERANCES (up to 5)."
)
@click.option("--start", "start_time", help="Epoch milliseconds or ISO 8601 (with --metric).")
@click.option("--end", "end_time", help="Epoch milliseconds or ISO 8601, exclusive (with --metric).")
@click.option("--period", type=click.Choice(V2_PERIODS), default="BY_DAY", show_default=True)
@click.option(
    "--stat", type=click.Choice(["count", "avg", "p50", "p90", "p99"]), help="Default: the metric's own."
)
@click.option("--group-by", type=click.Choice(["intent", "locale"]))
@click.option("--stage", type=click.Choice(["live", "development"]))
@click.option("--locale", help="e.g. en-US")
@click.option("--max-results", type=int, help="maxResultsPerQuery (points per page).")
@click.option("--endpoint", help="A deployed reporting API URL; requests are signed with SigV4.")
@click.option(
    "--amazon", is_flag=True, help="Ask Amazon's SMAPI instead (LWA token: --token or the ASK CLI's)."
)
@amazon_options
@click.option("--recompute", is_flag=True, help="Compute from raw events instead of rollups.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per point) instead of JSON.")
@click.option("--table", help="Table name (default: METRICS_TABLE).")
@click.pass_context
def query_command(
    ctx: click.Context,
    skill_id: str,
    body_path: str | None,
    metrics: tuple[str, ...],
    start_time: str | None,
    end_time: str | None,
    period: str,
    stat: str | None,
    group_by: str | None,
    stage: str | None,
    locale: str | None,
    max_results: int | None,
    endpoint: str | None,
    amazon: bool,
    token: str | None,
    ask_profile: str,
    amazon_endpoint: str,
    recompute: bool,
    as_csv: bool,
    table: str | None,
) -> None:
    """Answer an Amazon Metrics API v2 body (every page) and print it as JSON or CSV."""
    if bool(body_path) == bool(metrics):
        raise click.UsageError("give either --body FILE or --metric (with --start and --end)")
    if body_path:
        body = load_body(body_path)
    else:
        if not start_time or not end_time:
            raise click.UsageError("--metric needs --start and --end")
        body = build_body(
            metrics,
            start_time,
            end_time,
            period=period,
            stat=stat,
            group_by=group_by,
            stage=stage,
            locale=locale,
            max_results=max_results,
        )
    if endpoint and amazon:
        raise click.UsageError("--endpoint and --amazon exclude each other")
    client = None
    if amazon:
        client = _amazon_client(token, ask_profile, amazon_endpoint)
    elif endpoint:
        from alexa_skill_metrics.reporting.metrics_client import MetricsClient

        client = MetricsClient.for_stack(endpoint)
    page = v2_page_source(
        skill_id,
        table_name=None if client else _settings_table(ctx, table),
        client=client,
        recompute=recompute,
    )
    answer = all_pages(page, body)
    if as_csv:
        from alexa_skill_metrics.reporting.export import to_csv

        click.echo(to_csv(answer), nl=False)
    else:
        click.echo(json.dumps(answer, indent=2))


@click.command("compare")
@click.option("--skill-id", required=True, help="amzn1.ask.skill.<uuid>")
@click.option("--metric", required=True, help="A v1 metric name, e.g. totalUtterances, uniqueCustomers.")
@click.option("--start", "start_time", required=True, help="ISO 8601, e.g. 2026-01-05T00:00:00Z")
@click.option("--end", "end_time", required=True, help="ISO 8601, exclusive (Amazon allows a week at most)")
@click.option("--period", type=click.Choice(AMAZON_PERIODS), default="P1D", show_default=True)
@click.option("--stage", type=click.Choice(["live", "development"]), default="live", show_default=True)
@click.option("--locale", help="e.g. en-US")
@click.option("--intent", help="Intent filter (customer and utterance metrics).")
@amazon_options
@click.option("--endpoint", help="Our deployed reporting API URL (SigV4); default: the table in-process.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option("--table", help="Table name (default: METRICS_TABLE); not used with --endpoint.")
@click.pass_context
def compare_command(
    ctx: click.Context,
    skill_id: str,
    metric: str,
    start_time: str,
    end_time: str,
    period: str,
    stage: str,
    locale: str | None,
    intent: str | None,
    token: str | None,
    ask_profile: str,
    amazon_endpoint: str,
    endpoint: str | None,
    as_csv: bool,
    table: str | None,
) -> None:
    """Amazon's figures (SMAPI Metrics API v1) beside ours for the same metric, range and filters."""
    from alexa_skill_metrics.reporting.client import fetch_report

    params: dict[str, Any] = {
        "start_time": start_time,
        "end_time": end_time,
        "period": period,
        "metric": metric,
        "stage": stage,
        "locale": locale,
        "intent": intent,
    }
    amazon = series_of(_amazon_client(token, ask_profile, amazon_endpoint).iter_metrics(skill_id, **params))
    ours_params = {
        "startTime": start_time,
        "endTime": end_time,
        "period": period,
        "stage": stage,
        "locale": locale,
        "intent": intent,
    }
    pages = []
    table_name = None if endpoint else _settings_table(ctx, table)
    if endpoint is None and table_name is None:
        raise click.UsageError("no table for our figures: set METRICS_TABLE or pass --table (or --endpoint)")
    while True:
        page = fetch_report(metric, skill_id, ours_params, table_name=table_name, endpoint=endpoint)
        pages.append(page)
        if not page.get("nextToken"):
            break
        ours_params["nextToken"] = page["nextToken"]
    print_comparison(side_by_side(amazon, series_of(pages)), metric, as_csv=as_csv)
