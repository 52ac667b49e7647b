"""The table definition shared by ``skill-metrics create-table`` and ``template.yaml``.

Example
-------
>>> [a["AttributeName"] for a in KEY_SCHEMA]
['pk', 'sk']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from alexa_skill_metrics.storage.keys import PK, SK, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_SCHEMA: list[dict[str, Any]] = [
    {"AttributeName": PK, "KeyType": "HASH"},
    {"AttributeName": SK, "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS: list[dict[str, Any]] = [
    {"AttributeName": PK, "AttributeType": "S"},
    {"AttributeName": SK, "AttributeType": "S"},
]
STREAM_SPECIFICATION: dict[str, Any] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
BILLING_MODE: Final = "PAY_PER_REQUEST"


def create_table(client: DynamoDBClient, table_name: str) -> bool:
    """Create the metrics table with its stream and TTL; return ``False`` when it already existed.

    Safe to run again: an existing table is left as it is, and TTL is switched on if it was off.
    """
    created = True
    try:
        client.create_table(
            TableName=table_name,
            KeySchema=KEY_SCHEMA,  # type: ignore[arg-type]
            AttributeDefinitions=ATTRIBUTE_DEFINITIONS,  # type: ignore[arg-type]
            BillingMode=BILLING_MODE,
            StreamSpecification=STREAM_SPECIFICATION,  # type: ignore[arg-type]
        )
    except client.exceptions.ResourceInUseException:
        created = False
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return created
