"""The demo's fast path: moto in this process, the recorder writing to moto's backend directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from alexa_skill_metrics.cli.demo import run_demo
from alexa_skill_metrics.cli.local import MotoPutItem, in_process_dynamodb
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.model import Event
from alexa_skill_metrics.storage.table import create_table
from alexa_skill_metrics.storage.writer import EventWriter
from tests.conftest import TABLE

HOUR = 1_767_607_200_000


def event(request_id: str) -> Event:
    return Event(skill_id="amzn1.ask.skill.1", request_id=request_id, request_type="LaunchRequest",
                 timestamp_ms=HOUR, received_ms=HOUR, customer="c1", locale="en-US")  # fmt: skip


def stream_images(client: Any) -> list[dict[str, Any]]:
    from tests.functional.conftest import stream_records

    return [r["dynamodb"]["NewImage"] for r in stream_records(client, TABLE)]


def test_the_demo_client_stores_and_streams_what_boto3_puts_do() -> None:
    with in_process_dynamodb():
        client = boto3.client("dynamodb")
        create_table(client, TABLE)
        settings = Settings(table_name=TABLE)
        # Given one event written through a default boto3 client and one through the demo's client
        through_boto3, direct = EventWriter(settings, client), EventWriter(settings, MotoPutItem())  # type: ignore[arg-type]
        assert through_boto3.put(event("r1")) and direct.put(event("r2"))
        # Then both items read back and stream alike (apart from their request ids)
        items = client.scan(TableName=TABLE)["Items"]
        assert len(items) == 2
        normal = [{k: v for k, v in i.items() if k not in ("sk", "rid", "pk")} for i in items]
        assert normal[0] == normal[1]
        assert [i["sk"] for i in stream_images(client)] == [
            i["sk"] for i in sorted(items, key=lambda i: i["sk"]["S"])
        ]
        # And a repeated request is refused by the condition, counted as a duplicate, not a drop
        assert direct.put(event("r1")) and direct.duplicates == 1 and direct.dropped == 0


def test_a_condition_failure_is_botocores_client_error() -> None:
    with in_process_dynamodb():
        client = boto3.client("dynamodb")
        create_table(client, TABLE)
        put = MotoPutItem()
        item = {"pk": {"S": "x"}, "sk": {"S": "y"}}
        put.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
        with pytest.raises(ClientError) as error:
            put.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
        assert error.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_the_demo_records_every_request_in_process(tmp_path: Path) -> None:
    result = run_demo(customers=12, days=2, seed=9, out_dir=str(tmp_path), quiet=True)
    assert result.requests == result.events > 0  # nothing dropped, nothing doubled
    totals = result.views["utterances"]["totals"]
    assert totals["utterances"] == totals["successful"] + totals["failed"] > 0
    assert all("failureRate" in row for row in result.views["intents"]["intents"])
    assert (tmp_path / "metrics.html").exists() and (tmp_path / "overview.json").exists()


def test_the_aggregator_writing_directly_stays_exactly_once(dynamodb: Any, traffic: Any) -> None:
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from tests.functional.conftest import assert_matches_fold, batches
    from tests.functional.test_aggregator_exactly_once import deliver

    # Given the aggregator writing through the demo's client, reading through a default one
    aggregator = Aggregator(TABLE, MotoPutItem(dynamodb))
    # When the traffic is delivered, and delivered again in other batches
    for size in (100, 33):
        for batch in batches(traffic.records, size):
            deliver(batch, aggregator)
    # Then the rollups equal one clean fold: conditions held, nothing counted twice
    assert_matches_fold(dynamodb, TABLE, traffic.events)


def test_version_conditions_hold_on_direct_writes(dynamodb: Any) -> None:
    from alexa_skill_metrics.storage.rollups import RollupStore, VersionConflict

    store = RollupStore(TABLE, MotoPutItem(dynamodb))  # type: ignore[arg-type]
    item = {"pk": {"S": "ROLL#x"}, "sk": {"S": "1"}, "ver": {"N": "1"}, "b": {"B": b"\x00\xff"}}
    store.put_if(item, 0)
    with pytest.raises(VersionConflict):
        store.put_if(item, 0)  # it exists now
    with pytest.raises(VersionConflict):
        store.put_if({**item, "ver": {"N": "3"}}, 2)  # stored version is 1
    store.put_if({**item, "ver": {"N": "2"}}, 1)
    stored = dynamodb.get_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    assert stored["ver"] == {"N": "2"} and stored["b"] == {"B": b"\x00\xff"}
