"""Under the real runtime client (awslambdaric) and Lambda's lifecycle, the write comes after the reply.

Each test runs the sample skill as Lambda would (``python -m awslambdaric``) against the
emulated Runtime and Extensions APIs, with moto's DynamoDB behind a proxy that delays every
request. "Stored at the freeze" is checked while the runtime process is stopped (SIGSTOP)
between invocations, so nothing written later can count.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from sample_skill.envelopes import Envelopes
from tests.lambda_runtime.emulator import Invocation
from tests.lambda_runtime.harness import (
    BUILT_AFTER_INIT,
    TABLE,
    WITH_RECORDER,
    WITHOUT_RECORDER,
    function_env,
    lambda_function,
)
from tests.lambda_runtime.proxy import HANG, DelayingProxy

pytestmark = [pytest.mark.e2e, pytest.mark.lambda_runtime]

SLOW_S = 0.25
AT_MS = 1_767_607_200_000


def conversation(envelopes: Envelopes, n: int, session: str) -> list[dict[str, Any]]:
    """A launch, then rolls of a die, in one session."""
    requests = [envelopes.launch(user="u1", session=session, at_ms=AT_MS)]
    requests += [
        envelopes.intent("RollDiceIntent", user="u1", session=session, at_ms=AT_MS + i, slots={"sides": "6"})
        for i in range(1, n)
    ]
    return requests


def stored(table: Any) -> int:
    count: int = table.scan(TableName=TABLE, Select="COUNT")["Count"]
    return count


def run(
    handler: str, env: dict[str, str], requests: list[Any], log: Path, table: Any, timeout_s: float = 3.0
) -> tuple[list[Invocation], list[int]]:
    """Invoke each request in turn; return the invocations and the events stored at each freeze."""
    invocations: list[Invocation] = []
    counts: list[int] = []
    with lambda_function(handler, env, log) as emulator:
        for request in requests:
            invocation = emulator.invoke(request, timeout_s=timeout_s)
            assert invocation.finished.wait(10), "the invocation never ended"
            counts.append(stored(table))  # the process is frozen now
            invocations.append(invocation)
    return invocations, counts


def reply_ms(invocations: list[Invocation]) -> float:
    return statistics.median(i.reply_ms for i in invocations[1:])  # the first one is the cold start


def test_reply_does_not_wait_for_a_slow_write(table: Any, moto_url: str, tmp_path: Path) -> None:
    # Given DynamoDB answering every request 250 ms late, and three functions: without the
    # recorder, with it (post-response delivery, the default in Lambda), and with it inline
    envelopes = Envelopes()
    with DelayingProxy(moto_url, SLOW_S) as proxy:
        env = function_env(proxy.url)
        no_recorder = {k: v for k, v in env.items() if k != "METRICS_TABLE"}
        bare, _ = run(
            WITHOUT_RECORDER, no_recorder, conversation(envelopes, 5, "s-bare"), tmp_path / "bare.log", table
        )
        post, post_counts = run(
            WITH_RECORDER, env, conversation(envelopes, 5, "s-post"), tmp_path / "post.log", table
        )
        inline, inline_counts = run(
            WITH_RECORDER,
            {**env, "METRICS_DELIVERY": "inline"},
            conversation(envelopes, 5, "s-inline"),
            tmp_path / "inline.log",
            table,
        )
    # Then every request is stored by the time its invocation ends, in both modes
    assert post_counts == [1, 2, 3, 4, 5]
    assert inline_counts == [6, 7, 8, 9, 10]
    # And inline, the reply waits for the write; post-response, it does not
    added_post = reply_ms(post) - reply_ms(bare)
    added_inline = reply_ms(inline) - reply_ms(bare)
    assert added_inline >= SLOW_S * 1000 * 0.9, (added_inline, added_post)
    assert added_post < SLOW_S * 1000 / 5, (added_inline, added_post)
    # And the write happened after the reply, before the freeze (billed, not waited for)
    assert all(i.post_reply_ms >= SLOW_S * 1000 * 0.9 for i in post)
    assert all(i.post_reply_ms < SLOW_S * 1000 / 5 for i in inline[1:])
    # And the customer is answered the same way (the rolls differ: seeded by the request id)
    assert [answer_shape(i) for i in post] == [answer_shape(i) for i in bare]
    assert [answer_shape(i) for i in inline] == [answer_shape(i) for i in bare]


def answer_shape(invocation: Invocation) -> dict[str, Any]:
    response: dict[str, Any] = invocation.reply["response"]
    return {k: v for k, v in response.items() if k != "outputSpeech"}


def test_registration_refused_after_init_writes_inline_and_says_so_once(
    table: Any, moto_url: str, tmp_path: Path
) -> None:
    # Given a function that builds the skill (and its recorder) on the first invocation, after init
    envelopes = Envelopes()
    log = tmp_path / "late.log"
    with (
        DelayingProxy(moto_url, SLOW_S) as proxy,
        lambda_function(BUILT_AFTER_INIT, function_env(proxy.url), log) as emulator,
    ):
        invocations: list[Invocation] = []
        counts: list[int] = []
        for request in conversation(envelopes, 3, "s-late"):
            invocation = emulator.invoke(request)
            assert invocation.finished.wait(10)
            counts.append(stored(table))
            invocations.append(invocation)
        refused = list(emulator.refused)
    # Then Lambda refused the extension, the recorder wrote inline (the reply waited), nothing lost
    assert refused == ["alexa-skill-metrics-1"]
    assert counts == [1, 2, 3]
    assert all(i.reply_ms >= SLOW_S * 1000 for i in invocations)
    # And the log says so once
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    fallbacks = [line for line in lines if "registration failed" in line.get("message", "")]
    assert len(fallbacks) == 1 and "403" in fallbacks[0]["reason"]


def test_hanging_dynamodb_costs_one_held_invocation_per_cool_down(
    table: Any, moto_url: str, tmp_path: Path
) -> None:
    # Given a warm container (its first write built the transport), then DynamoDB that never
    # answers, 100 ms timeouts and invocations with 1 s to live
    envelopes = Envelopes()
    warm_up, *requests = conversation(envelopes, 9, "s-hang")
    log = tmp_path / "hang.log"
    with DelayingProxy(moto_url, 0.0) as proxy:
        env = function_env(proxy.url, METRICS_TIMEOUT_MS="100")
        with lambda_function(WITH_RECORDER, env, log) as emulator:
            assert emulator.invoke(warm_up).finished.wait(10)
            proxy.delay_s = HANG
            before = len(proxy.arrivals)
            invocations: list[Invocation] = []
            for i, request in enumerate(requests):
                if i == 6:  # past the first cool-down (1 s): this one probes
                    time.sleep(max(0.0, (invocations[0].ended or 0) + 1.1 - time.monotonic()))
                invocation = emulator.invoke(request, timeout_s=1.0)
                assert invocation.finished.wait(10)
                invocations.append(invocation)
        arrivals = proxy.arrivals[before:]
    first, probe = invocations[0], invocations[6]
    assert first.delivered is not None and first.ended is not None
    assert probe.delivered is not None and probe.ended is not None
    # Then DynamoDB was waited for (and retried) in the first invocation and in the probe only
    assert any(first.delivered <= t <= first.ended for t in arrivals)
    assert any(probe.delivered <= t <= probe.ended for t in arrivals)
    assert all(first.delivered <= t <= first.ended or probe.delivered <= t <= probe.ended for t in arrivals)
    # And those two were held no longer than their deadline (less the margin)
    assert first.ended - first.delivered < 1.0 and probe.ended - probe.delivered < 1.0
    # And the invocations in the cool-downs ended right after their reply
    skipped = invocations[1:6] + invocations[7:]
    assert all(i.post_reply_ms < 50 for i in skipped), [round(i.post_reply_ms) for i in skipped]
    # And no reply waited for DynamoDB
    assert all(i.reply_ms < 50 for i in invocations), [round(i.reply_ms) for i in invocations]
    # And every request in the hang is counted as a drop, and the pause logged once per opening
    text = log.read_text()
    assert text.count('"RecorderDrops":[1.0]') == len(requests)
    assert text.count("metrics writes paused") == 2
    assert stored(table) == 1  # the warm-up


def test_after_the_reply_only_the_deadline_bounds_the_write(
    table: Any, moto_url: str, tmp_path: Path
) -> None:
    # Given one execution environment through five spells of DynamoDB: 250 ms slow, 1.5 s slow,
    # failing three requests, failing for longer than an invocation lives, and back at 250 ms.
    # Every DynamoDB answer is held until the current invocation's reply is posted: a reply that
    # waited for any write would never come (invoke raises).
    envelopes = Envelopes()
    requests = iter(conversation(envelopes, 11, "s-spells"))
    log = tmp_path / "spells.log"
    seen: list[tuple[str, Invocation, int, int, int]] = []  # spell, invocation, stored, arrivals before/after
    with (
        DelayingProxy(moto_url, SLOW_S) as proxy,
        lambda_function(WITH_RECORDER, function_env(proxy.url), log) as emulator,
    ):
        proxy.before_answer = lambda: emulator.invocations[-1].done.wait(30)

        def invoke(spell: str, timeout_s: float = 8.0) -> Invocation:
            before = len(proxy.arrivals)
            invocation = emulator.invoke(next(requests), timeout_s=timeout_s)
            assert invocation.finished.wait(30), "the invocation never ended"
            assert invocation.delivered is not None and invocation.ended is not None
            assert invocation.ended - invocation.delivered < timeout_s  # never held past its deadline
            seen.append((spell, invocation, stored(table), before, len(proxy.arrivals)))  # frozen now
            return invocation

        for _ in range(3):
            invoke("250 ms slow")
        proxy.delay_s = 1.5
        for _ in range(3):
            invoke("1.5 s slow")
        proxy.delay_s = SLOW_S
        proxy.fail_next = 3
        invoke("3 failures")
        proxy.failing = True
        down = invoke("failing", timeout_s=1.5)
        invoke("paused")
        proxy.failing = False
        time.sleep(max(0.0, (down.ended or 0) + 1.1 - time.monotonic()))  # past the 1 s cool-down
        invoke("back")
        invoke("back")
    spells = [spell for spell, *_ in seen]
    # Then every event is stored before its freeze whenever its deadline allowed: slow or not,
    # and through a few failures
    assert [n for _, _, n, _, _ in seen] == [1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9], spells
    # And the 1.5 s writes were waited for, once each: no attempt gave up early
    assert [after - before for spell, _, _, before, after in seen if spell == "1.5 s slow"] == [1, 1, 1]
    # And the failures were retried within the one invocation
    assert [after - before for spell, _, _, before, after in seen if spell == "3 failures"] == [4]
    # And DynamoDB failing until the deadline opened the breaker: the next event was not even tried
    retried, paused = seen[7], seen[8]
    assert retried[4] - retried[3] >= 2 and paused[4] == paused[3]
    # And both lost events are counted as drops, the failing one with DynamoDB's error code
    text = log.read_text()
    assert text.count('"RecorderDrops":[1.0]') == 2
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    dropped = [line for line in lines if line.get("message") == "metrics event dropped"]
    assert [line["error_code"] for line in dropped] == ["InternalServerError"]
    assert text.count("metrics writes paused") == 1


def test_close_deadline_drops_the_write_and_never_holds_the_freeze(
    table: Any, moto_url: str, tmp_path: Path
) -> None:
    envelopes = Envelopes()
    log = tmp_path / "deadline.log"
    with DelayingProxy(moto_url, SLOW_S) as proxy:
        # 200 ms timeouts: one attempt may take 400 ms
        env = function_env(proxy.url, METRICS_TIMEOUT_MS="200")
        with lambda_function(WITH_RECORDER, env, log) as emulator:
            # Given an invocation with 400 ms to live: no write could finish in time
            close = emulator.invoke(conversation(envelopes, 1, "s-close")[0], timeout_s=0.4)
            assert close.finished.wait(10)
            after_close = (stored(table), len(proxy.arrivals))
            # Given an event the runtime cannot parse: the handler never runs, no event comes
            broken = emulator.invoke(b"{not json", timeout_s=0.5)
            assert broken.finished.wait(10)
            # Given then an invocation with time to spare
            normal = emulator.invoke(conversation(envelopes, 1, "s-normal")[0])
            assert normal.finished.wait(10)
            after_normal = stored(table)
    for invocation, timeout_s in ((close, 0.4), (broken, 0.5)):
        assert invocation.delivered is not None and invocation.ended is not None
        # Then each invocation ended before its deadline
        assert invocation.ended - invocation.delivered < timeout_s
    # And the close one sent nothing, stored nothing and counted a drop, all before its freeze
    assert after_close == (0, 0)
    assert "DeadlineClose" in log.read_text()
    # And the one without an event waited for it at most until its deadline, less the margin
    assert broken.error is not None and broken.post_reply_ms > 200
    # And the next invocation is recorded as usual
    assert after_normal == 1


def test_a_recorder_whose_handler_is_not_used_stops_holding_invocations(
    table: Any, moto_url: str, tmp_path: Path
) -> None:
    # Given a module that builds the recorded handler at import, but a function configured with
    # another handler of it: the extension is registered, the wrapper never runs
    envelopes = Envelopes()
    log = tmp_path / "unused.log"
    with lambda_function(WITHOUT_RECORDER, function_env(moto_url), log) as emulator:
        assert list(emulator.extensions.values()) == ["alexa-skill-metrics-1"]
        invocations: list[Invocation] = []
        for request in conversation(envelopes, 4, "s-unused"):
            invocation = emulator.invoke(request, timeout_s=0.5)
            assert invocation.finished.wait(10)
            invocations.append(invocation)
    # Then the first two are held until their deadline (less the margin) and the next are not
    held = [round(i.post_reply_ms) for i in invocations]
    assert all(250 < ms < 500 for ms in held[:2]) and all(ms < 50 for ms in held[2:]), held
    assert log.read_text().count("the function's handler is not the wrapped one") == 1
