"""A circuit breaker for the recorder's writes: a DynamoDB that is down costs one write per cool-down.

After a write gives up on a DynamoDB that is down (a timeout, a refused connection, a server
error; after the reply, only once the invocation's deadline is reached, so a slow DynamoDB never
opens it), the breaker opens: writes are skipped (the writer
counts them as drops) for a cool-down of 1 s, doubling after each failed probe up to 60 s. When
the cool-down ends, one write is let through as a probe; any answer from DynamoDB closes the
breaker and resets the cool-down. Per container, like the writer that owns it.

Example
-------
>>> now = [0.0]
>>> breaker = CircuitBreaker(clock=lambda: now[0])
>>> breaker.failed()               # a write timed out: open for 1 s
1.0
>>> breaker.allow()
False
>>> now[0] = 1.0; breaker.allow()  # cool-down over: one probe goes through ...
True
>>> breaker.allow()                # ... and only one
False
>>> breaker.failed()               # the probe failed too: twice as long
2.0
>>> now[0] = 3.0; breaker.allow(); breaker.succeeded(); breaker.allow()
True
True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FIRST_COOL_DOWN_S = 1.0
MAX_COOL_DOWN_S = 60.0


class CircuitBreaker:
    """Closed, open until a time, or probing; safe to share between threads.

    Parameters
    ----------
    clock:
        Monotonic seconds (tests pass their own).
    first_s, max_s:
        The first cool-down, and the ceiling it doubles up to.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        first_s: float = FIRST_COOL_DOWN_S,
        max_s: float = MAX_COOL_DOWN_S,
    ) -> None:
        self._clock = clock
        self._first_s = first_s
        self._max_s = max_s
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self._cool_down_s = 0.0  # of the current opening; 0 while closed
        self._probing = False
        self.openings = 0  # how many times it opened in this container

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def allow(self) -> bool:
        """Whether a write may go out now; ``True`` at most once per cool-down while open (the probe)."""
        if self._open_until is None:  # the healthy path takes no lock
            return True
        with self._lock:
            if self._open_until is None:
                return True
            if self._probing or self._clock() < self._open_until:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        """DynamoDB answered: close (a no-op while closed)."""
        if self._open_until is None:
            return
        with self._lock:
            self._open_until = None
            self._cool_down_s = 0.0
            self._probing = False

    def release(self) -> None:
        """A write ended without telling whether DynamoDB answers: the next write may probe."""
        if self._probing:
            with self._lock:
                self._probing = False

    def failed(self) -> float:
        """A write timed out or could not connect: open, or reopen for twice as long; return the cool-down."""
        with self._lock:
            if self._probing or self._open_until is None:
                self._cool_down_s = (
                    self._first_s if self._cool_down_s == 0 else min(self._cool_down_s * 2, self._max_s)
                )
                self.openings += 1
            # else: a write that was already in flight when another opened it; keep that cool-down
            self._open_until = self._clock() + self._cool_down_s
            self._probing = False
            return self._cool_down_s
