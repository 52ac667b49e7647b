"""BackgroundDelivery: writes off the caller's thread, bounded, counted, flushed at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.model import Event
from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.delivery import BackgroundDelivery
from alexa_skill_metrics.storage.writer import EventWriter
from tests.conftest import REPO, TABLE, table_items

SETTINGS = Settings(table_name=TABLE)


def event(n: int) -> Event:
    return Event(
        skill_id="amzn1.ask.skill.bg",
        request_id=f"amzn1.echo-api.request.{n}",
        request_type="IntentRequest",
        timestamp_ms=1_767_607_200_000 + n,
        received_ms=1_767_607_200_100 + n,
        intent="RollDiceIntent",
    )


class GatedClient:
    """A DynamoDB client whose PutItem waits for ``gate`` and then goes to moto (or fails)."""

    def __init__(self, client: Any, fail: bool = False) -> None:
        self._client = client
        self.gate = threading.Event()
        self.fail = fail
        self.calls = 0
        self.threads: set[str] = set()

    def put_item(self, **payload: Any) -> Any:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if not self.gate.wait(timeout=10):
            raise TimeoutError("test gate never opened")
        if self.fail:
            raise ConnectionError("DynamoDB unreachable")
        return self._client.put_item(**payload)


def stored_ids(client: Any) -> set[str]:
    return {item_to_event(i).request_id for i in table_items(client)}


def test_events_are_written_on_the_worker_thread_and_flush_waits_for_them(dynamodb: Any) -> None:
    # Given a delivery over moto
    gated = GatedClient(dynamodb)
    delivery = BackgroundDelivery(EventWriter(SETTINGS, gated))  # type: ignore[arg-type]
    assert not delivery.started  # nothing runs before the first event
    # When events are submitted while the write is held
    for n in range(5):
        delivery.submit(event(n))
    # Then nothing is stored yet: submit did not write
    assert stored_ids(dynamodb) == set()
    assert delivery.pending == 5
    gated.gate.set()
    delivery.flush(timeout_s=5)
    # And after flush every event is stored, written by the worker thread only
    assert stored_ids(dynamodb) == {event(n).request_id for n in range(5)}
    assert delivery.pending == 0
    assert delivery.writer.written == 5
    assert gated.threads == {"skill-metrics-delivery"}
    delivery.close(timeout_s=1)


def test_full_queue_drops_and_counts_without_blocking(dynamodb: Any) -> None:
    # Given DynamoDB hanging (the gate stays shut) and room for 3 events
    gated = GatedClient(dynamodb)
    delivery = BackgroundDelivery(EventWriter(SETTINGS, gated), max_pending=3)  # type: ignore[arg-type]
    delivery.submit(event(0))
    deadline = time.monotonic() + 5
    while gated.calls == 0 and time.monotonic() < deadline:  # the worker holds event 0
        time.sleep(0.001)
    # When 3 more fill the queue and 4 more come
    for n in range(1, 8):
        delivery.submit(event(n))  # a blocking submit would hang here: the gate is shut
    # Then the 4 beyond the queue are dropped and counted
    assert delivery.dropped == 4
    assert delivery.pending == 4
    # And once DynamoDB answers, the queued ones are written and the drops reach the writer's count
    gated.gate.set()
    delivery.flush(timeout_s=5)
    assert stored_ids(dynamodb) == {event(n).request_id for n in range(4)}
    assert delivery.writer.dropped == 4
    delivery.close(timeout_s=1)


def test_flush_is_bounded_when_dynamodb_hangs(dynamodb: Any) -> None:
    gated = GatedClient(dynamodb)
    delivery = BackgroundDelivery(EventWriter(SETTINGS, gated))  # type: ignore[arg-type]
    delivery.submit(event(0))
    started = time.monotonic()
    delivery.flush(timeout_s=0.2)
    assert 0.15 <= time.monotonic() - started < 2
    assert delivery.pending == 1
    gated.gate.set()
    delivery.close(timeout_s=5)
    assert stored_ids(dynamodb) == {event(0).request_id}


def test_failing_writes_are_counted_and_the_worker_keeps_going(dynamodb: Any) -> None:
    # Given a transport that cannot connect
    gated = GatedClient(dynamodb, fail=True)
    gated.gate.set()
    delivery = BackgroundDelivery(EventWriter(SETTINGS, gated))  # type: ignore[arg-type]
    delivery.submit(event(0))
    delivery.submit(event(1))
    delivery.flush(timeout_s=5)
    assert delivery.writer.dropped == 2
    # When DynamoDB is back, the same worker writes again
    gated.fail = False
    delivery.submit(event(2))
    delivery.flush(timeout_s=5)
    assert stored_ids(dynamodb) == {event(2).request_id}
    delivery.close(timeout_s=1)


def test_counters_are_exact_under_concurrent_submitters(dynamodb: Any) -> None:
    # Given 8 threads submitting 50 events each into a queue of 64 behind a held write
    gated = GatedClient(dynamodb)
    delivery = BackgroundDelivery(EventWriter(SETTINGS, gated), max_pending=64)  # type: ignore[arg-type]
    start = threading.Barrier(8)

    def submitter(base: int) -> None:
        start.wait()
        for n in range(50):
            delivery.submit(event(base + n))

    threads = [threading.Thread(target=submitter, args=(1000 * t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gated.gate.set()
    delivery.flush(timeout_s=10)
    # Then every event is either stored or counted as dropped, none twice
    stored = len(stored_ids(dynamodb))
    assert stored == delivery.writer.written
    assert stored + delivery.dropped == 400
    assert delivery.writer.dropped == delivery.dropped
    assert 64 <= stored <= 65  # the queue, plus the one the worker may have taken first
    delivery.close(timeout_s=1)


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pending must be at least 1"):
        BackgroundDelivery(EventWriter(SETTINGS), max_pending=0)


def run_script(out: Any, body: str, delay_s: float = 0.0) -> list[list[str]]:
    """Run ``body`` in a fresh interpreter, after a ``delivery`` whose writes append "pid sk" to ``out``."""
    preamble = f"""
import os, sys, time
sys.path[:0] = [{str(REPO / "lambda_fn")!r}, {str(REPO)!r}]
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.storage.delivery import BackgroundDelivery
from alexa_skill_metrics.storage.writer import EventWriter
from tests.functional.test_background_delivery import event

class FileClient:
    def put_item(self, **payload):
        time.sleep({delay_s})
        with open({str(out)!r}, "a") as f:
            f.write(f"{{os.getpid()}} {{payload['Item']['sk']['S']}}\\n")
        return {{}}

delivery = BackgroundDelivery(EventWriter(Settings(table_name="t"), FileClient()), exit_timeout_s=5)
"""
    subprocess.run([sys.executable, "-c", preamble + textwrap.dedent(body)], check=True, timeout=60)
    return [line.split() for line in out.read_text().splitlines()]


def test_pending_events_are_flushed_at_interpreter_exit(tmp_path: Any) -> None:
    # Given a process that submits events to a slow DynamoDB and exits right away
    body = """
        for n in range(4):
            delivery.submit(event(n))
    """
    lines = run_script(tmp_path / "written.txt", body, delay_s=0.05)
    # Then the exit hook waited for all of them
    assert len(lines) == 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_process_starts_its_own_worker(tmp_path: Any) -> None:
    # Given a delivery whose worker already runs in the parent (a request served before the fork)
    body = """
        delivery.submit(event(0))
        delivery.flush(5)
        pid = os.fork()
        if pid == 0:  # the child: the parent's thread does not exist here
            delivery.submit(event(1))
            delivery.flush(5)
            os._exit(0 if delivery.writer.written == 2 else 1)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """
    lines = run_script(tmp_path / "written.txt", body)
    # Then the child's event was written, by the child
    assert len(lines) == 2
    assert lines[0][0] != lines[1][0]
