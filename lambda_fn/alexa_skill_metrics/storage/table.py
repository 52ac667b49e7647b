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


def item_size(value: Any) -> int:
    """Approximately DynamoDB's item size: names, values, and a few bytes per map or list entry.

    >>> item_size({"pk": {"S": "ROLL#a"}, "n": {"N": "12"}, "m": {"M": {"k": {"BOOL": True}}}})
    18
    """
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("S", "N", "B", "BOOL", "M", "L"):
        kind, inner = next(iter(value.items()))
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return len(inner) // 2 + 1
        if kind == "B":
            return len(inner)
        if kind == "BOOL":
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + item_size(v) + 1 for k, v in inner.items())
        return 3 + sum(item_size(v) + 1 for v in inner)
    return sum(len(k.encode()) + item_size(v) for k, v in value.items())
