"""Shared fixtures: dummy AWS configuration, the shared fixture folder, the events/ samples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
SHARED = REPO.parent / "shared"
SHARED_FIXTURES = SHARED / "fixtures" / "alexa-requests"
TABLE = "skill-metrics-test"
KEY = "test-pseudonym-key-0123456789"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: dummy credentials, a fixed region, no endpoint leaking in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    for name in ("METRICS_TABLE", "METRICS_STAGE", "METRICS_PSEUDONYM_KEY", "METRICS_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    # Outside the Lambda runtime tests, no handler may try to register a Lambda extension
    for name in ("METRICS_DELIVERY", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_MAX_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)


def load_event(name: str) -> dict[str, Any]:
    """A sample from events/, by file name without ``.json``."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def shared_envelope(name: str) -> dict[str, Any]:
    """A shared fixture envelope by its path under ``alexa-requests``; skips the test where it is absent."""
    path = SHARED_FIXTURES / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared fixture envelopes come with CI, not with a clone")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))  # some carry a BOM
    return data


def shared_fixture_files() -> list[Path]:
    return sorted(p for p in SHARED_FIXTURES.rglob("*.json"))


@pytest.fixture
def shared_fixtures() -> Iterator[Path]:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(
            f"{SHARED_FIXTURES} is absent: the shared fixture envelopes come with CI, not with a clone"
        )
    yield SHARED_FIXTURES


@pytest.fixture
def dynamodb(aws_env: None) -> Iterator[Any]:
    """An in-process moto DynamoDB with the metrics table created as ``create-table`` creates it."""
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.cli.local import partition_queries
    from alexa_skill_metrics.storage.table import create_table

    with mock_aws():
        partition_queries()  # a Query reads its partition, as DynamoDB's does, not the whole table
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        yield client


def table_items(client: Any, table: str = TABLE) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


@pytest.fixture
def moto_server(aws_env: None) -> Iterator[str]:
    """moto's HTTP server on loopback, reached through AWS_ENDPOINT_URL; yields the endpoint URL."""
    import urllib.request

    from alexa_skill_metrics.cli.local import embedded_dynamodb

    def reset(endpoint: str) -> None:
        # moto keeps its state per process, not per server: every test starts from an empty account
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
        )

    with embedded_dynamodb() as endpoint:
        reset(endpoint)
        yield endpoint
        reset(endpoint)
