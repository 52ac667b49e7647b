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


DEFAULT_MAX_PENDING = 1000
_REPORT_EVERY_S = 1.0


class BackgroundDelivery:
    """Writes events on one daemon thread, so the request thread never waits for DynamoDB.

    ``submit`` appends to a bounded in-memory queue and returns: it never blocks and never does
    I/O. When ``max_pending`` events are already waiting (DynamoDB slow or down for long), the
    new event is dropped and counted; the worker reports those drops with the writer's own drop
    telemetry (log line and ``RecorderDrops`` metric, at most once a second while the queue stays
    full), so the request thread never logs either. One worker writes one event at a time: it
    sustains about one write per PutItem round trip (some 100 to 200 a second at DynamoDB's usual
    5 to 10 ms), and the queue absorbs bursts above that.
    The worker starts on the first ``submit`` (nothing runs for a process that never records)
    and again in a forked child (pre-forking servers such as gunicorn). Pending events are
    flushed at interpreter exit for at most ``exit_timeout_s`` seconds.

    The writer is used from the worker thread only, which is what makes its plain counters safe.

    Parameters
    ----------
    writer:
        The ``EventWriter`` that does each write.
    max_pending:
        Events that may wait at once; beyond that, new events are dropped.
    exit_timeout_s:
        How long the exit hook waits for pending events.

    Example
    -------
    >>> from alexa_skill_metrics.config import Settings
    >>> from alexa_skill_metrics.storage.writer import EventWriter
    >>> delivery = BackgroundDelivery(EventWriter(Settings(table_name="t")), max_pending=100)
    >>> delivery.pending, delivery.dropped, delivery.started
    (0, 0, False)
    """

    def __init__(
        self, writer: EventWriter, max_pending: int = DEFAULT_MAX_PENDING, exit_timeout_s: float = 2.0
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self.writer = writer
        self.max_pending = max_pending
        self.exit_timeout_s = exit_timeout_s
        self._items: deque[Event] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._busy = False  # the worker holds an event it has not finished writing
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._dropped = 0  # queue full; guarded by _ready
        self._reported = 0  # drops already reported (worker thread only)
        self._report_after = 0.0  # monotonic time of the next report (worker thread only)
        self._exit_hook = False
        self._starting = threading.Lock()

    @property
    def pending(self) -> int:
        """Events queued or being written."""
        with self._ready:
            return len(self._items) + self._busy

    @property
    def dropped(self) -> int:
        """Events dropped because the queue was full.

        ``writer.dropped`` counts write failures, and these too once the worker has reported them.
        """
        with self._ready:
            return self._dropped

    @property
    def started(self) -> bool:
        return self._thread is not None

    def submit(self, event: Event) -> None:
        """Queue ``event`` for the worker; drop and count it when the queue is full."""
        if self._pid != os.getpid():
            with self._starting:
                if self._pid != os.getpid():
                    self._start()
        with self._ready:
            if self._closed or len(self._items) >= self.max_pending:
                self._dropped += 1
            else:
                self._items.append(event)
            self._ready.notify()

    def flush(self, timeout_s: float) -> None:
        """Wait until everything submitted so far is written, or ``timeout_s`` has passed."""
        if self._thread is None or not self._thread.is_alive():
            return
        with self._ready:
            self._ready.wait_for(lambda: not self._items and not self._busy, timeout=max(timeout_s, 0.0))

    def close(self, timeout_s: float) -> None:
        """Flush, then stop the worker; later submissions are dropped and counted."""
        self.flush(timeout_s)
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    # --- the worker ------------------------------------------------------------------------------

    def _start(self) -> None:
        # First submit of this process; in a forked child the parent's lock, queue and thread are
        # not ours: the parent writes what it had queued, the child starts afresh.
        self._ready = threading.Condition(threading.Lock())
        self._items = deque()
        self._busy = False
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="skill-metrics-delivery", daemon=True)
        self._thread.start()
        if not self._exit_hook:
            self._exit_hook = True
            atexit.register(_flush_at_exit, weakref.ref(self))

    def _run(self) -> None:
        while True:
            with self._ready:
                self._busy = False
                self._ready.notify_all()  # flush() waits for an empty, idle queue
                while not self._items and not self._closed and self._dropped == self._reported:
                    self._ready.wait()
                dropped = self._dropped
                event = self._items.popleft() if self._items else None
                if event is None and self._closed and dropped == self._reported:
                    return
                self._busy = event is not None
            # One report a second at most while the queue stays full, and the rest once it drains
            if dropped != self._reported and (event is None or time.monotonic() >= self._report_after):
                self._report_after = time.monotonic() + _REPORT_EVERY_S
                self._report_drops(dropped)
            if event is not None:
                self._write(event)

    def _report_drops(self, dropped: int) -> None:
        """Count queue-full drops in the writer's counter and its telemetry, off the request thread."""
        new, self._reported = dropped - self._reported, dropped
        self.writer.dropped += new
        with contextlib.suppress(Exception):  # telemetry must not stop the worker
            telemetry.warn("metrics events dropped", error_code="QueueFull", dropped=new)
            telemetry.count(telemetry.DROPS_METRIC, value=new, stage=self.writer._settings.stage)

    def _write(self, event: Event) -> None:
        try:
            self.writer.put(event)
        except Exception as exc:  # put() is fail-open already; this keeps the worker alive regardless
            with contextlib.suppress(Exception):
                telemetry.warn("metrics delivery error", error=type(exc).__name__)


def _flush_at_exit(ref: weakref.ref[BackgroundDelivery]) -> None:
    delivery = ref()
    if delivery is not None:
        delivery.flush(delivery.exit_timeout_s)
