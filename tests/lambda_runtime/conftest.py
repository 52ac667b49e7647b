"""moto's DynamoDB server for the runtime tests: one per module, emptied before each test."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from alexa_skill_metrics.storage.table import create_table
from tests.lambda_runtime.harness import TABLE, dynamodb_client, moto_dynamodb


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_dynamodb() as url:
        yield url


@pytest.fixture
def table(moto_url: str) -> Any:
    """A DynamoDB client straight to moto (not through the proxy), with an empty metrics table."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10)
    client = dynamodb_client(moto_url)
    create_table(client, TABLE)
    return client
