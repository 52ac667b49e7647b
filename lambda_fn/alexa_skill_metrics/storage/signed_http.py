"""The recorder's lean DynamoDB call: one SigV4-signed JSON POST, nothing else on the hot path.

botocore's generic pipeline (parameter serialisation, endpoint rules, ~20 event hooks, a
generic signer) costs more CPU per ``PutItem`` than the whole ASK SDK dispatch of a request.
This sender keeps the parts that matter and pays for them once per container: botocore
resolves credentials (refreshing them as it always does), region and endpoint (so
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_DYNAMODB`` work unchanged) and provides the HTTP
connection pool with the configured timeouts; each call then only serialises the body, signs it
with Signature Version 4 (the signing key cached per day) and sends it. The signature is
tested to be byte-identical to botocore's own signer.

Example
-------
>>> sign_v4(method="POST", host="dynamodb.us-east-1.amazonaws.com", path="/", headers={},
...         body=b"{}", region="us-east-1", service="dynamodb", access_key="AKID", secret_key="S",
...         token=None, amz_date="20260105T100000Z")["Authorization"][:50]
'AWS4-HMAC-SHA256 Credential=AKID/20260105/us-east-'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

_TARGET_PREFIX = "DynamoDB_20120810."
_CONTENT_TYPE = "application/x-amz-json-1.0"
# Errors worth one more attempt (throttling and the service's own failures).
RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


class DynamoDBError(Exception):
    """A DynamoDB error response or a transport failure; ``code`` is DynamoDB's error code."""

    def __init__(self, code: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.status = status

    @property
    def unreachable(self) -> bool:
        """A timeout or connection failure: nothing answered (``status`` is only set by an answer)."""
        return self.status is None and self.retryable

    @property
    def down(self) -> bool:
        """Nothing answered, or DynamoDB itself failed (5xx): what opens the breaker."""
        return self.unreachable or (self.status is not None and self.status >= 500)


@lru_cache(maxsize=4)
def _signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_v4(
    *,
    method: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    token: str | None,
    amz_date: str,
) -> dict[str, str]:
    """``headers`` plus ``Host``, ``X-Amz-Date``, the session token and ``Authorization`` (SigV4)."""
    signed = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if token:
        signed["X-Amz-Security-Token"] = token
    canonical = sorted((k.lower(), " ".join(v.split())) for k, v in signed.items())
    names = ";".join(k for k, _ in canonical)
    canonical_request = "\n".join(
        [
            method,
            path,
            "",
            "".join(f"{k}:{v}\n" for k, v in canonical),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = (
        f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    )
    signature = hmac.new(_signing_key(secret_key, date, region, service), to_sign.encode(), hashlib.sha256)
    signed["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={names}, "
        f"Signature={signature.hexdigest()}"
    )
    return signed


class SignedDynamoDB:
    """Sends DynamoDB JSON-protocol calls over a kept-alive connection, signed with SigV4.

    Parameters
    ----------
    timeout_s:
        Connect timeout, and read timeout of an attempt that names none.
    connections:
        Connections kept alive per read timeout (one per thread that writes at once).
    session:
        A ``boto3.session.Session`` to take credentials, region and endpoint from (default: new).
    """

    def __init__(self, timeout_s: float, session: Any = None, connections: int = 2) -> None:
        import boto3
        from botocore.config import Config

        session = session or boto3.session.Session()
        # Built once, only to resolve the endpoint exactly as boto3 would (AWS_ENDPOINT_URL* included).
        resolver = session.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
        self.endpoint = resolver.meta.endpoint_url
        self.region = resolver.meta.region_name
        parts = urlsplit(self.endpoint)
        self._host = parts.netloc
        self._path = parts.path or "/"
        self._credentials = session.get_credentials()
        if self._credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        self._timeout_s = timeout_s
        self._connections = connections
        self._pools: dict[float, Any] = {}
        self._pools_lock = threading.Lock()
        self._http = self._pool(timeout_s)

    def _pool(self, read_timeout_s: float) -> Any:
        """The connection pool whose read timeout is ``read_timeout_s``, made on first use.

        botocore's ``URLLib3Session`` takes its timeouts once, at construction (a per-request
        override exists only in recent botocore), so each read timeout the writer asks for
        (a few steps: ``EventWriter.attempt_within``) has a pool of its own.
        """
        pool = self._pools.get(read_timeout_s)
        if pool is not None:
            return pool
        import socket

        from botocore.httpsession import URLLib3Session

        with self._pools_lock:
            if read_timeout_s not in self._pools:
                # TCP_NODELAY, which botocore leaves off: headers and body go out as two writes, and
                # Nagle's algorithm would hold the body until the server ACKs the headers (up to 40 ms).
                self._pools[read_timeout_s] = URLLib3Session(
                    timeout=(self._timeout_s, read_timeout_s),  # type: ignore[arg-type]
                    max_pool_connections=self._connections,
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],  # type: ignore[list-item]  # stubs: list[str]
                )
            return self._pools[read_timeout_s]

    def call(
        self, operation: str, payload: dict[str, Any], read_timeout_s: float | None = None
    ) -> dict[str, Any]:
        """One attempt of ``operation``; raises ``DynamoDBError`` for any failure.

        ``read_timeout_s``: how long to wait for the answer (default: ``timeout_s``).
        """
        from botocore.awsrequest import AWSPreparedRequest

        body = json.dumps(payload, separators=(",", ":")).encode()
        creds = self._credentials.get_frozen_credentials()
        headers = sign_v4(
            method="POST",
            host=self._host,
            path=self._path,
            headers={"Content-Type": _CONTENT_TYPE, "X-Amz-Target": _TARGET_PREFIX + operation},
            body=body,
            region=self.region,
            service="dynamodb",
            access_key=creds.access_key,
            secret_key=creds.secret_key,
            token=creds.token,
            amz_date=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        )
        # Already final: AWSRequest.prepare() would only copy the headers and body again.
        request = AWSPreparedRequest("POST", self.endpoint, headers, body, stream_output=False)  # type: ignore[arg-type]  # urllib3 takes a dict
        http = self._http if read_timeout_s is None else self._pool(read_timeout_s)
        try:
            response = http.send(request)
        except Exception as exc:  # connect/read timeouts, refused or reset connections
            raise DynamoDBError(type(exc).__name__, retryable=True) from None
        content = response.content
        if response.status_code == 200:
            parsed: dict[str, Any] = json.loads(content) if content else {}
            return parsed
        raise _error(response.status_code, content)


def _error(status: int, content: bytes) -> DynamoDBError:
    try:
        kind = str(json.loads(content).get("__type", ""))
    except (ValueError, AttributeError):
        kind = ""
    code = kind.rsplit("#", 1)[-1] or f"HTTP{status}"
    return DynamoDBError(code, retryable=code in RETRYABLE or status >= 500, status=status)
