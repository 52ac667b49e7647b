"""Start, check and stop a local AWS stand-in (moto's server) that outlives one command.

``skill-metrics demo`` embeds its own server for one run. This one keeps running between
commands, so the deploy-time pieces can be tried without an AWS account: create the table and the
pseudonym key, record events with the sample skill, drain the stream, ask for reports, then stop
it. ``start`` prints the environment that points boto3 at it; evaluate it in your shell::

    eval "$(python infra/local_moto.py start)"     # AWS_ENDPOINT_URL, dummy credentials, region
    skill-metrics create-table                     # ...anything that uses boto3
    python infra/local_moto.py stop                # ends that server process only

State lives in the temporary directory (``alexa-skill-metrics-moto-<port>.pid`` and ``.log``, both
removed by ``stop``); ``start`` on a running port only prints the environment again.

Example
-------
>>> exports(5005)[0]
'export AWS_ENDPOINT_URL=http://127.0.0.1:5005'
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 5005
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def state_file(port: int, suffix: str = "pid") -> Path:
    return Path(tempfile.gettempdir()) / f"alexa-skill-metrics-moto-{port}.{suffix}"


def exports(port: int) -> list[str]:
    """Shell lines pointing boto3 at the server: endpoint, dummy credentials and a region."""
    return [
        f"export AWS_ENDPOINT_URL=http://{HOST}:{port}",
        "export AWS_ACCESS_KEY_ID=local",
        "export AWS_SECRET_ACCESS_KEY=local",
        "export AWS_DEFAULT_REGION=us-east-1",
        "unset AWS_PROFILE AWS_SESSION_TOKEN",
    ]


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def running_pid(port: int) -> int | None:
    """The recorded server process for ``port`` if it is still alive, else ``None``."""
    path = state_file(port)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, but someone else's: reported, never signalled by stop
    return pid


def start(port: int) -> int:
    if running_pid(port) is not None:
        print("\n".join(exports(port)))
        return 0
    if listening(port):
        print(f"port {port} is taken by another program; choose one with --port", file=sys.stderr)
        return 1
    log = state_file(port, "log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # keeps running after this command and its shell's Ctrl-C
        )
    state_file(port).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _terminate(process.pid)
            state_file(port).unlink(missing_ok=True)
            print(f"moto's server did not start; see {log}", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print("\n".join(exports(port)))
    return 0


def stop(port: int) -> int:
    pid = running_pid(port)
    state_file(port).unlink(missing_ok=True)
    state_file(port, "log").unlink(missing_ok=True)
    if pid is None:
        print(f"no local moto server recorded for port {port}", file=sys.stderr)
        return 0
    _terminate(pid)
    print("unset AWS_ENDPOINT_URL")
    return 0


def status(port: int) -> int:
    pid = running_pid(port)
    if pid is None:
        print(f"not running (port {port})")
        return 1
    print(f"running: pid {pid}, http://{HOST}:{port}")
    return 0


def _terminate(pid: int) -> None:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start, check or stop a local moto server for boto3.")
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"loopback port (default {DEFAULT_PORT})"
    )
    args = parser.parse_args(argv)
    command = {"start": start, "stop": stop, "status": status}[args.command]
    return command(args.port)


if __name__ == "__main__":
    sys.exit(main())
