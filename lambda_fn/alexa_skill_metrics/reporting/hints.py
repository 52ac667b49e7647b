"""Where the data is, when a report came back empty: another stage, other intents, other days or skills.

A wrong stage (``METRICS_STAGE=development`` for the skill, ``live`` for the report), a wrong
skill id or an intent name with a typo all give a report of zeros. These look-ups are cheap and
each hint says what it looked at:

* the same report for the other stage, and without the ``intent`` / ``locale`` filter (reports:
  they read rollups, one item per bucket);
* with the table: the first and last day with rollups for this skill, per stage (two ``Query``
  calls of one item each per stage), and, if the skill has none at all, the skill ids the first
  ``SAMPLE_ITEMS`` items of a ``Scan`` name (``skills_in_table``). Every key names its skill
  (events, rollups, customers), so a sample of any items finds the skills with data, and only
  a table with events but no rollup in the sample asks whether the aggregator ran.

Example
-------
>>> is_empty({"metric": "totalUtterances", "timestamps": ["2026-01-05T00:00:00Z"], "values": [0]})
True
>>> is_empty({"view": "overview", "stage": "live", "totals": {"utterances": 3}})
False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.config import STAGES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SAMPLE_ITEMS = 200
_HEADER = frozenset(
    {"view", "skillId", "stage", "locale", "intent", "period", "startTime", "endTime", "asOf"}
)
Fetch = Callable[[str, Mapping[str, str | None]], dict[str, Any]]


_ECHOED = frozenset({"minCustomers"})


def is_empty(body: Mapping[str, Any]) -> bool:
    """True when every figure of a view or metric body is zero or null."""
    if "values" in body and "metric" in body:
        return not any(body["values"])
    return not any(_numbers({k: v for k, v in body.items() if k not in _HEADER}))


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, Mapping):  # a parameter echoed back (the slots view's k) is no figure
        return [n for key, inner in value.items() if key not in _ECHOED for n in _numbers(inner)]
    if isinstance(value, list):
        return [n for inner in value for n in _numbers(inner)]
    return []


def where_is_data(
    fetch: Fetch,
    name: str,
    skill_id: str,
    params: Mapping[str, str | None],
    *,
    table_name: str | None = None,
    dynamodb: DynamoDBClient | None = None,
) -> list[str]:
    """Hints for an empty report of ``name``; each names what was looked at. Never raises for a look-up."""
    from alexa_skill_metrics.exceptions import SkillMetricsError

    query = {k: v for k, v in params.items() if k not in ("nextToken", "maxResults")}
    stage = query.get("stage") or "live"
    hints: list[str] = []
    try:
        for other in STAGES:
            if other != stage and not is_empty(fetch(name, {**query, "stage": other})):
                hints.append(f"stage {other!r} has data in this range: add --stage {other}")
        for flag, key in (("--intent", "intent"), ("--locale", "locale")):
            if query.get(key) and not is_empty(fetch(name, {**query, key: None})):
                hints.append(f"without {flag} {query[key]} this range has data")
        if query.get("intent"):
            intents = fetch("intents", {**query, "intent": None, "period": "P1D"})
            names = [row["intent"] for row in intents.get("intents", [])[:8]]
            if names:
                hints.append(f"intents with utterances in this range: {', '.join(names)}")
    except SkillMetricsError:
        pass  # a look-up the report's target cannot answer is no hint
    if table_name is not None and dynamodb is not None:
        hints += _table_hints(dynamodb, table_name, skill_id)
    return hints or ["no other stage, filter or (with the table) day has data either"]


def _table_hints(dynamodb: DynamoDBClient, table_name: str, skill_id: str) -> list[str]:
    from alexa_skill_metrics.reporting.params import format_time
    from alexa_skill_metrics.storage.keys import rollup_pk

    days: list[str] = []
    for stage in STAGES:
        pk = rollup_pk(skill_id, stage, "P1D", intents=False)
        ends = []
        for forward in (True, False):
            found = dynamodb.query(
                TableName=table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ProjectionExpression="sk",
                ScanIndexForward=forward,
                Limit=1,
            )["Items"]
            if found:
                ends.append(int(found[0]["sk"]["S"].split("#", 1)[0]))
        if ends:
            first, last = format_time(min(ends))[:10], format_time(max(ends))[:10]
            days.append(f"stage {stage!r} has days from {first} to {last} (UTC)")
    if days:
        return [f"this skill's rollups: {'; '.join(days)}"]
    return [f"the table has no rollups for {skill_id}; {other_skills(dynamodb, table_name, skill_id)}"]


def other_skills(dynamodb: DynamoDBClient, table_name: str, skill_id: str) -> str:
    """Where the table's data is, when ``skill_id`` has none: the skills a sample of it names."""
    skills, rollups = skills_in_table(dynamodb, table_name)
    others = [skill for skill in skills if skill != skill_id]
    if others:
        return f"skills with data in {SAMPLE_ITEMS} items read: " + ", ".join(others[:5])
    if skills and not rollups:
        return f"events but no rollups in {SAMPLE_ITEMS} items read: has `skill-metrics aggregate` run?"
    return f"no data for any skill in {SAMPLE_ITEMS} items read: is this the table the skill records into?"


def skills_in_table(dynamodb: DynamoDBClient, table_name: str) -> tuple[list[str], bool]:
    """The skill ids the first ``SAMPLE_ITEMS`` items of a ``Scan`` name, and whether any is a rollup."""
    from alexa_skill_metrics.storage.keys import is_rollup_key, skill_in_key

    page = dynamodb.scan(TableName=table_name, ProjectionExpression="pk", Limit=SAMPLE_ITEMS)["Items"]
    keys = [item["pk"]["S"] for item in page]
    skills = sorted({skill for skill in map(skill_in_key, keys) if skill})
    return skills, any(is_rollup_key(key) for key in keys)
