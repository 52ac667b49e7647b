"""A discrete-event scheduler for threads: real code, one thread at a time, on virtual time.

Every simulated Lambda invocation lane is a real thread running the real aggregator code, but
exactly one thread runs at a time: the one whose virtual time is the earliest. A thread moves its
own virtual time forward by sleeping (``sleep_until``): for DynamoDB latency, for the CPU time it
just spent (measured with ``time.thread_time``, scaled to the Lambda's share of a vCPU), for
back-offs and polling intervals. So a second of simulated traffic costs whatever wall time the
machine needs to run the code, and the interleaving of reads and conditional writes between
lanes is the one their virtual timings give: conflicts happen where they would happen on AWS.

Example
-------
>>> clock = VirtualClock()
>>> seen = []
>>> def lane(name, step):
...     def body():
...         for _ in range(2):
...             clock.sleep_until(clock.now + step)
...             seen.append((name, clock.now))
...     return body
>>> clock.run([lane("a", 0.3), lane("b", 0.2)])
>>> seen
[('b', 0.2), ('a', 0.3), ('b', 0.4), ('a', 0.6)]
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class VirtualClock:
    """Runs threads one at a time in virtual-time order (see the module docstring)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()
        self._local = threading.local()

    def run(self, bodies: list[Callable[[], None]]) -> None:
        """Run every body in its own thread, all starting at the current virtual time; wait for all."""
        errors: list[BaseException] = []
        threads = []
        for body in bodies:
            gate = threading.Event()
            heapq.heappush(self._heap, (self.now, next(self._order), gate))
            threads.append(threading.Thread(target=self._main, args=(body, gate, errors), daemon=True))
        for thread in threads:
            thread.start()
        self._wake_next()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _main(self, body: Callable[[], None], gate: threading.Event, errors: list[BaseException]) -> None:
        self._local.gate = gate
        gate.wait()
        try:
            body()
        except BaseException as exc:  # surfaced by run(); the other lanes must still finish
            errors.append(exc)
        finally:
            self._wake_next()

    def map(self, task: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
        """``task`` of every item in ``workers`` new threads that start now; continue when all are done.

        Called from a running thread (a lane), which resumes at the virtual time the last worker
        ends, as a thread pool's ``map`` returns when its last task does.
        """
        work = deque(enumerate(items))
        results: list[Any] = [None] * len(items)
        errors: list[BaseException] = []
        parent: threading.Event = self._local.gate
        remaining = [min(workers, len(items))]
        if not remaining[0]:
            return results

        def main(gate: threading.Event) -> None:
            self._local.gate = gate
            gate.wait()
            try:
                while work:  # one thread runs at a time: no other takes the item in between
                    index, item = work.popleft()
                    results[index] = task(item)
            except BaseException as exc:  # re-raised in the parent, as a pool's map does
                errors.append(exc)
            finally:
                with self._lock:
                    remaining[0] -= 1
                    if not remaining[0]:
                        heapq.heappush(self._heap, (self.now, next(self._order), parent))
                self._wake_next()

        threads = []
        with self._lock:
            for _ in range(remaining[0]):
                gate = threading.Event()
                heapq.heappush(self._heap, (self.now, next(self._order), gate))
                threads.append(threading.Thread(target=main, args=(gate,), daemon=True))
        for thread in threads:
            thread.start()
        parent.clear()
        self._wake_next()
        parent.wait()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    def sleep_until(self, when: float) -> None:
        """Let every thread with earlier business run first; continue at ``when``."""
        gate: threading.Event = self._local.gate
        gate.clear()
        with self._lock:
            heapq.heappush(self._heap, (max(when, self.now), next(self._order), gate))
        self._wake_next()
        gate.wait()

    def _wake_next(self) -> None:
        with self._lock:
            if not self._heap:
                return
            self.now, _, gate = heapq.heappop(self._heap)
        gate.set()
