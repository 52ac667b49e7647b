"""Reporting fixtures: seeded realistic traffic through the real skill, aggregated, reported two ways.

Traffic is the sample skill's ``Simulation`` (customers returning over days, three locales,
reprompts, failures, silence, exits) answered by the sample skill with the recorder installed
exactly as a skill developer does. The recorder writes through a capturing stand-in client, so
thousands of requests take seconds; the captured items are what DynamoDB would hold. They reach
the aggregator as Lambda-shaped stream records through its public entry point
(``alexa_skill_metrics.aggregator.lambda_handler``), which writes rollups into in-process moto.

``assert_reports_match`` compares a report from stored rollups with the same report recomputed
from the raw events: counts exactly; distinct customers exactly up to 1,000 and within 2% beyond;
latency percentiles, which rollups keep exact up to 200 values and within 1% beyond, by value
(see ``assert_latency_close``).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore

from alexa_skill_metrics.model import Event
from alexa_skill_metrics.periods import GRANULARITIES
from alexa_skill_metrics.reporting import (
    EventList,
    MetricRequest,
    RecomputedRollups,
    Reporter,
    ReportRequest,
    StoredRollups,
)
from alexa_skill_metrics.reporting.views.common import LATENCY_DIGITS
from alexa_skill_metrics.sketches import EXACT_LIMIT, RELATIVE_ACCURACY, ExactLatency
from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.rollups import RollupStore
from sample_skill.envelopes import DEMO_SKILL_ID
from tests.conftest import KEY
from tests.functional.conftest import mark_cold_starts

SKILL = DEMO_SKILL_ID
START_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z, a Monday
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
Item = dict[str, dict[str, Any]]
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"


class CapturingClient:
    """Stands in for DynamoDB under the recorder: keeps each PutItem's item, in order.

    Like the recorder's conditional write, the first item of a key wins: the simulation's
    envelope factories (one per locale) can give two requests the same id in the same second.
    """

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.duplicates = 0
        self._keys: set[tuple[str, str]] = set()

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        item = kwargs["Item"]
        key = (item["pk"]["S"], item["sk"]["S"])
        if key in self._keys:
            self.duplicates += 1
        else:
            self._keys.add(key)
            self.items.append(item)
        return {}


def record(
    *,
    customers: int,
    days: int,
    seed: int,
    stage: str = "live",
    start_ms: int = START_MS,
    rollout_at_ms: int | None = None,
) -> list[Item]:
    """The items the recorder writes while the sample skill answers a seeded simulation.

    ``rollout_at_ms``: the sample skill's release 2 (which fails more) takes over from release 1
    then, a 10% canary for six hours first (``traffic.Rollout``); without it, events have no release.
    """
    from alexa_skill_metrics import SkillMetrics
    from sample_skill.app import SLOT_VALUES, build_handler, release_handlers
    from sample_skill.traffic import Rollout, Simulation

    client = CapturingClient()
    metrics = SkillMetrics(  # the sample skill's own opt-in: the colour slot's unresolved values
        table_name="captured",
        pseudonym_key=KEY,
        client=client,
        stage=stage,
        slot_values=SLOT_VALUES,  # type: ignore[arg-type]
    )
    handler = (
        build_handler(metrics)
        if rollout_at_ms is None
        else Rollout(at_ms=rollout_at_ms, seed=seed).serve(release_handlers(metrics))
    )
    Simulation(customers=customers, days=days, seed=seed, start_ms=start_ms, skill_id=SKILL).run(handler)
    assert client.duplicates < len(client.items) / 100
    mark_cold_starts(client.items)
    return client.items


def stream_records(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The INSERT records a NEW_IMAGE stream delivers for ``items``, in write order."""
    return [
        {
            "eventID": f"e{n}",
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "eventSourceARN": STREAM_ARN,
            "dynamodb": {
                "Keys": {"pk": item["pk"], "sk": item["sk"]},
                "NewImage": item,
                "SequenceNumber": f"{1_000_000 + n:021d}",
                "StreamViewType": "NEW_IMAGE",
            },
        }
        for n, item in enumerate(items)
    ]


def aggregate(
    client: Any, table: str, items: Sequence[Item], *, granularities: Sequence[str] = GRANULARITIES
) -> None:
    """Feed ``items`` to the aggregator's Lambda entry point in batches of 1,000; no record may fail."""
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.aggregator import lambda_handler

    aggregator = Aggregator(table, client, granularities=granularities)
    records = stream_records(items)
    for start in range(0, len(records), 1000):
        response = lambda_handler({"Records": records[start : start + 1000]}, None, aggregator=aggregator)
        assert response == {"batchItemFailures": []}


class ReadCache:
    """A DynamoDB client that answers a read it has answered before from memory, until a write.

    Module fixtures aggregate once and then read the same rollups in many tests; moto spends most of
    a report's time serialising its answers (several seconds for a week of rollup items), so each
    distinct read goes to moto once. Any other API call (a write, a table change) empties the cache
    before it runs, so a test that writes and reads again sees its write. Every answer is a fresh
    copy, as a real client's would be.
    """

    READS = frozenset({"query", "scan", "get_item", "batch_get_item"})

    def __init__(self, client: Any) -> None:
        self._client = client
        self._answers: dict[tuple[str, str], bytes] = {}
        self._api = {
            botocore.xform_name(operation) for operation in client.meta.service_model.operation_names
        }

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._api:
            return attribute
        if name not in self.READS:
            self._answers.clear()
            return attribute

        def read(**kwargs: Any) -> Any:
            key = (name, json.dumps(kwargs, sort_keys=True, default=repr))
            if key not in self._answers:
                self._answers[key] = pickle.dumps(attribute(**kwargs))
            return pickle.loads(self._answers[key])

        return read


@contextmanager
def moto_table(name: str) -> Iterator[Any]:
    """An in-process moto DynamoDB with the metrics table, usable from module-scoped fixtures.

    It yields a ``ReadCache`` over the client: what a fixture writes, its tests read many times.
    """
    import boto3
    from moto import mock_aws

    from alexa_skill_metrics.cli.local import partition_queries
    from alexa_skill_metrics.storage.table import create_table

    saved = dict(os.environ)
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
    )
    for name_ in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name_, None)
    try:
        with mock_aws():
            partition_queries()
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_table(client, name)
            yield ReadCache(client)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Deployment:
    """Recorded traffic aggregated into a moto table, and reporters over both sources."""

    client: Any
    table: str
    events: list[Event]
    now_ms: int

    def stored(self) -> Reporter:
        return Reporter(StoredRollups(RollupStore(self.table, self.client)), clock=lambda: self.now_ms)

    def recomputed(self) -> Reporter:
        source = RecomputedRollups(EventList(self.events), since_ms=START_MS)
        return Reporter(source, clock=lambda: self.now_ms)


def events_of(items: Sequence[Item]) -> list[Event]:
    return [item_to_event(item) for item in items]


def view_request(start_ms: int, end_ms: int, **params: str) -> ReportRequest:
    from alexa_skill_metrics.reporting.params import format_time

    return ReportRequest.from_params(
        SKILL, {"startTime": format_time(start_ms), "endTime": format_time(end_ms), **params}
    )


def metric_pages(reporter: Reporter, start_ms: int, end_ms: int, **params: str) -> dict[str, Any]:
    """Every page of a metric call, concatenated (and the number of pages)."""
    from alexa_skill_metrics.reporting.params import format_time

    query = {"startTime": format_time(start_ms), "endTime": format_time(end_ms), **params}
    request = MetricRequest.from_params(SKILL, query)
    timestamps: list[str] = []
    values: list[int] = []
    pages = 0
    while True:
        body = reporter.metric(request)
        pages += 1
        timestamps += body["timestamps"]
        values += body["values"]
        if body["nextToken"] is None:
            return {"metric": body["metric"], "timestamps": timestamps, "values": values, "pages": pages}
        request = request.with_token(body["nextToken"])


# --- comparing reports -----------------------------------------------------------------------------


def assert_reports_match(stored: Any, recomputed: Any, *, customer_tolerance: float = 0.0) -> None:
    """``stored`` equals ``recomputed`` (the exact reference) leaf by leaf, as METRICS.md allows.

    Customer counts up to 1,000 must be equal; above that, and for ratios built on customer
    counts, within ``customer_tolerance`` (relative). Latency percentiles are skipped here.
    """
    problems: list[str] = []
    _compare(stored, recomputed, (), customer_tolerance, problems)
    assert not problems, "\n".join(problems[:20])


def _compare(a: Any, b: Any, path: tuple[Any, ...], tolerance: float, problems: list[str]) -> None:
    where = "/".join(map(str, path))
    if isinstance(b, dict):
        if not isinstance(a, dict) or set(a) != set(b):
            problems.append(f"{where}: keys {sorted(a) if isinstance(a, dict) else a} != {sorted(b)}")
            return
        if "p50" in b:  # latency percentiles: compared by rank elsewhere
            return
        for key in b:
            _compare(a[key], b[key], (*path, key), tolerance, problems)
        return
    if isinstance(b, list):
        if not isinstance(a, list) or len(a) != len(b):
            problems.append(f"{where}: {len(a) if isinstance(a, list) else a} items != {len(b)}")
            return
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, (*path, index), tolerance, problems)
        return
    customers = any("ustomer" in str(part) for part in path)
    if a == b:
        return
    exact_required = not customers or (isinstance(b, int) and b <= 1000) or tolerance == 0.0
    if exact_required or not isinstance(a, int | float) or abs(a - b) > tolerance * abs(b):
        problems.append(f"{where}: stored {a!r} != recomputed {b!r}")


def assert_latency_close(stored_ms: float | None, values: Sequence[float], q: float) -> None:
    """A reported percentile is the exact quantile of ``values``: equal up to ``EXACT_LIMIT`` values,
    within ``RELATIVE_ACCURACY`` beyond (and the report's rounding to ``LATENCY_DIGITS`` either way)."""
    exact = ExactLatency()
    for value in values:
        exact.add(value)
    expected = exact.quantile(q)
    assert stored_ms is not None and expected is not None
    allowed = (RELATIVE_ACCURACY * expected if len(values) > EXACT_LIMIT else 0.0) + 0.5 * 10**-LATENCY_DIGITS
    assert abs(stored_ms - expected) <= allowed + 1e-9, (q, len(values), stored_ms, expected)
