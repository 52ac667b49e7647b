"""The skill-metrics command: create-table, configuration errors."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from alexa_skill_metrics.cli import Context, cli
from alexa_skill_metrics.storage.keys import TTL_ATTRIBUTE
from alexa_skill_metrics.storage.table import KEY_SCHEMA


def invoke(args: list[str], environ: dict[str, str]) -> Any:
    return CliRunner().invoke(cli, args, obj=Context.from_environ(environ))


def test_create_table_twice_is_fine(dynamodb: Any) -> None:
    # Given METRICS_TABLE names a table that does not exist yet
    env = {"METRICS_TABLE": "cli-made"}
    # When create-table runs twice
    first, second = invoke(["create-table"], env), invoke(["create-table"], env)
    # Then the first creates it, the second finds it, and both succeed
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert "created: cli-made" in first.output and "already exists: cli-made" in second.output
    table = dynamodb.describe_table(TableName="cli-made")["Table"]
    assert table["KeySchema"] == KEY_SCHEMA
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    ttl = dynamodb.describe_time_to_live(TableName="cli-made")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == TTL_ATTRIBUTE


def test_missing_table_setting_fails_fast_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from alexa_skill_metrics import cli as module

    monkeypatch.setattr("sys.argv", ["skill-metrics", "create-table"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 2
