"""The real AWS runtime interface client (``awslambdaric``) running a skill against the emulator.

Shared by the tests in this folder and ``bench/bench_delivery.py``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.lambda_runtime.emulator import LambdaEmulator

REPO = Path(__file__).resolve().parents[2]
TABLE = "skill-metrics-lambda"
KEY = "lambda-runtime-pseudonym-key-0123"
WITH_RECORDER = "sample_skill.app.lambda_handler"
WITHOUT_RECORDER = "tests.lambda_runtime.skills.bare_handler"
BUILT_AFTER_INIT = "tests.lambda_runtime.late_skill.handler"


@contextlib.contextmanager
def moto_dynamodb() -> Iterator[str]:
    """moto's server on a free loopback port, this process's environment untouched; yields its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # an access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def dynamodb_client(url: str) -> Any:
    """A boto3 DynamoDB client straight to ``url`` (not through any proxy), with dummy credentials."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def function_env(dynamodb_url: str, **settings: str) -> dict[str, str]:
    """What Lambda and SAM would set, pointing boto3 at ``dynamodb_url``; ``settings`` win."""
    env = {
        "AWS_ENDPOINT_URL": dynamodb_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "dice-coach",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "METRICS_TABLE": TABLE,
        "METRICS_PSEUDONYM_KEY": KEY,
        "METRICS_STAGE": "development",
    }
    env.update(settings)
    return env


@contextlib.contextmanager
def lambda_function(handler: str, env: dict[str, str], log: Path) -> Iterator[LambdaEmulator]:
    """Start ``python -m awslambdaric <handler>`` against a fresh emulator; yield it once init is over.

    The process's stdout and stderr (its log) go to ``log``.
    """
    with LambdaEmulator() as emulator, log.open("wb") as out:
        process_env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(REPO / "lambda_fn"), str(REPO)]),
            "PYTHONUNBUFFERED": "1",
            "AWS_LAMBDA_RUNTIME_API": emulator.address,
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            env=process_env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        emulator.pid = process.pid
        try:
            emulator.wait_ready()
            yield emulator
        finally:
            emulator.thaw()
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
