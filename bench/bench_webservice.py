"""Reply latency the recorder adds to a Flask skill (flask-ask-sdk). Prints figures; asserts nothing.

Run: ``python bench/bench_webservice.py [--requests 1000]``

The sample skill behind flask-ask-sdk's ``SkillAdapter``, driven in-process through Flask's test
client (verifiers off), each request sent to a bare app and to the same app with
``metrics.webservice(adapter)``, back to back, in alternating order. Latency is the test
client's ``post`` from call to return: what the reply costs in the process, without a network.

1. DynamoDB healthy: moto's server in a separate process on loopback, reached through
   ``AWS_ENDPOINT_URL`` by the recorder's default transport (real HTTP on the worker thread).
2. DynamoDB 250 ms slow: a client whose ``put_item`` sleeps 250 ms, injected into the recorder.
   The background queue fills (one write per 250 ms) and the rest are dropped and counted.
3. For comparison, 2 with the write inline on the request thread (today's Lambda behaviour).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
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
from alexa_skill_metrics.storage.delivery import BackgroundDelivery, InlineDelivery  # noqa: E402
from bench_recorder import KEY, TABLE, requests  # noqa: E402
from sample_skill.app import build_skill  # noqa: E402

SKILL_ID = "amzn1.ask.skill.bench"


class SlowClient:
    """DynamoDB answering every PutItem after ``delay_s`` (the GIL is released while it waits)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def put_item(self, **_: Any) -> dict[str, Any]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    bodies = [json.dumps(r) for r in requests(args.requests + 100)]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.requests} paired requests\n")

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
    compare("2. DynamoDB 250 ms slow, background delivery (queue of 1000)", slow, bodies)

    inline = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=SlowClient(0.25))  # type: ignore[arg-type]
    compare("3. for comparison: DynamoDB 250 ms slow, write inline", inline, bodies[:60], inline=True)


if __name__ == "__main__":
    main()
