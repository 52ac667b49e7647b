"""A one-table DynamoDB stand-in over a dict: the calls the aggregator and reports make, nothing more.

Example
-------
>>> table = MemoryTable()
>>> item = {"pk": {"S": "p"}, "sk": {"S": "1"}, "ver": {"N": "1"}}
>>> table.put_item(TableName="t", Item=item, ConditionExpression="attribute_not_exists(#pk)")
{}
>>> table.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "1"}})["Item"] == item
True
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class MemoryTable:
    """The calls the aggregator and ``RollupStore.query`` make, served from a dict (one table)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def put_item(self, *, TableName: str, Item: dict[str, Any], **kwargs: Any) -> Any:
        pk, sk = Item["pk"]["S"], Item["sk"]["S"]
        stored = self.items[pk].get(sk)
        condition = kwargs.get("ConditionExpression")
        if condition == "attribute_not_exists(#pk)":
            ok = stored is None
        elif condition == "#ver = :ver":
            name = kwargs["ExpressionAttributeNames"]["#ver"]
            ok = stored is not None and stored.get(name) == kwargs["ExpressionAttributeValues"][":ver"]
        elif condition is None:
            ok = True
        else:
            raise NotImplementedError(condition)
        if not ok:
            from botocore.exceptions import ClientError

            error: Any = {
                "Error": {
                    "Code": "ConditionalCheckFailedException",
                    "Message": "The conditional request failed",
                }
            }
            raise ClientError(error, "PutItem")
        self.items[pk][sk] = Item
        return {}

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> Any:
        item = self.items.get(Key["pk"]["S"], {}).get(Key["sk"]["S"])
        return {} if item is None else {"Item": item}

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> Any:
        (table, request), *_ = RequestItems.items()
        found = [self.get_item(TableName=table, Key=k).get("Item") for k in request["Keys"]]
        return {"Responses": {table: [i for i in found if i is not None]}, "UnprocessedKeys": {}}

    def query(self, **kwargs: Any) -> Any:
        if kwargs["KeyConditionExpression"] != "#pk = :pk AND #sk BETWEEN :low AND :high":
            raise NotImplementedError(kwargs["KeyConditionExpression"])
        values = kwargs["ExpressionAttributeValues"]
        low, high = values[":low"]["S"], values[":high"]["S"]
        found = [
            item for sk, item in sorted(self.items.get(values[":pk"]["S"], {}).items()) if low <= sk <= high
        ]
        return {"Items": found, "Count": len(found), "ScannedCount": len(found)}
