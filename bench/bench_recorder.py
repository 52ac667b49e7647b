"""What the recorder adds to a skill: CPU per request and import time. Prints figures; asserts nothing.

Run: ``python bench/bench_recorder.py [--requests 2000] [--slot-heavy [--slot-values] | --dialogs]``

``--slot-values``: the slot-heavy rolls' eight slots resolve on no authority and every slot of the
roll is opted in (``SkillMetrics(slot_values=...)``), so the recorder reads and keeps values too.

1. The sample skill's bare ASK SDK dispatch against the same dispatch with the recorder, with the
   DynamoDB transport stubbed at the HTTP layer (botocore's ``before-send`` returns a canned 200),
   so only the CPU our code and botocore spend is counted.
2. The same against moto's DynamoDB server on loopback (real HTTP; moto's own time included).
3. The import time ``alexa_skill_metrics`` adds over ``ask_sdk_core`` and ``boto3``, in fresh
   interpreters.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lambda_fn"))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.httpsession import URLLib3Session  # noqa: E402

from alexa_skill_metrics import SkillMetrics  # noqa: E402
from sample_skill.app import build_handler  # noqa: E402
from sample_skill.envelopes import Envelopes  # noqa: E402

TABLE = "bench-metrics"
KEY = "bench-pseudonym-key-0123456789"


class _Body:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b"{}"


def stub_http() -> None:
    """Answer every HTTP send of botocore's connection pool with DynamoDB's empty PutItem reply.

    Both the recorder's signed transport and a boto3 client send through ``URLLib3Session``, so
    stubbing it counts everything up to the socket and nothing beyond it.
    """

    def send(self: Any, request: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"x-amzn-requestid": "bench"}, _Body())  # type: ignore[arg-type]

    URLLib3Session.send = send  # type: ignore[method-assign]


def slot_heavy(envelope: dict[str, Any], slots: int = 8, *, unresolved: bool = False) -> dict[str, Any]:
    """``envelope`` with ``slots`` more custom slots, each resolved against static and dynamic authorities.

    ``unresolved``: no authority matches (every slot's value is an unresolved value).
    """
    intent = envelope["request"].get("intent")
    if intent is None or intent["name"] != "RollDiceIntent":
        return envelope
    skill = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
    for n in range(slots):
        name = f"option{n}"
        intent["slots"][name] = {
            "name": name, "value": f"value number {n}", "confirmationStatus": "NONE", "source": "USER",
            "resolutions": {"resolutionsPerAuthority": [
                {"authority": f"amzn1.er-authority.echo-sdk.dynamic.{skill}.Option{n}",
                 "status": {"code": "ER_SUCCESS_NO_MATCH"}},
                {"authority": f"amzn1.er-authority.echo-sdk.{skill}.Option{n}",
                 "status": {"code": "ER_SUCCESS_NO_MATCH" if unresolved else "ER_SUCCESS_MATCH"},
                 "values": [{"value": {"name": f"Value {n}", "id": f"v{n}"}}]},
            ]},
        }  # fmt: skip
    return envelope


# Every slot of the heavy rolls opted in (``--slot-values``).
SLOT_VALUES = {"RollDiceIntent": ["colour", "sides", *(f"option{n}" for n in range(8))]}


def event_sizes(batch: list[dict[str, Any]], slot_values: dict[str, list[str]] | None = None) -> list[int]:
    """DynamoDB item sizes of the events the recorder writes for ``batch`` (bytes)."""
    from alexa_skill_metrics.simulation.limits import item_size

    class Capture:
        def __init__(self) -> None:
            self.items: list[dict[str, Any]] = []

        def put_item(self, **kwargs: Any) -> dict[str, Any]:
            self.items.append(kwargs["Item"])
            return {}

    capture = Capture()
    handler = build_handler(
        SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=capture, slot_values=slot_values)  # type: ignore[arg-type]
    )
    for request in batch:
        handler(copy.deepcopy(request), None)
    return [item_size({"M": item}) for item in capture.items]


def requests(
    n: int, heavy: bool = False, dialogs: bool = False, unresolved: bool = False
) -> list[dict[str, Any]]:
    """A realistic mix: launches, rolls, help and stops, in sessions with attributes.

    ``heavy``: each roll also carries eight custom slots with static and dynamic resolutions
    (``unresolved``: matched by none). ``dialogs``: each session sets up a game instead, a dialog
    (``dialog_requests``).
    """
    if dialogs:
        return dialog_requests(n)
    return [slot_heavy(r, unresolved=unresolved) for r in _requests(n)] if heavy else _requests(n)


def dialog_requests(n: int) -> list[dict[str, Any]]:
    """Sessions of a launch and a dialog: STARTED (the skill elicits the players), IN_PROGRESS (it
    delegates), COMPLETED; each request carries the stamp the recorder left, so the dialog is open."""
    env = Envelopes()
    t = 1_767_607_200_000
    game = "SetUpGameIntent"
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind, at = i % 4, t + i
        user, session = f"u{i % 97}", f"s{i // 4}"
        start = at - kind
        stamp = {
            "s": start,
            "t": at - 1,
            "i": game if kind > 1 else "LaunchRequest",
            "p": True,
            "n": "2abcdef01",
        }
        if kind > 1:
            stamp["g"] = [game, start + 1, kind - 1, "e:players" if kind == 2 else "d"]
        attributes = {"rolls": 1, "_skill_metrics": stamp}
        if kind == 0:
            out.append(env.launch(user=user, session=session, at_ms=at))
            continue
        steps = [("STARTED", {}, ("players", "dice")), ("IN_PROGRESS", {"players": "3"}, ("dice",)),
                 ("COMPLETED", {"players": "3", "dice": "20"}, ())]  # fmt: skip
        state, slots, empty = steps[kind - 1]
        out.append(
            env.intent(
                game,
                user=user,
                session=session,
                at_ms=at,
                slots=slots,
                attributes=attributes,
                dialog_state=state,
                empty=empty,
                confirmation="CONFIRMED" if kind == 3 else "NONE",
            )
        )
    return out


def _requests(n: int) -> list[dict[str, Any]]:
    env = Envelopes()
    t = 1_767_607_200_000
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 4
        user, session = f"u{i % 97}", f"s{i // 4}"
        if kind == 0:
            out.append(env.launch(user=user, session=session, at_ms=t + i))
        elif kind == 3:
            out.append(env.intent("AMAZON.StopIntent", user=user, session=session, at_ms=t + i))
        else:
            out.append(
                env.intent(
                    "RollDiceIntent",
                    user=user,
                    session=session,
                    at_ms=t + i,
                    slots={"sides": "20"},
                    attributes={"rolls": 1},
                )
            )
    return out


def paired_us(
    bare: Callable[[Any, Any], Any], recorded: Callable[[Any, Any], Any], batch: list[dict[str, Any]]
) -> tuple[list[float], list[float]]:
    """Each request through both handlers back to back, so drift on a shared machine hits both alike."""
    bare_us, recorded_us = [], []
    copies = [(copy.deepcopy(r), copy.deepcopy(r)) for r in batch]
    gc.disable()
    try:
        for i, (first, second) in enumerate(copies):
            order = ((bare, first, bare_us), (recorded, second, recorded_us))
            for handler, request, samples in order if i % 2 else reversed(order):
                start = time.perf_counter_ns()
                handler(request, None)
                samples.append((time.perf_counter_ns() - start) / 1000)
    finally:
        gc.enable()
    return bare_us, recorded_us


def compare(
    label: str,
    recorded: Callable[[Any, Any], Any],
    n: int,
    rounds: int = 5,
    *,
    heavy: bool = False,
    dialogs: bool = False,
    unresolved: bool = False,
) -> None:
    bare = build_handler(None)
    batch = requests(n, heavy, dialogs, unresolved)
    paired_us(bare, recorded, batch[:200])  # warm both paths: imports, clients, connections
    bare_all: list[float] = []
    recorded_all: list[float] = []
    for _ in range(rounds):
        b, r = paired_us(bare, recorded, batch)
        bare_all += b
        recorded_all += r
    added = statistics.median(r - b for b, r in zip(bare_all, recorded_all, strict=True))
    b_med, r_med = statistics.median(bare_all), statistics.median(recorded_all)
    print(f"{label}")
    print(f"  bare dispatch        median {b_med:8.1f} us/request")
    print(f"  with recorder        median {r_med:8.1f} us/request")
    print(f"  added                median {added:8.1f} us/request   ratio added/bare = {added / b_med:.2f}")


def import_time_ms(statement: str) -> float:
    """Seconds a fresh interpreter spends running ``statement``, in milliseconds."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "lambda_fn")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(run.stdout) * 1000


def import_times(base: str, full: str, runs: int = 25) -> tuple[float, float, float]:
    """Medians of ``base`` and ``full`` and of their paired difference, runs interleaved."""
    pairs = [(import_time_ms(base), import_time_ms(full)) for _ in range(runs)]
    return (
        statistics.median(b for b, _ in pairs),
        statistics.median(f for _, f in pairs),
        statistics.median(f - b for b, f in pairs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--skip-moto", action="store_true")
    parser.add_argument(
        "--slot-heavy",
        action="store_true",
        help="rolls carry eight more resolved slots",
    )
    parser.add_argument(
        "--slot-values",
        action="store_true",
        help="with --slot-heavy: the eight slots resolve on no authority and every slot is opted in",
    )
    parser.add_argument("--dialogs", action="store_true", help="sessions set up a game: a dialog")
    args = parser.parse_args()
    heavy, dialogs = args.slot_heavy, args.dialogs
    values = SLOT_VALUES if heavy and args.slot_values else None
    sizes = sorted(event_sizes(requests(400, heavy, dialogs, values is not None), values))
    kind = (
        "dialog"
        if dialogs
        else ("slot-heavy, unresolved values opted in" if values else "slot-heavy")
        if heavy
        else "plain"
    )
    print(f"event item size: median {statistics.median(sizes):.0f} B, max {sizes[-1]} B ({kind} requests)\n")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.requests} requests x 5 rounds\n")

    real_send = URLLib3Session.send
    stub_http()
    metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, slot_values=values)
    compare(
        "1. CPU only, the recorder's default signed transport (HTTP send stubbed)",
        build_handler(metrics),
        args.requests,
        heavy=heavy,
        dialogs=dialogs,
        unresolved=values is not None,
    )
    writer = metrics.recorder.writer
    print(f"  events written {writer.written}, dropped {writer.dropped}\n")

    import boto3
    from botocore.config import Config

    plain = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 2}))
    via_boto = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=plain)
    compare(
        "   for comparison: the same through boto3's put_item (HTTP send stubbed)",
        build_handler(via_boto),
        args.requests,
    )
    URLLib3Session.send = real_send  # type: ignore[method-assign]
    print()

    if not args.skip_moto:
        from alexa_skill_metrics.cli.local import embedded_dynamodb
        from alexa_skill_metrics.storage.table import create_table

        with embedded_dynamodb():
            import boto3

            create_table(boto3.client("dynamodb"), TABLE)
            moto_metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY)
            compare(
                "2. moto's DynamoDB server on loopback (real HTTP, moto's time included)",
                build_handler(moto_metrics),
                min(args.requests, 500),
                rounds=3,
                heavy=heavy,
                dialogs=dialogs,
            )
            print(
                f"  events written {moto_metrics.recorder.writer.written}, "
                f"dropped {moto_metrics.recorder.writer.dropped}\n"
            )

    base, full, added = import_times(
        "import ask_sdk_core.skill_builder, boto3",
        "import ask_sdk_core.skill_builder, boto3; from alexa_skill_metrics import SkillMetrics; "
        "SkillMetrics(table_name='t', pseudonym_key='k' * 16)",
    )
    print("3. Import time (median of 25 interleaved pairs of fresh interpreters)")
    print(f"  ask_sdk_core + boto3                          {base:6.1f} ms")
    print(f"  ... + alexa_skill_metrics + SkillMetrics()    {full:6.1f} ms")
    print(f"  added by alexa_skill_metrics (paired median)  {added:6.1f} ms")


if __name__ == "__main__":
    main()
