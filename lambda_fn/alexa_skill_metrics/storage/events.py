"""Reading raw events back: every event of one skill in a time range, for the recomputation path.

Events are partitioned by skill, hour and write shard (``keys.event_partitions``), so a range is
``hours x keys.event_read_shards()`` key-range Queries, never a Scan. Most of them are empty and each is
a round trip, so ``READ_CONCURRENCY`` of them are in flight at once, a few hours ahead of what the
caller consumes (memory stays bounded on long ranges). Items that are not events (or that no
longer decode) are skipped and counted, as the aggregator would not count them either.

Example
-------
>>> reader = EventReader("skill-metrics")          # no client built yet
>>> reader.items_read, reader.skipped
(0, 0)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.periods import buckets
from alexa_skill_metrics.storage.codec import is_event_item, item_to_event
from alexa_skill_metrics.storage.keys import event_partitions, event_read_shards
from alexa_skill_metrics.storage.rollups import TableAccess

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.model import Event

READ_CONCURRENCY = 8  # within analytics_client's 10 pooled connections
READ_AHEAD_HOURS = 4
# (hours read, hours in the range, events read so far): for a progress display
ReadProgress = Callable[[int, int, int], None]


class EventReader(TableAccess):
    """Reads the raw events of a skill from the metrics table.

    Parameters
    ----------
    table_name:
        The metrics table.
    client:
        A boto3 DynamoDB client; by default one is built on first use.
    progress:
        Called after each hour read with ``(hours read, hours in the range, events read)``.
    shards:
        Write shards per hour to query (``keys.event_read_shards()`` by default).

    ``items_read`` and ``calls`` count what reading cost; ``skipped`` counts items in event
    partitions that were not readable events.
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        progress: ReadProgress | None = None,
        shards: int | None = None,
    ) -> None:
        super().__init__(table_name, client)
        self.skipped = 0
        self.progress = progress
        self.shards = shards  # write shards per hour to query; None: keys.event_read_shards()

    def read(self, skill_id: str, start_ms: int, end_ms: int) -> Iterator[Event]:
        """Events of ``skill_id`` whose time (``Event.timestamp_ms``) lies in ``[start_ms, end_ms)``.

        Ordered by hour, then shard, then time within a shard: callers that need a global order
        sort themselves.
        """
        if end_ms <= start_ms:
            return
        low, high = f"{start_ms:013d}", f"{end_ms - 1:013d}~"  # '#' after the digits sorts below '~'
        hours = list(buckets(start_ms, end_ms, "PT1H"))
        shards = self.shards or event_read_shards()
        partitions = iter([pk for hour in hours for pk in event_partitions(skill_id, hour, shards)])
        _ = self.client  # built once, before the threads share it
        pool = ThreadPoolExecutor(READ_CONCURRENCY, thread_name_prefix="event-reader")
        window: deque[Future[list[dict[str, Any]]]] = deque()

        def submit() -> None:
            pk = next(partitions, None)
            if pk is not None:
                window.append(pool.submit(self._partition, pk, low, high))

        events = done = 0
        try:
            for _ in range(READ_AHEAD_HOURS * shards):
                submit()
            while window:
                items = window.popleft().result()
                submit()
                for event in self._decode(items):
                    events += 1
                    yield event
                done += 1
                if self.progress is not None and done % shards == 0:
                    self.progress(done // shards, len(hours), events)
        finally:  # a caller that stops early leaves no queries running for it
            pool.shutdown(cancel_futures=True)

    def _decode(self, items: list[dict[str, Any]]) -> Iterator[Event]:
        for item in items:
            if not is_event_item(item):
                self.skipped += 1
                continue
            try:
                yield item_to_event(item)
            except ValueError:
                self.skipped += 1

    def _partition(self, pk: str, low: str, high: str) -> list[dict[str, Any]]:
        return list(self.query_range(pk, low, high))
