"""The fixtures' ``ReadCache`` never answers a read with data a later write changed."""

from __future__ import annotations

from tests.functional.reporting_fixtures import moto_table

TABLE = "read-cache"


def test_a_cached_read_is_a_fresh_copy_and_a_write_empties_the_cache() -> None:
    with moto_table(TABLE) as client:
        key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
        client.put_item(TableName=TABLE, Item={**key, "n": {"N": "1"}})
        first = client.get_item(TableName=TABLE, Key=key)
        first["Item"]["n"]["N"] = "changed by the caller"
        assert client.get_item(TableName=TABLE, Key=key)["Item"]["n"] == {"N": "1"}
        client.put_item(TableName=TABLE, Item={**key, "n": {"N": "2"}})
        assert client.get_item(TableName=TABLE, Key=key)["Item"]["n"] == {"N": "2"}
        assert (
            client.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "a"}},
            )["Count"]
            == 1
        )
