"""A loopback HTTP proxy in front of moto's DynamoDB that delays every request, fails it, or never answers.

``delay_s`` is read per request: a number of seconds, or ``HANG`` (hold the request without an
answer until the proxy closes, as an unreachable endpoint behind a load balancer does). While
``failing`` is set, or for the next ``fail_next`` requests, each is answered after the delay with
DynamoDB's HTTP 500 ``InternalServerError`` instead of going to moto.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HANG = -1.0
_FAILURE = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"proxy: failing"}'


class DelayingProxy:
    def __init__(self, upstream: str, delay_s: float = 0.0) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.delay_s = delay_s
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.answers: list[float] = []  # time.monotonic() of each answer, as it is sent
        self.failing = False
        self.fail_next = 0
        self.before_answer: Callable[[], object] | None = None  # called before each answer is sent
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"http://{host}:{port}"

    def __enter__(self) -> DelayingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the recorder's connection pool expects
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.arrivals.append(time.monotonic())
                delay = proxy.delay_s
                if delay == HANG:
                    proxy._closing.wait()
                    self.close_connection = True
                    return
                time.sleep(delay)
                with proxy._lock:
                    fail = proxy.failing or proxy.fail_next > 0
                    proxy.fail_next -= 1 if proxy.fail_next > 0 else 0
                if fail:
                    self._answer(500, [("Content-Type", "application/x-amz-json-1.0")], _FAILURE)
                    return
                # A new connection each time: on a kept-alive one, moto's separate header and body
                # writes meet delayed ACKs and add ~40 ms that no real endpoint has
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                try:
                    upstream.request("POST", self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                self._answer(answer.status, answer.getheaders(), content)

            def _answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
                if proxy.before_answer is not None:
                    proxy.before_answer()
                proxy.answers.append(time.monotonic())
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in (
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
