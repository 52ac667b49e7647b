"""An embedded DynamoDB for local use: moto's server on a free loopback port, no AWS account.

Code under it talks real HTTP to the endpoint through boto3's standard ``AWS_ENDPOINT_URL``,
exactly as it would talk to AWS.

Example
-------
>>> with embedded_dynamodb() as endpoint:   # doctest: +SKIP
...     boto3.client("dynamodb").list_tables()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

DEMO_REGION = "us-east-1"
_LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": DEMO_REGION,
    "AWS_REGION": DEMO_REGION,
}


@contextmanager
def embedded_dynamodb() -> Iterator[str]:
    """Start moto's server on 127.0.0.1, point this process's AWS configuration at it, yield its URL.

    The previous environment is restored on exit.
    """
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    changes = {**_LOCAL_ENV, "AWS_ENDPOINT_URL": endpoint}
    saved = {name: os.environ.get(name) for name in [*changes, "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(changes)
    try:
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()
