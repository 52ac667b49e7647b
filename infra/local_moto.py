"""Start, check and stop a local AWS stand-in (moto's server) that outlives one command.

``skill-metrics demo`` embeds its own DynamoDB for one run (``--keep`` leaves a server like this
one). This one keeps running between commands, so the deploy-time pieces can be tried without an
AWS account: create the table and the pseudonym key, record events with the sample skill, drain
the stream, ask for reports, then stop it. ``start`` prints the environment that points boto3 at
it; evaluate it in your shell::

    eval "$(python infra/local_moto.py start)"     # AWS_ENDPOINT_URL, dummy credentials, region
    skill-metrics create-table                     # ...anything that uses boto3
    eval "$(python infra/local_moto.py stop)"      # ends that server; the shell's AWS_* as before

The server's lifecycle is ``alexa_skill_metrics.cli.local`` (also behind ``skill-metrics demo --keep``).
State lives in the temporary directory (``alexa-skill-metrics-moto-<port>.pid`` and ``.log``, both
removed by ``stop``); ``start`` on a running port only prints the environment again.

Example
-------
>>> restore_lines({})
['unset AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION']
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from alexa_skill_metrics.cli.local import (
    DEFAULT_PORT,
    ServerError,
    restore_lines,
    running_pid,
    saving_exports,
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
    print("\n".join(saving_exports(port, os.environ)))
    return 0


def stop(port: int) -> int:
    """Stop the server and print what gives the shell back the AWS settings ``start`` replaced."""
    print(stop_server(port), file=sys.stderr)
    print("\n".join(restore_lines(os.environ)))
    if sys.stdout.isatty():
        print('to restore your AWS settings, run: eval "$(python infra/local_moto.py stop)"', file=sys.stderr)
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
