"""Post-response delivery in Lambda: an internal extension writes each event after the reply.

Lambda hands the function's reply to its caller as soon as the runtime posts it, and freezes the
execution environment only when the runtime *and every registered extension* have asked for the
next event. So a thread of the runtime process that registers as an internal extension (Lambda
Extensions API, during init, for ``INVOKE`` events) can do the write after the reply is gone:

1. ``start()`` (called while the handler is built, at the skill module's import, before the
   runtime's first ``/next``) registers and starts a daemon thread, which long-polls
   ``/extension/event/next``.
2. For each ``INVOKE`` the thread waits until the wrapped handler has returned
   (``invocation_ended``, called by ``SkillMetrics.wrap`` after it submitted the event),
   takes what is pending and writes it while the runtime serialises and posts the reply. The
   thread only asks for its next event once nothing is pending, so nothing is pending when the
   environment freezes; the time shows as ``PostRuntimeExtensionsDuration``, billed, not waited for.
3. Everything is bounded by the invocation's deadline (``deadlineMs`` less ``MARGIN_S``), and
   only by it: nobody waits for these writes, so each is retried with backoff and jitter, and
   waits for a slow DynamoDB's answer, as long as the deadline allows (``EventWriter.put_by``,
   never the inline write's two short attempts). An invocation whose end never comes (an error
   before the handler ran) is waited for until then, and a write that could not finish in time is
   dropped and counted (``DeadlineClose``, or the last error's code). After
   ``DETACH_AFTER`` such invocations in a row, the function's handler is evidently not the
   wrapped one: the thread stops waiting and events are written inline (logged once).

Until ``start()`` succeeds, and after the Extensions API fails, events are written inline.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> from alexa_skill_metrics.storage.writer import EventWriter
>>> delivery = ExtensionDelivery(EventWriter(Settings(table_name="t")), runtime_api="127.0.0.1:9001")
>>> delivery.serving   # not registered (``start()`` not called): submit() writes inline
False
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Event
    from alexa_skill_metrics.storage.writer import EventWriter

EXTENSION_NAME = "alexa-skill-metrics"
_API = "/2020-01-01/extension"
_ID_HEADER = "Lambda-Extension-Identifier"
# Left before the deadline for our own /next call: Lambda ends an invocation that overruns it.
MARGIN_S = 0.1
# Invocations in a row that end without the wrapper's signal before the extension stops waiting
# for it (the function's handler is another one; or its events could not be parsed).
DETACH_AFTER = 2
_RETRY_PAUSES_S = (0.01, 0.05, 0.2)  # between failed event/next calls, before giving up
_names = iter(range(1, 1_000_000))  # each SkillMetrics in a process registers under its own name


class RegistrationRefused(Exception):
    """The Extensions API did not register us (for example, called after init)."""


class ExtensionsApi:
    """The two calls of the Lambda Extensions API an internal extension needs, over loopback HTTP.

    Parameters
    ----------
    address:
        ``host:port`` of the API (``AWS_LAMBDA_RUNTIME_API``).
    """

    def __init__(self, address: str) -> None:
        self.address = address
        self.identifier = ""

    def register(self, name: str, timeout_s: float = 2.0) -> str:
        """Register for ``INVOKE`` events; return the extension identifier."""
        status, headers, body = self._call(
            "POST",
            f"{_API}/register",
            {"Lambda-Extension-Name": name, "Content-Type": "application/json"},
            json.dumps({"events": ["INVOKE"]}).encode(),
            timeout_s,
        )
        identifier = headers.get(_ID_HEADER.lower(), "")
        if status != 200 or not identifier:
            raise RegistrationRefused(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        self.identifier = identifier
        return identifier

    def next_event(self) -> dict[str, Any]:
        """Block until Lambda sends the next event (across freezes: no timeout)."""
        status, _, body = self._call("GET", f"{_API}/event/next", {_ID_HEADER: self.identifier}, None, None)
        if status != 200:
            raise ConnectionError(f"event/next answered HTTP {status}")
        event: dict[str, Any] = json.loads(body)
        return event

    def _call(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None, timeout_s: float | None
    ) -> tuple[int, dict[str, str], bytes]:
        import http.client  # only in Lambda, once per container

        connection = http.client.HTTPConnection(self.address, timeout=timeout_s)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()


class ExtensionDelivery:
    """A ``Delivery`` that writes after the Lambda reply is posted; inline until registered.

    Parameters
    ----------
    writer:
        The ``EventWriter`` the events go to.
    runtime_api:
        ``AWS_LAMBDA_RUNTIME_API`` (``host:port``).
    """

    def __init__(self, writer: EventWriter, runtime_api: str) -> None:
        self.writer = writer
        self._api = ExtensionsApi(runtime_api)
        self._lock = threading.Condition()
        self._pending: list[Event] = []
        self._ended: set[str | None] = set()  # request ids whose handler returned, this invocation
        self._writing = False
        self._started = False
        self._missed = 0  # invocations in a row whose handler never said it ended
        self.serving = False  # registered and polling: events wait for the thread

    def start(self) -> bool:
        """Register with the Extensions API and start the thread; once. ``False``: inline from now on."""
        if self._started:
            return self.serving
        self._started = True
        try:
            self._api.register(f"{EXTENSION_NAME}-{next(_names)}")
        except Exception as exc:  # refused, or no API listening: today's inline write
            telemetry.warn(
                "skill metrics written inline: Lambda extension registration failed",
                reason=f"{type(exc).__name__}: {exc}"[:300],
            )
            return False
        self.serving = True
        threading.Thread(target=self._serve, name=EXTENSION_NAME, daemon=True).start()
        return True

    def submit(self, event: Event) -> None:
        if not self.serving:
            self.writer.put(event)
            return
        with self._lock:
            self._pending.append(event)

    def invocation_ended(self, request_id: str | None) -> None:
        """The wrapped handler of ``request_id`` returned or raised: the thread may write now."""
        if not self.serving:
            return
        with self._lock:
            self._ended.add(request_id)
            self._lock.notify_all()

    def flush(self, timeout_s: float) -> None:
        """Wait at most ``timeout_s`` until nothing is pending or being written."""
        end = time.monotonic() + timeout_s
        with self._lock:
            while self._pending or self._writing:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return
                self._lock.wait(remaining)

    # --- the extension thread ---------------------------------------------------------------------

    def _serve(self) -> None:
        failures = 0
        while True:
            try:
                event = self._api.next_event()
            except Exception as exc:
                # Registered, we must keep asking, or every invocation lasts until its deadline;
                # a few quick retries, then the API is gone (never in a live environment)
                failures += 1
                if failures > len(_RETRY_PAUSES_S):
                    self._stop(exc)
                    return
                time.sleep(_RETRY_PAUSES_S[failures - 1])
                continue
            failures = 0
            if event.get("eventType") != "INVOKE" or not self.serving:
                continue  # INVOKE only for internal extensions; detached: nothing to wait for
            try:
                self._finish_invocation(event)
            except Exception as exc:  # never die registered: Lambda would wait for us every time
                telemetry.warn("skill metrics extension error", error=type(exc).__name__)

    def _finish_invocation(self, event: dict[str, Any]) -> None:
        deadline = _monotonic_deadline(event.get("deadlineMs"))
        request_id = event.get("requestId")
        with self._lock:
            # None on either side (no Lambda context, no requestId): it can only be this invocation's
            while not (ended := _ended(request_id, self._ended)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            self._missed = 0 if ended else self._missed + 1
            detach = self._missed >= DETACH_AFTER
            if detach:
                self.serving = False  # inline from now on
            batch, self._pending = self._pending, []
            self._ended.clear()
            self._writing = bool(batch)
        if detach:
            self._detached()
        try:
            for item in batch:
                self.writer.put_by(item, deadline)
        finally:
            with self._lock:
                self._writing = False
                self._lock.notify_all()

    def _detached(self) -> None:
        """Say that we stopped holding invocations: the function's handler is not the wrapped one.

        Without the wrapper's end-of-invocation signal every invocation would last until its
        deadline (billed); events are written inline instead.
        """
        telemetry.warn(
            "skill metrics written inline: the function's handler is not the wrapped one",
            invocations_held_to_deadline=self._missed,
        )

    def _stop(self, exc: Exception) -> None:
        with self._lock:
            self.serving = False
            batch, self._pending = self._pending, []
        telemetry.warn(
            "skill metrics written inline: Lambda Extensions API failed", reason=type(exc).__name__
        )
        for item in batch:
            self.writer.put(item)


def _ended(request_id: Any, ended: set[str | None]) -> bool:
    if request_id is None:
        return bool(ended)
    return request_id in ended or None in ended


def _monotonic_deadline(deadline_ms: Any) -> float:
    """``deadlineMs`` (epoch milliseconds) as ``time.monotonic`` seconds, less the margin."""
    now = time.monotonic()
    if not isinstance(deadline_ms, (int, float)):
        return now + 3.0 - MARGIN_S  # Lambda's default timeout, for an event without one
    return now + (deadline_ms / 1000 - time.time()) - MARGIN_S
