"""Reading raw events back: every event of one skill in a time range, for the recomputation path.

Events are partitioned by skill, hour and write shard (``keys.event_partitions``), so a range is
``hours x EVENT_WRITE_SHARDS`` key-range Queries, never a Scan. Items that are not events (or that
no longer decode) are skipped and counted, as the aggregator would not count them either.

Example
-------
>>> reader = EventReader("skill-metrics")          # no client built yet
>>> reader.items_read, reader.skipped
(0, 0)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.periods import buckets
from alexa_skill_metrics.storage.codec import is_event_item, item_to_event
from alexa_skill_metrics.storage.keys import PK, SK, event_partitions
from alexa_skill_metrics.storage.rollups import TableAccess

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.model import Event


class EventReader(TableAccess):
    """Reads the raw events of a skill from the metrics table.

    Parameters
    ----------
    table_name:
        The metrics table.
    client:
        A boto3 DynamoDB client; by default one is built on first use.

    ``items_read`` and ``calls`` count what reading cost; ``skipped`` counts items in event
    partitions that were not readable events.
    """

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        super().__init__(table_name, client)
        self.skipped = 0

    def read(self, skill_id: str, start_ms: int, end_ms: int) -> Iterator[Event]:
        """Events of ``skill_id`` whose time (``Event.timestamp_ms``) lies in ``[start_ms, end_ms)``.

        Ordered by hour, then shard, then time within a shard: callers that need a global order
        sort themselves.
        """
        if end_ms <= start_ms:
            return
        low, high = f"{start_ms:013d}", f"{end_ms - 1:013d}~"  # '#' after the digits sorts below '~'
        for hour in buckets(start_ms, end_ms, "PT1H"):
            for pk in event_partitions(skill_id, hour):
                for item in self._query(pk, low, high):
                    if not is_event_item(item):
                        self.skipped += 1
                        continue
                    try:
                        yield item_to_event(item)
                    except ValueError:
                        self.skipped += 1

    def _query(self, pk: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":low": {"S": low}, ":high": {"S": high}},
        }
        while True:
            page = self.client.query(**kwargs)
            self._count(1, int(page.get("ScannedCount", len(page["Items"]))))
            yield from page["Items"]
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
