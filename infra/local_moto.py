"""Start, check and stop a local AWS stand-in (moto's server) that outlives one command.

``skill-metrics demo`` embeds its own DynamoDB for one run (``--keep`` leaves a server like this
one). This one keeps running between commands, so the deploy-time pieces can be tried without an
AWS account: create the table and the pseudonym key, record events with the sample skill, drain
the stream, ask for reports, then stop it. ``start`` prints the environment that points boto3 at
it; evaluate it in your shell::

    eval "$(python infra/local_moto.py start)"     # AWS_ENDPOINT_URL, dummy credentials, region
    skill-metrics create-table                     # ...anything that uses boto3
    python infra/local_moto.py stop                # ends that server process only

The server's lifecycle is ``alexa_skill_metrics.cli.local`` (also behind ``skill-metrics demo --keep``).
State lives in the temporary directory (``alexa-skill-metrics-moto-<port>.pid`` and ``.log``, both
removed by ``stop``); ``start`` on a running port only prints the environment again.

Example
-------
>>> exports(5005)[0]
'export AWS_ENDPOINT_URL=http://127.0.0.1:5005'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alexa_skill_metrics.cli.local import (
    DEFAULT_PORT,
    ServerError,
    exports,
    running_pid,
    server_url,
    start_server,
    stop_server,
)


def start(port: int) -> int:
    try:
        start_server(port)
    except ServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(exports(port)))
    return 0


def stop(port: int) -> int:
    message = stop_server(port)
    if message.startswith("no local"):
        print(message, file=sys.stderr)
        return 0
    print("unset AWS_ENDPOINT_URL")
    return 0


def status(port: int) -> int:
    pid = running_pid(port)
    if pid is None:
        print(f"not running (port {port})")
        return 1
    print(f"running: pid {pid}, {server_url(port)}")
    return 0


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
