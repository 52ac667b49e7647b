"""Local DynamoDB for the demo and for trying things out: moto, in this process or as a server.

Three ways, all reached through boto3's standard configuration (``AWS_ENDPOINT_URL``, dummy
credentials, a region), exactly as code would reach AWS:

* ``in_process_dynamodb()``: moto's ``mock_aws`` in this process, no sockets: the fastest, gone
  when the block ends (the demo's default).
* ``embedded_dynamodb()``: moto's server on a free loopback port in a thread of this process:
  real HTTP, gone when the block ends.
* ``start_server(port)`` / ``stop_server(port)``: moto's server as a process of its own that
  outlives the command (``skill-metrics demo --keep``, ``infra/local_moto.py``), recorded in a
  pid file in the temporary directory; ``local_environment(endpoint)`` points boto3 at it.

Example
-------
>>> exports(5005)[0]
'export AWS_ENDPOINT_URL=http://127.0.0.1:5005'
>>> with in_process_dynamodb():       # doctest: +SKIP
...     boto3.client("dynamodb").list_tables()
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alexa_skill_metrics.exceptions import SkillMetricsError

DEMO_REGION = "us-east-1"
HOST = "127.0.0.1"
DEFAULT_PORT = 5005
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": DEMO_REGION,
    "AWS_REGION": DEMO_REGION,
}


@contextmanager
def local_environment(endpoint: str | None) -> Iterator[None]:
    """Point this process's AWS configuration at ``endpoint`` (or at none: in-process moto).

    Dummy credentials and the demo region; ``AWS_PROFILE`` and ``AWS_SESSION_TOKEN`` are removed.
    The previous environment is restored on exit.
    """
    changes = dict(_LOCAL_ENV)
    if endpoint is not None:
        changes["AWS_ENDPOINT_URL"] = endpoint
    removed = ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_DYNAMODB"]
    if endpoint is None:
        removed.append("AWS_ENDPOINT_URL")
    saved = {name: os.environ.get(name) for name in [*changes, *removed]}
    for name in removed:
        os.environ.pop(name, None)
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def in_process_dynamodb() -> Iterator[str]:
    """moto's ``mock_aws`` in this process: every boto3 client is served without a socket."""
    from moto import mock_aws

    with local_environment(None), mock_aws():
        partition_queries()
        yield "in this process"


@contextmanager
def embedded_dynamodb() -> Iterator[str]:
    """Start moto's server on 127.0.0.1, point this process's AWS configuration at it, yield its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    partition_queries()
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with local_environment(endpoint):
            yield endpoint
    finally:
        server.stop()


class MotoPutItem:
    """A boto3 client made for in-process moto: ``put_item`` always, other calls unless ``client`` takes them.

    For the demo under ``in_process_dynamodb``, whose time goes into writes: handed to
    ``SkillMetrics(client=...)`` (the recorder's one call) or to the aggregator in place of a
    boto3 client. Only moto's public interface is used (``mock_aws`` serving a boto3 client), with
    the client's per-call work that in-process moto does not need switched off through botocore's
    own configuration: no request signing (moto checks none), no parameter validation (every
    call is built by this package's code) and one attempt (moto neither throttles nor times out).
    Errors come back as botocore's ``ClientError``, as from any boto3 client.

    >>> with in_process_dynamodb():                       # doctest: +SKIP
    ...     MotoPutItem().put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    """

    def __init__(self, client: Any = None, region: str = DEMO_REGION) -> None:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        self._writer = boto3.client(
            "dynamodb",
            region_name=region,
            config=Config(
                signature_version=UNSIGNED, parameter_validation=False, retries={"total_max_attempts": 1}
            ),
        )
        self._client = client

    def __getattr__(self, name: str) -> Any:
        client = self.__dict__.get("_client")
        return getattr(self.__dict__["_writer"] if client is None else client, name)

    def put_item(self, **call: Any) -> Any:
        return self._writer.put_item(**call)


_QUERIED = threading.local()  # the partition a moto Query of this thread reads


def partition_queries() -> None:
    """Make moto answer a table ``Query`` from the queried partition instead of the whole table.

    moto 5 evaluates every Query by sorting all the table's items and filtering them by partition
    key, so one Query costs as much as a Scan: reading a day of events (24 hours x
    ``EVENT_WRITE_SHARDS`` queries, most of them empty) took minutes against a demo's table. With
    this, a Query walks only its own partition, as DynamoDB's does; results are unchanged (moto
    still sorts, pages and filters them). Queries of an index, and every other call, are left as
    they are. Idempotent; a moto whose internals differ is left alone.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_partition_queries", False) or not hasattr(Table, "all_items"):
        return
    query, all_items = Table.query, Table.all_items

    def scoped_items(self: Any) -> Any:
        key = getattr(_QUERIED, "key", None)
        if key is None or not self.range_key_attr:
            return all_items(self)
        partition = self.items.get(key)  # get: ``items`` is a defaultdict, a lookup would add the key
        return list(partition.values()) if partition else []  # query sorts them itself

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _QUERIED.key = None if index_name else hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _QUERIED.key = None

    Table.all_items = scoped_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]
    Table._partition_queries = True  # type: ignore[attr-defined]


def serve(port: int) -> None:
    """moto's server on ``HOST:port`` with ``partition_queries``; runs until killed."""
    from moto.server import main

    partition_queries()
    main(["-H", HOST, "-p", str(port)])


# --- a server that outlives the command -----------------------------------------------------------


def server_url(port: int) -> str:
    return f"http://{HOST}:{port}"


def state_file(port: int, suffix: str = "pid") -> Path:
    return Path(tempfile.gettempdir()) / f"alexa-skill-metrics-moto-{port}.{suffix}"


def exports(port: int, extra: Mapping[str, str] | None = None) -> list[str]:
    """Shell lines pointing boto3 at the server: endpoint, dummy credentials, a region (and ``extra``)."""
    return [
        f"export AWS_ENDPOINT_URL={server_url(port)}",
        "export AWS_ACCESS_KEY_ID=local",
        "export AWS_SECRET_ACCESS_KEY=local",
        f"export AWS_DEFAULT_REGION={DEMO_REGION}",
        *(f"export {name}={value}" for name, value in (extra or {}).items()),
        "unset AWS_PROFILE AWS_SESSION_TOKEN",
    ]


RESTORE_VARIABLE = "SKILL_METRICS_RESTORE_ENV"
_EXPORTED = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
             "AWS_PROFILE", "AWS_SESSION_TOKEN")  # fmt: skip


def saving_exports(port: int, environ: Mapping[str, str]) -> list[str]:
    """``exports(port)``, first saving the shell's own values of what they change (``restore_lines``).

    Run by the shell that evaluates the output, so ``environ`` is that shell's environment; a
    second start keeps the first one's saved values, not the local ones.

    >>> saving_exports(5005, {"AWS_PROFILE": "dev"})[0][:64]
    "export SKILL_METRICS_RESTORE_ENV='export AWS_PROFILE=dev; unset "
    """
    import shlex

    if RESTORE_VARIABLE in environ:
        return exports(port)
    steps = [f"export {name}={shlex.quote(environ[name])}" for name in _EXPORTED if name in environ]
    unset = [name for name in _EXPORTED if name not in environ]
    restore = "; ".join([*steps, *([f"unset {' '.join(unset)}"] if unset else [])])
    return [f"export {RESTORE_VARIABLE}={shlex.quote(restore)}", *exports(port)]


def restore_lines(environ: Mapping[str, str]) -> list[str]:
    """Shell lines giving back what ``saving_exports`` changed, or unsetting what ``exports`` set.

    >>> restore_lines({"SKILL_METRICS_RESTORE_ENV": "unset AWS_PROFILE"})
    ['unset AWS_PROFILE', 'unset SKILL_METRICS_RESTORE_ENV']
    """
    saved = environ.get(RESTORE_VARIABLE)
    if saved is None:
        return [f"unset {' '.join(_EXPORTED[:4])}"]
    return [saved, f"unset {RESTORE_VARIABLE}"] if saved else [f"unset {RESTORE_VARIABLE}"]


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def running_pid(port: int) -> int | None:
    """The recorded server process for ``port`` if it is still alive, else ``None``."""
    try:
        pid = int(state_file(port).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, but someone else's: reported, never signalled by stop
    return pid


class ServerError(SkillMetricsError):
    """The local server could not be started; the message says why and where its log is."""


def start_server(port: int = DEFAULT_PORT) -> tuple[str, bool]:
    """Start moto's server on ``port`` as a process of its own; ``(url, started)``.

    A server this module started earlier on ``port`` is reused (``started`` False).
    """
    if running_pid(port) is not None:
        return server_url(port), False
    if listening(port):
        raise ServerError(f"port {port} is taken by another program; choose another with --port")
    log = state_file(port, "log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", f"import {__name__} as local; local.serve({port})"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # keeps running after this command and its shell's Ctrl-C
        )
    state_file(port).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            terminate(process.pid)
            state_file(port).unlink(missing_ok=True)
            raise ServerError(f"moto's server did not start; see {log}")
        time.sleep(0.1)
    return server_url(port), True


def stop_server(port: int = DEFAULT_PORT) -> str:
    """Stop the server ``start_server`` left on ``port``; say what was done."""
    pid = running_pid(port)
    state_file(port).unlink(missing_ok=True)
    state_file(port, "log").unlink(missing_ok=True)
    if pid is None:
        return f"no local moto server recorded for port {port}"
    terminate(pid)
    return f"stopped the local moto server on port {port} (pid {pid})"


def terminate(pid: int) -> None:
    """SIGTERM the one recorded process, SIGKILL it if it is still there after ``STOP_TIMEOUT_S``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
