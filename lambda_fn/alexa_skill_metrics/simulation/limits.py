"""The limits DynamoDB enforces per partition and per item, and where AWS documents them.

* Write throughput per partition: 1,000 write units per second, 3,000 read units per second
  ("Each partition on the table can serve up to 3,000 read request units or 1,000 write
  request units", developer guide: Partitions and data distribution; knowledge center:
  on-demand table throttling). An item lives on exactly one partition, so one item can never
  take more; the model gives every item its own partition (what adaptive capacity's
  isolation of frequently accessed items does at best: developer guide, "Burst and adaptive
  capacity"), and every event partition key value one partition (its sort keys increase
  with time, so split for heat cannot spread it: same page). 1-second sliding windows.
  Beyond it the request fails with ``ProvisionedThroughputExceededException`` and throttling
  reason ``TableWriteKeyRangeThroughputExceeded`` (developer guide: DynamoDB throttling
  resolution guide; API reference: ThrottlingReason); ``BatchGetItem`` returns the throttled
  keys as ``UnprocessedKeys`` and fails only if none could be read (API reference:
  BatchGetItem).
* Write units: one per started KB of the item written, a ``PutItem`` whose condition fails
  consumes them too (developer guide: "Read/write capacity units": "If a ConditionExpression
  evaluates to false ... still consumes write capacity"); strongly consistent reads one read
  unit per started 4 KB.
* Item size: 400 KB at most, else ``ValidationException`` (developer guide: Quotas, "Item
  size"); sizes as DynamoDB counts them (attribute names plus values: ``item_size``).
* Conditional writes are atomic per request: the store evaluates the condition and writes
  within one request, and the clock runs no other request meanwhile.

Example
-------
>>> item_size({"pk": {"S": "ROLL#a"}, "n": {"N": "12"}, "m": {"M": {"k": {"BOOL": True}}}})
18
>>> limits = Limits()
>>> limits.try_write("item", 600, 0.0), limits.try_write("item", 600, 0.5), limits.try_write("item", 600, 1.0)
(True, False, True)
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.storage.table import item_size

PARTITION_WCU = 1_000  # write units per second per partition
PARTITION_RCU = 3_000  # read units per second per partition
MAX_ITEM_BYTES = 400 * 1024

__all__ = ["MAX_ITEM_BYTES", "PARTITION_RCU", "PARTITION_WCU", "Limits", "Window", "item_size"]


class Window:
    """Units consumed in the last second (sliding)."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.total = 0

    def used(self, now: float) -> int:
        while self.entries and self.entries[0][0] <= now - 1.0:
            self.total -= self.entries.popleft()[1]
        return self.total

    def add(self, now: float, units: int) -> None:
        self.entries.append((now, units))
        self.total += units


@dataclass
class Limits:
    """Per-partition accounting shared by every client of one simulated table."""

    writes: dict[Any, Window] = field(default_factory=lambda: defaultdict(Window))
    reads: dict[Any, Window] = field(default_factory=lambda: defaultdict(Window))
    per_second: dict[tuple[Any, int], int] = field(default_factory=lambda: defaultdict(int))
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)
    throttled: Counter[str] = field(default_factory=Counter)  # throttled requests (first and later attempts)
    gave_up: Counter[str] = field(default_factory=Counter)  # throttled on every attempt: the caller saw it
    conflict_units: int = 0  # write units spent on conditional writes that failed
    write_units: int = 0  # consumed in all (billed)
    read_units: int = 0

    def try_write(self, key: Any, units: int, now: float) -> bool:
        window = self.writes[key]
        if window.used(now) + units > PARTITION_WCU:
            return False
        window.add(now, units)
        self.per_second[(key, int(now))] += units
        self.write_units += units
        return True

    def try_read(self, key: Any, units: int, now: float) -> bool:
        window = self.reads[key]
        if window.used(now) + units > PARTITION_RCU:
            return False
        window.add(now, units)
        self.read_units += units
        return True

    def peak_write(self, keep: Callable[[Any], bool] = lambda _: True) -> tuple[int, Any]:
        """Highest write units consumed in one (whole virtual) second by one partition, and which."""
        best = (0, None)
        for (key, _), units in self.per_second.items():
            if units > best[0] and keep(key):
                best = (units, key)
        return best
