"""How a finished event reaches the ``EventWriter``: the one seam between recorder and storage.

The recorder hands every event to a ``Delivery`` and never waits on anything else. A delivery
decides *when* the write happens: ``InlineDelivery`` writes at once, on the request's thread
(today's behaviour, and the fallback of every other delivery). Other deliveries (after the
Lambda reply is posted, on a background thread for web services) implement the same protocol.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> from alexa_skill_metrics.storage.writer import EventWriter
>>> delivery = InlineDelivery(EventWriter(Settings(table_name="skill-metrics")))
>>> delivery.flush(timeout_s=0.1)   # nothing pending: returns at once
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Protocol

from alexa_skill_metrics import telemetry

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Event
    from alexa_skill_metrics.storage.writer import EventWriter


class Delivery(Protocol):
    """Takes events from the recorder; never raises into the skill."""

    writer: EventWriter

    def submit(self, event: Event) -> None:
        """Hand over one finished event."""
        ...

    def flush(self, timeout_s: float) -> None:
        """Write whatever is pending, waiting at most ``timeout_s`` seconds."""
        ...


class InlineDelivery:
    """Writes each event at once, on the caller's thread: the reply waits for the write."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer

    def submit(self, event: Event) -> None:
        self.writer.put(event)

    def flush(self, timeout_s: float) -> None:
        return None


DEFAULT_MAX_PENDING = 5000  # about 1 kB each: some 5 MB held at most while DynamoDB is down
DEFAULT_WORKERS = 8
_REPORT_EVERY_S = 1.0
# Request ids remembered per process: BatchWriteItem takes no condition, so an Alexa retry of a
# request this process already recorded is recognised here instead (first write wins).
RECENT_REQUESTS = 4096
QUEUE_FULL = "QueueFull"  # the drop code of an event that found the queue full
EXIT_PENDING = "ExitPending"  # the drop code of an event still queued when the process exited


class BackgroundDelivery:
    """Writes events on a few daemon threads, in batches, so the request thread never waits for DynamoDB.

    ``submit`` appends to a bounded in-memory queue and returns: it never blocks and never does
    I/O. Each of ``workers`` threads takes what is queued, up to 25 events, and writes it with one
    ``BatchWriteItem`` (``EventWriter.put_batch``: unprocessed items and throttled or failed calls
    retried with backoff and jitter). An idle service writes each event at once (a batch of one);
    under load the queue fills while the workers are busy and batches grow to 25, so eight workers
    sustain some 3,000 events a second with DynamoDB 20 ms away (``bench/bench_webservice.py``).

    ``BatchWriteItem`` takes no condition, so first-write-wins on a request id (an Alexa retry)
    is kept here: a request id among the last ``RECENT_REQUESTS`` this process submitted is
    counted as a duplicate (``writer.duplicates``) and not written again.

    Memory is bounded while DynamoDB is slow or down: at most ``max_pending`` events wait, plus
    the batches the workers hold; beyond that new events are dropped and counted. The workers
    report those drops with the writer's own drop telemetry (log line and ``RecorderDrops``
    metric, at most once a second while the queue stays full), so the request thread never logs.
    The workers start on the first ``submit`` (nothing runs for a process that never records)
    and again in a forked child (pre-forking servers such as gunicorn). Pending events are
    flushed at interpreter exit for at most ``exit_timeout_s`` seconds; what is still queued
    then, queued or in a worker's hands, is counted as dropped (``ExitPending``).

    Parameters
    ----------
    writer:
        The ``EventWriter`` that does the writes (its counters are thread-safe).
    max_pending:
        Events that may wait at once; beyond that, new events are dropped.
    exit_timeout_s:
        How long the exit hook waits for pending events.
    workers:
        Threads writing at once.

    Example
    -------
    >>> from alexa_skill_metrics.config import Settings
    >>> from alexa_skill_metrics.storage.writer import EventWriter
    >>> delivery = BackgroundDelivery(EventWriter(Settings(table_name="t")), max_pending=100)
    >>> delivery.pending, delivery.dropped, delivery.started
    (0, 0, False)
    """

    def __init__(
        self,
        writer: EventWriter,
        max_pending: int = DEFAULT_MAX_PENDING,
        exit_timeout_s: float = 2.0,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.writer = writer
        self.max_pending = max_pending
        self.exit_timeout_s = exit_timeout_s
        self.workers = workers
        self._items: deque[Event] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._busy = 0  # events the workers hold and have not finished writing
        self._threads: list[threading.Thread] = []
        self._pid = 0
        self._closed = False
        self._dropped = 0  # queue full; guarded by _ready
        self._reported = 0  # drops already reported; guarded by _ready
        self._report_after = 0.0  # monotonic time of the next report; guarded by _ready
        self._exit_hook = False
        self._starting = threading.Lock()
        self._recent: set[tuple[str | None, str]] = set()  # guarded by _ready
        self._recent_order: deque[tuple[str | None, str]] = deque()

    @property
    def pending(self) -> int:
        """Events queued or being written."""
        with self._ready:
            return len(self._items) + self._busy

    @property
    def dropped(self) -> int:
        """Events dropped because the queue was full.

        ``writer.dropped`` counts write failures, and these too once a worker has reported them.
        """
        with self._ready:
            return self._dropped

    @property
    def started(self) -> bool:
        return bool(self._threads)

    def submit(self, event: Event) -> None:
        """Queue ``event`` for the workers; drop and count it when the queue is full."""
        if self._pid != os.getpid():
            with self._starting:
                if self._pid != os.getpid():
                    self._start()
        key = (event.skill_id, event.request_id) if event.request_id else None
        with self._ready:
            if key is not None and key in self._recent:
                duplicate = True
            else:
                duplicate = False
                if self._closed or len(self._items) >= self.max_pending:
                    self._dropped += 1
                else:
                    self._items.append(event)
                    if key is not None:
                        self._remember(key)
                self._ready.notify()
        if duplicate:
            self.writer.tally(duplicates=1)

    def _remember(self, key: tuple[str | None, str]) -> None:
        self._recent.add(key)
        self._recent_order.append(key)
        if len(self._recent_order) > RECENT_REQUESTS:
            self._recent.discard(self._recent_order.popleft())

    def flush(self, timeout_s: float) -> None:
        """Wait until everything submitted so far is written, or ``timeout_s`` has passed."""
        if not any(thread.is_alive() for thread in self._threads):
            return
        with self._ready:
            self._ready.wait_for(lambda: not self._items and not self._busy, timeout=max(timeout_s, 0.0))

    def close(self, timeout_s: float) -> None:
        """Flush, then stop the workers; later submissions are dropped and counted."""
        self.flush(timeout_s)
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    # --- the workers -----------------------------------------------------------------------------

    def _start(self) -> None:
        # First submit of this process; in a forked child the parent's lock, queue and threads are
        # not ours: the parent writes what it had queued, the child starts afresh.
        self._ready = threading.Condition(threading.Lock())
        self._items = deque()
        self._busy = 0
        self._pid = os.getpid()
        self._threads = [
            threading.Thread(target=self._run, name=f"skill-metrics-delivery-{n}", daemon=True)
            for n in range(1, self.workers + 1)
        ]
        for thread in self._threads:
            thread.start()
        if not self._exit_hook:
            self._exit_hook = True
            atexit.register(_flush_at_exit, weakref.ref(self))

    def _run(self) -> None:
        from alexa_skill_metrics.storage.writer import BATCH_SIZE

        batch: list[Event] = []
        while True:
            with self._ready:
                self._busy -= len(batch)
                self._ready.notify_all()  # flush() waits for an empty, idle queue
                while not self._items and not self._closed and self._dropped == self._reported:
                    self._ready.wait()
                batch = [self._items.popleft() for _ in range(min(BATCH_SIZE, len(self._items)))]
                self._busy += len(batch)
                # One report a second at most while the queue stays full, and the rest once it drains
                new_drops = self._take_drops(due=not batch)
                if not batch and not new_drops and self._closed:
                    return
            if new_drops:
                self._report_drops(new_drops, QUEUE_FULL)
            if batch:
                self._write(batch)

    def _take_drops(self, due: bool) -> int:
        """Queue-full drops to report now (``_ready`` held); ``due``: whether or not a second has passed."""
        if self._dropped == self._reported or not (due or time.monotonic() >= self._report_after):
            return 0
        self._report_after = time.monotonic() + _REPORT_EVERY_S
        new, self._reported = self._dropped - self._reported, self._dropped
        return new

    def _report_while_retrying(self) -> None:
        """Between a worker's retries (DynamoDB throttling or down): the queue may be overflowing."""
        with self._ready:
            new = self._take_drops(due=False)
        if new:
            self._report_drops(new, QUEUE_FULL)

    def _report_drops(self, new: int, code: str) -> None:
        """Count drops in the writer's counter and its telemetry, off the request thread."""
        self.writer.tally(dropped=new)
        with contextlib.suppress(Exception):  # telemetry must not stop the worker
            telemetry.warn("metrics events dropped", error_code=code, dropped=new)
            telemetry.count(telemetry.DROPS_METRIC, value=new, stage=self.writer._settings.stage)

    def _write(self, batch: list[Event]) -> None:
        try:
            self.writer.put_batch(batch, between_retries=self._report_while_retrying)
        except Exception as exc:  # put_batch() is fail-open already; this keeps the worker alive regardless
            with contextlib.suppress(Exception):
                telemetry.warn("metrics delivery error", error=type(exc).__name__)

    def _abandon(self) -> None:
        """At exit, after the flush: count what is still queued or being written as dropped.

        The workers are daemon threads: whatever they hold dies with the interpreter (a write in
        flight may still land in its last moments, and then counts both ways).
        """
        with self._ready:
            left = len(self._items) + self._busy
            self._items.clear()
            self._closed = True
            self._ready.notify_all()
        if left:
            self._report_drops(left, EXIT_PENDING)


def _flush_at_exit(ref: weakref.ref[BackgroundDelivery]) -> None:
    delivery = ref()
    if delivery is not None:
        delivery.flush(delivery.exit_timeout_s)
        delivery._abandon()
