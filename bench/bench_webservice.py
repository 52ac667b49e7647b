"""A web service's recorder: bursts it keeps, memory while DynamoDB is down, reply latency. Prints figures.

Run: ``python bench/bench_webservice.py [--bursts 1000,10000,50000] [--rate 3000] [--delay-ms 20]
[--workers 8] [--max-pending 5000] [--requests 1000] [--only bursts|latency]``

Bursts (asserts nothing): a stand-in for DynamoDB answering every ``BatchWriteItem`` after
``--delay-ms`` (20 ms) runs in a process of its own (``StandIn``: moto itself, behind
``tests/lambda_runtime/proxy.py``, tops out below 500 items a second on two busy cores); the
recorder's
``BackgroundDelivery`` (its defaults: eight workers, a queue of 5,000) writes to it
with its default transport, as a web service would. Each burst offers events at ``--rate`` a
second (the recorder's events of the sample skill, each built as it is submitted), from one
thread; "sustained" is events stored per second from the first submit until the last is
stored, "drops" are what the queue could not take. Then, with DynamoDB down (its port refused),
the memory the delivery holds (tracemalloc) after the same 50,000 events.

Latency (the figures below 1. to 3.):

The sample skill behind flask-ask-sdk's ``SkillAdapter``, driven in-process through Flask's test
client (verifiers off), each request sent to a bare app and to the same app with
``metrics.webservice(adapter)``, back to back, in alternating order. Latency is the test
client's ``post`` from call to return: what the reply costs in the process, without a network.

1. DynamoDB healthy: moto's server in a separate process on loopback, reached through
   ``AWS_ENDPOINT_URL`` by the recorder's default transport (real HTTP on the worker thread).
2. DynamoDB 250 ms slow: a client whose ``batch_write_item`` sleeps 250 ms, injected into the
   recorder: eight workers write up to 200 events per 250 ms, the queue absorbs the rest.
3. For comparison, 2 with the write inline on the request thread (the inline fallback).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lambda_fn"), ROOT, os.path.join(ROOT, "bench")]
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_SESSION_TOKEN", None)
# sample_skill.app configures its own module-level recorder from the environment at import
os.environ.update(METRICS_TABLE="bench-unused", METRICS_PSEUDONYM_KEY="bench-unused-key-0123456789")
# the drop reports of case 2 would interleave with the figures: counted below instead
os.environ.update(POWERTOOLS_LOG_LEVEL="ERROR", POWERTOOLS_METRICS_DISABLED="true")

from tests.functional.webservice_compat import ensure_webservice_support_importable  # noqa: E402

ensure_webservice_support_importable()

from flask import Flask  # noqa: E402
from flask_ask_sdk.skill_adapter import SkillAdapter  # noqa: E402

from alexa_skill_metrics import SkillMetrics  # noqa: E402
from alexa_skill_metrics.storage.delivery import (  # noqa: E402
    DEFAULT_MAX_PENDING,
    DEFAULT_WORKERS,
    BackgroundDelivery,
    InlineDelivery,
)
from bench_recorder import KEY, TABLE, requests  # noqa: E402
from sample_skill.app import build_skill  # noqa: E402

SKILL_ID = "amzn1.ask.skill.bench"


class SlowClient:
    """DynamoDB answering every write after ``delay_s`` (the GIL is released while it waits)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def put_item(self, **_: Any) -> dict[str, Any]:
        time.sleep(self.delay_s)
        return {}

    def batch_write_item(self, **_: Any) -> dict[str, Any]:
        time.sleep(self.delay_s)
        return {}


def flask_client(metrics: SkillMetrics | None) -> Any:
    app = Flask(f"bench-{id(metrics)}")
    app.config.update(ASK_SDK_VERIFY_SIGNATURE=False, ASK_SDK_VERIFY_TIMESTAMP=False)
    adapter = SkillAdapter(skill=build_skill().create(), skill_id=SKILL_ID, app=app)
    adapter.register(app=app, route="/")
    if metrics is not None:
        metrics.webservice(adapter)
    return app.test_client()


def paired_us(bare: Any, recorded: Any, bodies: list[str]) -> tuple[list[float], list[float]]:
    """Each request through both apps back to back, so drift on a shared machine hits both alike."""
    bare_us: list[float] = []
    recorded_us: list[float] = []
    gc.disable()
    try:
        for i, body in enumerate(bodies):
            order = ((bare, bare_us), (recorded, recorded_us))
            for client, samples in order if i % 2 else reversed(order):
                start = time.perf_counter_ns()
                reply = client.post("/", data=body, content_type="application/json")
                samples.append((time.perf_counter_ns() - start) / 1000)
                if reply.status_code != 200:
                    raise RuntimeError(f"unexpected status {reply.status_code}")
    finally:
        gc.enable()
    return bare_us, recorded_us


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def compare(label: str, metrics: SkillMetrics, bodies: list[str], inline: bool = False) -> None:
    bare, recorded = flask_client(None), flask_client(metrics)
    if inline:  # put the write back on the request thread
        metrics.recorder.use_delivery(InlineDelivery(metrics.recorder.delivery.writer))
    warm = 10 if inline else 100
    paired_us(bare, recorded, bodies[:warm])  # warm both: imports, worker, connections
    b, r = paired_us(bare, recorded, bodies[warm:])
    added = [y - x for x, y in zip(b, r, strict=True)]
    delivery = metrics.recorder.delivery
    writer = delivery.writer
    queued = delivery.dropped if isinstance(delivery, BackgroundDelivery) else 0
    print(label)
    print(f"  bare Flask reply     median {statistics.median(b):8.1f} us   p99 {p99(b):8.1f} us")
    print(f"  with recorder        median {statistics.median(r):8.1f} us   p99 {p99(r):8.1f} us")
    print(
        f"  added                median {statistics.median(r) - statistics.median(b):8.1f} us"
        f"   p99 {p99(r) - p99(b):8.1f} us   (median of paired differences {statistics.median(added):.1f} us)"
    )
    print(f"  events written so far {writer.written}, dropped because the queue was full {queued}\n")


@contextlib.contextmanager
def moto_server_process() -> Iterator[str]:
    """moto's DynamoDB in its own process, so its CPU does not compete with the skill's."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        yield endpoint
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        proc.terminate()
        proc.wait(timeout=10)


class StandIn:
    """DynamoDB's BatchWriteItem as a loopback HTTP server answering after ``delay_s``: keeps the keys only.

    moto is the bottleneck of a burst on a small machine (its BatchWriteItem costs more CPU than
    the recorder's whole write), so the bursts are written to this instead: the recorder's
    transport, signing and batching are real, the far side only keeps each item's key (distinct
    keys are what "stored" counts) and answers after the delay, as a DynamoDB 20 ms away would.
    """

    def __init__(self, delay_s: float) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.keys: set[tuple[str, str]] = set()
        lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                keys = [
                    (r["PutRequest"]["Item"]["pk"]["S"], r["PutRequest"]["Item"]["sk"]["S"])
                    for table in body.get("RequestItems", {}).values()
                    for r in table
                ]
                time.sleep(delay_s)
                with lock:
                    stand_in.keys.update(keys)
                self._send(b'{"UnprocessedItems":{}}')

            def do_GET(self) -> None:  # how many distinct items are stored
                with lock:
                    self._send(str(len(stand_in.keys)).encode())

            def _send(self, content: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def serve_stand_in(delay_s: float) -> None:
    """In a process of its own: the stand-in; print its URL, serve until stdin closes."""
    stand_in = StandIn(delay_s)
    threading.Thread(target=stand_in.server.serve_forever, daemon=True).start()
    print(stand_in.url, flush=True)
    sys.stdin.read()


@contextlib.contextmanager
def distant_dynamodb(delay_s: float) -> Iterator[str]:
    """The stand-in, ``delay_s`` away, in a child process (its CPU not the recorder's); yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve-stand-in", str(delay_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=20)


def stored_at(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:
        return int(answer.read())


def an_event() -> Any:
    """The recorder's event for one of the sample skill's requests (the shape every burst repeats)."""
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY)
    recorder = metrics.recorder
    envelope = requests(2)[1]
    return recorder.build_event(recorder.begin(envelope), response=None, error=None)


def offer(delivery: BackgroundDelivery, base: Any, n: int, rate: float, tag: str) -> float:
    """Submit ``n`` events at ``rate`` a second, each built as it goes; return when it started."""
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        while time.perf_counter() < due:
            time.sleep(0.0005)
        delivery.submit(
            dataclasses.replace(base, request_id=f"{tag}-{i}", timestamp_ms=base.timestamp_ms + i)
        )
    return start


def warm(delivery: BackgroundDelivery, base: Any) -> None:
    """One event through every worker's path first: the transport is built on the first write."""
    delivery.submit(dataclasses.replace(base, request_id=f"warm-{time.time_ns()}"))
    delivery.flush(timeout_s=60)


def bursts(sizes: list[int], rate: float, delay_ms: float, workers: int, max_pending: int) -> None:
    base = an_event()
    print(
        f"Bursts: DynamoDB {delay_ms:.0f} ms away (a stand-in answering after the delay, own process); "
        f"BackgroundDelivery: {workers} workers (default {DEFAULT_WORKERS}), queue of {max_pending:,} "
        f"(default {DEFAULT_MAX_PENDING:,}); "
        f"events offered at {rate:,.0f}/s"
    )
    with distant_dynamodb(delay_ms / 1000) as url:
        os.environ["AWS_ENDPOINT_URL"] = url
        try:
            for n in sizes:
                writer = SkillMetrics(table_name=TABLE, pseudonym_key=KEY).recorder.writer
                delivery = BackgroundDelivery(writer, workers=workers, max_pending=max_pending)
                warm(delivery, base)
                before = stored_at(url)
                start = offer(delivery, base, n, rate, f"burst-{n}")
                offered = n / (time.perf_counter() - start)
                delivery.flush(timeout_s=600)
                elapsed = time.perf_counter() - start
                stored = stored_at(url) - before
                print(
                    f"  burst {n:>6,}: offered {offered:7,.0f}/s  stored {stored:>6,}  "
                    f"sustained {stored / elapsed:7,.0f} events/s  drops {delivery.writer.dropped:,}"
                    f"  ({elapsed:.1f} s)"
                )
                delivery.close(timeout_s=1)
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
    print()


def memory_while_down(n: int, rate: float) -> None:
    """Events offered to a delivery whose DynamoDB refuses connections: what it holds, what it drops."""
    with socket.socket() as s:  # a port nobody listens on: every connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    base = an_event()
    try:
        delivery = BackgroundDelivery(SkillMetrics(table_name=TABLE, pseudonym_key=KEY).recorder.writer)
        delivery.submit(dataclasses.replace(base, request_id="warm"))  # workers and transport built
        time.sleep(0.5)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        offer(delivery, base, n, rate, "down")
        time.sleep(2.0)  # the workers report the drops between their retries
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        pending, dropped = delivery.pending, delivery.dropped
        print(f"DynamoDB down (connections refused), {n:,} events offered at {rate:,.0f}/s:")
        print(
            f"  held {pending:,} events, {held / 1e6:.2f} MB traced "
            f"({held / max(pending, 1) / 1000:.1f} kB each); "
            f"dropped and counted {dropped:,} (reported so far {delivery.writer.dropped:,})\n"
        )
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)


def latency(n_requests: int) -> None:
    bodies = [json.dumps(r) for r in requests(n_requests + 100)]
    print(f"Latency: python {sys.version.split()[0]}, {os.cpu_count()} cpus, {n_requests} paired requests\n")

    with moto_server_process():
        import boto3

        from alexa_skill_metrics.storage.table import create_table

        create_table(boto3.client("dynamodb"), TABLE)
        healthy = SkillMetrics(table_name=TABLE, pseudonym_key=KEY)
        compare("1. DynamoDB healthy (moto server process, loopback HTTP), background", healthy, bodies)
        healthy.recorder.delivery.flush(timeout_s=60)
        writer = healthy.recorder.writer
        written, dropped = writer.written, writer.dropped
        print(f"  after flush: events written {written}, duplicates {writer.duplicates}, dropped {dropped}\n")

    slow = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=SlowClient(0.25))  # type: ignore[arg-type]
    compare("2. DynamoDB 250 ms slow, background delivery (default queue and workers)", slow, bodies)

    inline = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=SlowClient(0.25))  # type: ignore[arg-type]
    compare("3. for comparison: DynamoDB 250 ms slow, write inline", inline, bodies[:60], inline=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="paired requests of the latency part")
    parser.add_argument("--bursts", default="1000,10000,50000", help="burst sizes, comma-separated")
    parser.add_argument("--rate", type=float, default=3000.0, help="events offered per second")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="DynamoDB's distance")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="BackgroundDelivery's workers")
    parser.add_argument("--max-pending", type=int, default=DEFAULT_MAX_PENDING, help="the queue's bound")
    parser.add_argument("--only", choices=("bursts", "latency"), default=None)
    parser.add_argument("--serve-stand-in", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stand_in is not None:
        serve_stand_in(args.serve_stand_in)
        return
    if args.only in (None, "bursts"):
        sizes = [int(size) for size in args.bursts.split(",")]
        bursts(sizes, args.rate, args.delay_ms, args.workers, args.max_pending)
        memory_while_down(max(sizes), args.rate)
    if args.only in (None, "latency"):
        latency(args.requests)


if __name__ == "__main__":
    main()
