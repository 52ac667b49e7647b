"""Reply latency the recorder adds, inline against post-response: prints figures, asserts nothing.

Run: ``python bench/bench_delivery.py [--requests 30]``

The sample skill runs under the real runtime interface client (``python -m awslambdaric``)
against the emulated Lambda Runtime and Extensions APIs of ``tests/lambda_runtime`` (with
Lambda's freeze between invocations), and moto's DynamoDB behind a proxy that answers at once,
250 ms late, or never. For each condition, three functions: without the recorder, with it
inline (``METRICS_DELIVERY=inline``) and with it post-response (the default in Lambda).

- reply: from the delivery of an invocation to the posted reply (what Alexa waits for);
  "added" is against the median / p99 of the function without the recorder.
- after reply: from the posted reply to the freeze, Lambda's ``PostRuntimeExtensionsDuration``
  (billed, not waited for).
- DynamoDB requests: what reached the proxy. When it hangs, invocations come every 50 ms for
  ``--hang-seconds`` (8 s); an inline write is two attempts of ``METRICS_TIMEOUT_MS`` (400 ms), a
  post-response one waits until the invocation's deadline (3 s here), and the breaker allows one
  write per cool-down (1, 2, 4 s ...): a few writes in 8 s.

Web-service skills (background delivery) are measured by ``bench/bench_webservice.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lambda_fn"), ROOT, os.path.dirname(os.path.abspath(__file__))]

from tests.lambda_runtime.harness import (  # noqa: E402
    TABLE,
    WITH_RECORDER,
    WITHOUT_RECORDER,
    dynamodb_client,
    function_env,
    lambda_function,
    moto_dynamodb,
)
from tests.lambda_runtime.proxy import HANG, DelayingProxy  # noqa: E402

from sample_skill.envelopes import Envelopes  # noqa: E402

AT_MS = 1_767_607_200_000
CONDITIONS = (("healthy", 0.0), ("250 ms slow", 0.25), ("hanging", HANG))
MODES: tuple[tuple[str, str, str | None], ...] = (
    ("without recorder", WITHOUT_RECORDER, None),
    ("inline", WITH_RECORDER, "inline"),
    ("post-response", WITH_RECORDER, "auto"),
)


@dataclass
class Row:
    """One line of the table: a delivery under one DynamoDB condition (figures in ms)."""

    where: str  # "Lambda" or the web-service framework
    condition: str
    mode: str
    reply_median: float
    reply_p99: float
    added_median: float | None = None
    added_p99: float | None = None
    after_reply_median: float | None = None
    dynamodb_requests: int | None = None
    seconds: float | None = None


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) >= 2 else samples[0]


def requests(envelopes: Envelopes, n: int, tag: str) -> list[dict[str, Any]]:
    """A launch, then rolls and help in one session, then a new session every 8 requests."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        session = f"{tag}-{i // 8}"
        if i % 8 == 0:
            out.append(envelopes.launch(user=f"u{i % 7}", session=session, at_ms=AT_MS + i))
        else:
            name, slots = ("AMAZON.HelpIntent", None) if i % 5 == 0 else ("RollDiceIntent", {"sides": "20"})
            user = f"u{i % 7}"
            out.append(envelopes.intent(name, user=user, session=session, at_ms=AT_MS + i, slots=slots))
    return out


def measure(
    moto_url: str,
    delay_s: float,
    handler: str,
    delivery: str | None,
    batch: list[dict[str, Any]],
    pace_s: float = 0.0,
) -> tuple[list[float], list[float], int, float]:
    """Reply and after-reply times (ms) of ``batch`` but two warm-up invocations, one every ``pace_s``.

    Also returns the DynamoDB requests seen and the seconds from the first invocation to the last
    (warm-up included: the first write of a hanging DynamoDB is the warm-up's).
    """
    with DelayingProxy(moto_url, delay_s) as proxy:
        env = function_env(proxy.url)
        if delivery is None:
            env.pop("METRICS_TABLE")  # sample_skill.app's own recorder off: the bare skill
        else:
            env["METRICS_DELIVERY"] = delivery
        log = Path(tempfile.gettempdir()) / "bench-delivery.log"
        with lambda_function(handler, env, log) as emulator:
            replies, after = [], []
            started = time.monotonic()
            for i, request in enumerate(batch):
                if pace_s:
                    time.sleep(max(0.0, started + i * pace_s - time.monotonic()))
                invocation = emulator.invoke(request)
                invocation.finished.wait(30)
                if i >= 2:  # the first two: cold start, first connection
                    replies.append(invocation.reply_ms)
                    after.append(invocation.post_reply_ms)
            seconds = time.monotonic() - started
        return replies, after, len(proxy.arrivals), seconds


def lambda_rows(n: int, hang_s: float) -> list[Row]:
    from alexa_skill_metrics.storage.table import create_table

    with moto_dynamodb() as moto_url:
        create_table(dynamodb_client(moto_url), TABLE)
        return lambda_table(moto_url, n, hang_s)


def lambda_table(moto_url: str, n: int, hang_s: float) -> list[Row]:
    """Each DynamoDB condition, each function; prints the rows as they come."""
    rows: list[Row] = []
    envelopes = Envelopes()
    for condition, delay_s in CONDITIONS:
        bare: tuple[float, float] | None = None
        # Hanging: spread the invocations over several cool-downs (1 + 2 + 4 s) to count probes
        pace_s, count = (0.05, int(hang_s / 0.05)) if delay_s == HANG else (0.0, n + 2)
        for mode, handler, delivery in MODES:
            batch = requests(envelopes, count, f"{condition}-{mode}")
            replies, after, seen, seconds = measure(moto_url, delay_s, handler, delivery, batch, pace_s)
            row = Row("Lambda", condition, mode, statistics.median(replies), p99(replies))
            if bare is None:
                bare = (row.reply_median, row.reply_p99)
            else:
                row.added_median = row.reply_median - bare[0]
                row.added_p99 = row.reply_p99 - bare[1]
                row.after_reply_median = statistics.median(after)
                row.dynamodb_requests = seen
                row.seconds = seconds
            rows.append(row)
            print_row(row)
    return rows


def lambda_init_ms(runs: int = 15) -> tuple[float, float]:
    """Init time the recorder adds in Lambda, where it also registers its extension (paired medians).

    Fresh interpreters with ``AWS_LAMBDA_RUNTIME_API`` pointing at the emulator (still in init, so
    every registration is accepted): ``ask_sdk_core`` + ``boto3``, against that plus
    ``SkillMetrics()`` and ``wrap()``. Returns the added median and the registration call alone.
    """
    import subprocess

    from tests.lambda_runtime.emulator import LambdaEmulator

    base = "import ask_sdk_core.skill_builder, boto3"
    full = (
        f"{base}; from alexa_skill_metrics import SkillMetrics; "
        "m = SkillMetrics(table_name='t', pseudonym_key='k' * 16); "
        "r = time.perf_counter(); m.wrap(lambda e, c: None); r = time.perf_counter() - r; "
        "assert m._extension is not None and m._extension.serving"
    )

    def timed(statement: str, env: dict[str, str]) -> tuple[float, float]:
        code = (
            f"import time; t = time.perf_counter(); r = 0.0; {statement}; print(time.perf_counter() - t, r)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        total, register = out.stdout.split()
        return float(total) * 1000, float(register) * 1000

    with LambdaEmulator() as emulator:
        env = {
            **os.environ,
            "PYTHONPATH": os.path.join(ROOT, "lambda_fn"),
            "AWS_LAMBDA_RUNTIME_API": emulator.address,
        }
        pairs = [(timed(base, env)[0], timed(full, env)) for _ in range(runs)]
    added = statistics.median(f[0] - b for b, f in pairs)
    return added, statistics.median(f[1] for _, f in pairs)


def fmt(value: float | None, width: int = 8) -> str:
    return f"{value:{width}.1f}" if value is not None else " " * (width - 1) + "-"


def print_header() -> None:
    print(
        f"{'where':8} {'DynamoDB':12} {'delivery':17} {'reply median':>12} {'p99':>8} "
        f"{'added median':>12} {'added p99':>9} {'after reply':>11} {'DDB requests':>12} {'over s':>6}"
    )


def print_row(row: Row) -> None:
    requests_seen = f"{row.dynamodb_requests:12d}" if row.dynamodb_requests is not None else " " * 11 + "-"
    seconds = f"{row.seconds:6.1f}" if row.seconds is not None else "     -"
    print(
        f"{row.where:8} {row.condition:12} {row.mode:17} {fmt(row.reply_median, 12)} {fmt(row.reply_p99)} "
        f"{fmt(row.added_median, 12)} {fmt(row.added_p99, 9)} {fmt(row.after_reply_median, 11)} "
        f"{requests_seen} {seconds}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="measured invocations per function")
    parser.add_argument("--hang-seconds", type=float, default=8.0, help="how long DynamoDB hangs")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.requests} invocations per function")
    print("times in ms; 'after reply' = PostRuntimeExtensionsDuration (billed, not waited for)\n")
    print_header()
    lambda_rows(args.requests, args.hang_seconds)
    added, register = lambda_init_ms()
    print("\nInit in Lambda (median of 15 interleaved pairs of fresh interpreters)")
    print(f"  added by alexa_skill_metrics + SkillMetrics() + wrap()   {added:6.1f} ms")
    print(f"  of which wrap(): extension registration and thread       {register:6.1f} ms")


if __name__ == "__main__":
    main()
