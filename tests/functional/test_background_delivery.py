"""BackgroundDelivery: writes off the caller's thread, bounded, counted, flushed at exit."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.model import Event
from alexa_skill_metrics.storage.codec import item_to_event
from alexa_skill_metrics.storage.delivery import DEFAULT_WORKERS, BackgroundDelivery
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
    """A DynamoDB client whose BatchWriteItem waits for ``gate`` and then goes to moto (or fails).

    ``failures`` (an exception, or a callable making one) is raised by the first ``fail_calls``
    calls (every call while ``fail_calls`` is ``None``); ``unprocessed`` makes that many of the
    first calls hand back their last two items unwritten, as a throttled DynamoDB does.
    """

    def __init__(self, client: Any, fail: bool = False) -> None:
        self._client = client
        self.gate = threading.Event()
        self.fail = fail
        self.failure: Exception = EndpointConnectionError(endpoint_url="http://dynamodb.invalid")
        self.fail_calls: int | None = None
        self.unprocessed = 0
        self.calls = 0
        self.sizes: list[int] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def batch_write_item(self, **payload: Any) -> Any:
        with self._lock:
            self.calls += 1
            call = self.calls
            self.threads.add(threading.current_thread().name)
        if not self.gate.wait(timeout=10):
            raise TimeoutError("test gate never opened")
        requests = payload["RequestItems"][TABLE]
        with self._lock:
            self.sizes.append(len(requests))
        if self.fail and (self.fail_calls is None or call <= self.fail_calls):
            raise self.failure
        if call <= self.unprocessed and len(requests) > 2:
            self._client.batch_write_item(RequestItems={TABLE: requests[:-2]})
            return {"UnprocessedItems": {TABLE: requests[-2:]}}
        return self._client.batch_write_item(**payload)


def stored_ids(client: Any) -> set[str]:
    return {item_to_event(i).request_id for i in table_items(client)}


def ids(numbers: Any) -> set[str]:
    return {event(n).request_id for n in numbers}


def delivery_over(client: Any, **options: Any) -> BackgroundDelivery:
    return BackgroundDelivery(EventWriter(SETTINGS, client), **options)


def wait_for(condition: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.001)


def test_queued_events_are_written_in_batches_of_25_by_the_workers(dynamodb: Any) -> None:
    # Given a delivery of four workers (the default is eight) over moto
    gated = GatedClient(dynamodb)
    delivery = delivery_over(gated, workers=4)
    assert not delivery.started  # nothing runs before the first event
    # When 200 events are submitted while the writes are held
    for n in range(200):
        delivery.submit(event(n))
    # Then nothing is stored yet: submit did not write
    assert stored_ids(dynamodb) == set()
    assert delivery.pending == 200
    gated.gate.set()
    delivery.flush(timeout_s=10)
    # And after flush every event is stored, by the workers only, in BatchWriteItem calls of at
    # most 25: the four first batches are what was queued when each worker woke, the rest are full
    assert stored_ids(dynamodb) == ids(range(200))
    assert delivery.pending == 0 and delivery.writer.written == 200 and delivery.writer.dropped == 0
    assert max(gated.sizes) == 25 and sum(gated.sizes) == 200
    assert len(gated.sizes) <= 4 + 8
    assert gated.threads <= {f"skill-metrics-delivery-{n}" for n in range(1, 5)}
    delivery.close(timeout_s=1)


def test_an_idle_service_writes_each_event_at_once(dynamodb: Any) -> None:
    gated = GatedClient(dynamodb)
    gated.gate.set()
    delivery = delivery_over(gated)
    for n in range(3):
        delivery.submit(event(n))
        delivery.flush(timeout_s=5)  # nothing waits for a batch to fill
        assert stored_ids(dynamodb) == ids(range(n + 1))
    assert gated.sizes == [1, 1, 1]
    delivery.close(timeout_s=1)


def test_unprocessed_items_are_sent_again_until_written(dynamodb: Any) -> None:
    # Given DynamoDB leaving the last two items of each of the first three calls unprocessed
    gated = GatedClient(dynamodb)
    gated.unprocessed = 3
    delivery = delivery_over(gated, workers=1)
    for n in range(25):
        delivery.submit(event(n))
    gated.gate.set()
    delivery.flush(timeout_s=10)
    # Then every event is stored, each counted once, nothing dropped
    assert stored_ids(dynamodb) == ids(range(25))
    assert delivery.writer.written == 25 and delivery.writer.dropped == 0
    # And the unprocessed ones were retried on their own
    assert 2 in gated.sizes[1:]
    delivery.close(timeout_s=1)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
    ],
)
def test_throttled_and_failed_calls_are_retried_with_backoff(dynamodb: Any, code: str, status: int) -> None:
    from botocore.exceptions import ClientError

    # Given DynamoDB refusing the first three calls
    gated = GatedClient(dynamodb, fail=True)
    gated.failure = ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "BatchWriteItem"
    )
    gated.fail_calls = 3
    gated.gate.set()
    delivery = delivery_over(gated, workers=1)
    for n in range(10):
        delivery.submit(event(n))
    delivery.flush(timeout_s=10)
    # Then the events went through on a later call, none dropped
    assert stored_ids(dynamodb) == ids(range(10))
    assert delivery.writer.dropped == 0 and gated.calls >= 4
    delivery.close(timeout_s=1)


def test_a_rejected_batch_is_dropped_and_counted_and_the_workers_keep_going(dynamodb: Any) -> None:
    from botocore.exceptions import ClientError

    gated = GatedClient(dynamodb, fail=True)
    gated.failure = ClientError(
        {"Error": {"Code": "ResourceNotFoundException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "BatchWriteItem",
    )
    gated.gate.set()
    delivery = delivery_over(gated, workers=1)
    delivery.submit(event(0))
    delivery.submit(event(1))
    delivery.flush(timeout_s=5)
    assert delivery.writer.dropped == 2 and gated.calls <= 2  # not retried
    # When DynamoDB accepts again, the same worker writes again
    gated.fail = False
    delivery.submit(event(2))
    delivery.flush(timeout_s=5)
    assert stored_ids(dynamodb) == ids([2])
    delivery.close(timeout_s=1)


def test_a_request_id_twice_in_one_batch_is_written_once(dynamodb: Any) -> None:
    # Given an Alexa retry queued next to its first copy (BatchWriteItem refuses a key twice)
    gated = GatedClient(dynamodb)
    delivery = delivery_over(gated, workers=1)
    for n in (0, 1, 1, 2):
        delivery.submit(event(n))
    gated.gate.set()
    delivery.flush(timeout_s=5)
    assert stored_ids(dynamodb) == ids(range(3))
    assert delivery.writer.dropped == 0
    delivery.close(timeout_s=1)


def test_an_alexa_retry_of_a_recorded_request_is_a_duplicate_not_a_second_write(dynamodb: Any) -> None:
    # Given a request already written (BatchWriteItem cannot say "only if absent")
    gated = GatedClient(dynamodb)
    gated.gate.set()
    delivery = delivery_over(gated)
    first = event(1)
    delivery.submit(first)
    delivery.flush(timeout_s=5)
    # When Alexa retries it with the same request id, answered differently
    retry = dataclasses.replace(first, received_ms=first.received_ms + 8000)
    delivery.submit(retry)
    delivery.flush(timeout_s=5)
    # Then the first write stands and the retry is counted as a duplicate
    (item,) = table_items(dynamodb)
    assert item_to_event(item).received_ms == first.received_ms
    assert gated.calls == 1 and delivery.writer.duplicates == 1 and delivery.writer.written == 1
    delivery.close(timeout_s=1)


def test_memory_is_bounded_while_dynamodb_is_down(dynamodb: Any) -> None:
    # Given DynamoDB unreachable, room for 100 events and two workers
    gated = GatedClient(dynamodb, fail=True)
    gated.gate.set()
    delivery = delivery_over(gated, max_pending=100, workers=2)
    # When 5,000 events come
    for n in range(5000):
        delivery.submit(event(n))  # a blocking submit would stall here
    # Then what is held is the queue plus what the workers retry, the rest dropped and counted
    held = delivery.pending
    assert held <= 100 + 2 * 25
    assert delivery.dropped == 5000 - held
    wait_for(lambda: delivery.writer.dropped == delivery.dropped)  # reported by the workers
    # And once DynamoDB is back, what was held is written
    gated.fail = False
    delivery.flush(timeout_s=10)
    assert len(stored_ids(dynamodb)) == held
    assert delivery.writer.written == held
    delivery.close(timeout_s=1)


def test_flush_is_bounded_when_dynamodb_hangs(dynamodb: Any) -> None:
    gated = GatedClient(dynamodb)
    delivery = delivery_over(gated)
    delivery.submit(event(0))
    started = time.monotonic()
    delivery.flush(timeout_s=0.2)
    assert 0.15 <= time.monotonic() - started < 2
    assert delivery.pending == 1
    gated.gate.set()
    delivery.close(timeout_s=5)
    assert stored_ids(dynamodb) == ids([0])


def test_close_writes_what_is_queued_then_drops_and_counts(dynamodb: Any) -> None:
    gated = GatedClient(dynamodb)
    delivery = delivery_over(gated)
    for n in range(60):
        delivery.submit(event(n))
    gated.gate.set()
    delivery.close(timeout_s=10)
    assert stored_ids(dynamodb) == ids(range(60))
    delivery.submit(event(60))
    assert delivery.dropped == 1


def test_counters_are_exact_under_concurrent_submitters(dynamodb: Any) -> None:
    # Given 8 threads submitting 50 events each into a queue of 64 behind held writes
    gated = GatedClient(dynamodb)
    delivery = delivery_over(gated, max_pending=64)
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
    wait_for(lambda: delivery.writer.dropped == delivery.dropped)
    assert 64 <= stored <= 64 + DEFAULT_WORKERS * 25  # the queue, plus what the workers took first
    delivery.close(timeout_s=1)


def test_max_pending_and_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pending must be at least 1"):
        BackgroundDelivery(EventWriter(SETTINGS), max_pending=0)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        BackgroundDelivery(EventWriter(SETTINGS), workers=0)


def run_script(out: Any, body: str, delay_s: float = 0.0, exit_timeout_s: float = 5) -> list[list[str]]:
    """Run ``body`` in a fresh interpreter, after a ``delivery`` whose writes append "pid sk" to ``out``."""
    preamble = f"""
import os, sys, time
sys.path[:0] = [{str(REPO / "lambda_fn")!r}, {str(REPO)!r}]
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.storage.delivery import DEFAULT_WORKERS, BackgroundDelivery
from alexa_skill_metrics.storage.writer import EventWriter
from tests.functional.test_background_delivery import event

class FileClient:
    def batch_write_item(self, **payload):
        for request in payload["RequestItems"]["t"]:
            time.sleep({delay_s})
            with open({str(out)!r}, "a") as f:
                f.write(f"{{os.getpid()}} {{request['PutRequest']['Item']['sk']['S']}}\\n")
        return {{}}

delivery = BackgroundDelivery(
    EventWriter(Settings(table_name="t"), FileClient()), exit_timeout_s={exit_timeout_s}
)
"""
    done = subprocess.run(
        [sys.executable, "-c", preamble + textwrap.dedent(body)],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    out.with_suffix(".log").write_text(done.stdout)
    return [line.split() for line in out.read_text().splitlines()] if out.exists() else []


def test_pending_events_are_flushed_at_interpreter_exit(tmp_path: Any) -> None:
    # Given a process that submits events to a slow DynamoDB and exits right away
    body = """
        for n in range(4):
            delivery.submit(event(n))
    """
    lines = run_script(tmp_path / "written.txt", body, delay_s=0.05)
    # Then the exit hook waited for all of them
    assert len(lines) == 4


def test_events_still_queued_when_the_exit_wait_ends_are_counted_as_dropped(tmp_path: Any) -> None:
    # Given a process whose DynamoDB takes 1 s per item and that exits with 0.3 s to flush
    body = """
        for n in range(30):
            delivery.submit(event(n))
    """
    lines = run_script(tmp_path / "written.txt", body, delay_s=1.0, exit_timeout_s=0.3)
    # Then what the workers had not taken is reported as dropped, with its own code
    log = (tmp_path / "written.log").read_text()
    assert len(lines) < 30 and '"error_code":"ExitPending"' in log


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
