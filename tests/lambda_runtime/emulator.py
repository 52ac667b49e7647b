"""A loopback emulation of the documented Lambda Runtime API and Extensions API, with Lambda's lifecycle.

What it keeps of Lambda's semantics:

- Init ends when the runtime and every registered extension have asked for their next event;
  an extension that registers after that is refused (HTTP 403), as Lambda refuses it.
- An invocation is delivered to the runtime (``/runtime/invocation/next`` with the
  ``Lambda-Runtime-*`` headers) and, as an ``INVOKE`` event, to every extension.
- The caller gets the reply as soon as the runtime posts it; the invocation *ends* (the
  environment freezes) only when the runtime and every extension have asked for the next event
  again. Freezing is real: the runtime process gets ``SIGSTOP`` until the next invocation
  (``SIGCONT``), so work left pending at the freeze does not run.

Times are ``time.monotonic()`` of this (the test) process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RUNTIME = "/2018-06-01/runtime"
EXTENSION = "/2020-01-01/extension"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:dice-coach"


@dataclass
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    delivered: float | None = None  # the runtime's /next answered
    replied: float | None = None  # /response or /error posted
    ended: float | None = None  # runtime and every extension asked for the next event
    reply: Any = None
    error: Any = None
    done: threading.Event = field(default_factory=threading.Event)  # replied
    finished: threading.Event = field(default_factory=threading.Event)  # ended

    @property
    def reply_ms(self) -> float:
        """From delivery to the posted reply: what Alexa waits for."""
        assert self.delivered is not None and self.replied is not None
        return (self.replied - self.delivered) * 1000

    @property
    def post_reply_ms(self) -> float:
        """From the posted reply to the freeze: Lambda's PostRuntimeExtensionsDuration."""
        assert self.replied is not None and self.ended is not None
        return (self.ended - self.replied) * 1000


class LambdaEmulator:
    """The Runtime and Extensions APIs for one execution environment, on ``127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self.phase = "init"  # init -> ready <-> invoking
        self.extensions: dict[str, str] = {}  # identifier -> name
        self.refused: list[str] = []  # names refused registration
        self.init_errors: list[Any] = []
        self.invocations: list[Invocation] = []
        self.pid: int | None = None  # the runtime process, frozen between invocations
        self.frozen = False
        self._runtime_waiting = False
        self._extensions_waiting: set[str] = set()
        self._for_runtime: Invocation | None = None
        self._for_extensions: dict[str, Invocation] = {}
        self._current: Invocation | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def address(self) -> str:
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"{host}:{port}"

    def __enter__(self) -> LambdaEmulator:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.thaw()
        self._server.shutdown()
        self._server.server_close()

    # --- the caller's side -------------------------------------------------------------------------

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        """Wait until init is over (or raise, with what went wrong)."""
        with self._cv:
            if not self._cv.wait_for(lambda: self.phase != "init" or self.init_errors, timeout_s):
                raise TimeoutError("the runtime did not finish init")
            if self.init_errors:
                raise RuntimeError(f"init failed: {self.init_errors}")

    def invoke(
        self, event: dict[str, Any] | bytes, timeout_s: float = 3.0, wait_s: float = 20.0
    ) -> Invocation:
        """Send ``event`` (JSON, or raw bytes) once the previous invocation has ended; return at the reply.

        ``timeout_s`` is the function's timeout: the invocation's deadline is that far from now.
        """
        self.wait_ready(wait_s)
        with self._cv:
            if not self._cv.wait_for(lambda: self.phase == "ready", wait_s):
                raise TimeoutError("the previous invocation never ended")
            deadline_ms = int((time.time() + timeout_s) * 1000)
            body = event if isinstance(event, bytes) else json.dumps(event).encode()
            inv = Invocation(str(uuid.uuid4()), body, deadline_ms)
            self.invocations.append(inv)
            self.thaw()
            self.phase = "invoking"
            self._current = inv
            self._for_runtime = inv
            self._for_extensions = dict.fromkeys(self.extensions, inv)
            # Handed their event: nobody waits for the *next* one until it asks again (even if the
            # thread serving its long poll has not woken up yet)
            self._runtime_waiting = False
            self._extensions_waiting.clear()
            self._cv.notify_all()
        if not inv.done.wait(wait_s):
            raise TimeoutError("no reply posted")
        return inv

    def thaw(self) -> None:
        if self.frozen and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)
        self.frozen = False

    # --- the runtime process's side ------------------------------------------------------------------

    def _maybe_end(self) -> None:
        """Called with the lock held whenever someone asks for its next event."""
        everyone = self._runtime_waiting and self._extensions_waiting >= set(self.extensions)
        if not everyone:
            return
        if self.phase == "init":
            self.phase = "ready"
        elif self.phase == "invoking" and self._current is not None and self._current.replied is not None:
            inv, self._current = self._current, None
            inv.ended = time.monotonic()
            if self.pid is not None:
                os.kill(self.pid, signal.SIGSTOP)
                self.frozen = True
            self.phase = "ready"
            inv.finished.set()
        self._cv.notify_all()

    def _runtime_next(self) -> Invocation:
        with self._cv:
            self._runtime_waiting = True
            self._maybe_end()
            self._cv.wait_for(lambda: self._for_runtime is not None)
            inv, self._for_runtime = self._for_runtime, None
            self._runtime_waiting = False
            assert inv is not None
            return inv

    def _extension_next(self, identifier: str) -> Invocation:
        with self._cv:
            self._extensions_waiting.add(identifier)
            self._maybe_end()
            self._cv.wait_for(lambda: identifier in self._for_extensions)
            inv = self._for_extensions.pop(identifier)
            self._extensions_waiting.discard(identifier)
            return inv

    def _register(self, name: str) -> str | None:
        with self._cv:
            if self.phase != "init" or self._runtime_waiting:  # init is over once the runtime asked
                self.refused.append(name)
                return None
            identifier = str(uuid.uuid4())
            self.extensions[identifier] = name
            return identifier

    def _posted(self, request_id: str, body: Any, error: bool) -> None:
        with self._cv:
            inv = next(i for i in self.invocations if i.request_id == request_id)
            inv.replied = time.monotonic()
            if error:
                inv.error = body
            else:
                inv.reply = body
            inv.done.set()
            self._maybe_end()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self) -> None:
                if self.path == f"{RUNTIME}/invocation/next":
                    inv = emulator._runtime_next()
                    headers = {
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                        "Content-Type": "application/json",
                    }
                    inv.delivered = time.monotonic()
                    self._send(200, inv.event, headers)
                elif self.path == f"{EXTENSION}/event/next":
                    identifier = self.headers.get("Lambda-Extension-Identifier", "")
                    if identifier not in emulator.extensions:
                        self._send(403, b'{"errorType":"Extension.UnknownExtensionIdentifier"}')
                        return
                    inv = emulator._extension_next(identifier)
                    body = {
                        "eventType": "INVOKE",
                        "deadlineMs": inv.deadline_ms,
                        "requestId": inv.request_id,
                        "invokedFunctionArn": FUNCTION_ARN,
                        "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-0-0"},
                    }
                    self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
                else:
                    self._send(404, b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = self.path.split("/")
                if self.path == f"{EXTENSION}/register":
                    name = self.headers.get("Lambda-Extension-Name", "")
                    events = json.loads(raw or b"{}").get("events", [])
                    if not name or events != ["INVOKE"]:  # internal extensions: INVOKE only
                        self._send(400, b'{"errorType":"InvalidRequest"}')
                        return
                    identifier = emulator._register(name)
                    if identifier is None:
                        body = (
                            b'{"errorType":"Extension.RegistrationForbidden","errorMessage":"init is over"}'
                        )
                        self._send(403, body)
                        return
                    reply = {"functionName": "dice-coach", "functionVersion": "$LATEST", "handler": "app"}
                    self._send(200, json.dumps(reply).encode(), {"Lambda-Extension-Identifier": identifier})
                elif self.path == f"{RUNTIME}/init/error":
                    with emulator._cv:
                        emulator.init_errors.append(json.loads(raw or b"{}"))
                        emulator._cv.notify_all()
                    self._send(202, b"{}")
                elif self.path.startswith(f"{RUNTIME}/invocation/") and parts[-1] in ("response", "error"):
                    emulator._posted(parts[-2], json.loads(raw or b"null"), error=parts[-1] == "error")
                    self._send(202, b"{}")
                else:
                    self._send(404, b"{}")

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
