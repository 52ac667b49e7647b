"""The lean signer produces exactly botocore's Signature Version 4."""

from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from alexa_skill_metrics.storage.signed_http import RETRYABLE, _error, sign_v4


@pytest.mark.parametrize("token", [None, "session-token/with+chars=="])
@pytest.mark.parametrize("url", ["https://dynamodb.eu-west-1.amazonaws.com/", "http://127.0.0.1:5123/"])
def test_signature_matches_botocore(token: str | None, url: str) -> None:
    # Given the same request signed by botocore
    body = b'{"TableName":"t","Item":{"pk":{"S":"EVT#x"}}}'
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token), "dynamodb", "eu-west-1").add_auth(
        request
    )
    amz_date = request.context["timestamp"]
    # When our signer signs it at the same instant
    ours = sign_v4(
        method="POST",
        host=url.split("/")[2],
        path="/",
        headers=headers,
        body=body,
        region="eu-west-1",
        service="dynamodb",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG",
        token=token,
        amz_date=amz_date,
    )
    # Then the Authorization header is identical
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours.get("X-Amz-Security-Token") == token


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable"),
    [
        (
            400,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}',
            "ConditionalCheckFailedException",
            False,
        ),
        (
            400,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}',
            "ProvisionedThroughputExceededException",
            True,
        ),
        (400, b'{"__type":"com.amazon.coral.validate#ValidationException"}', "ValidationException", False),
        (503, b"<html>busy</html>", "HTTP503", True),
        (403, b"", "HTTP403", False),
    ],
)
def test_errors_are_classified(status: int, body: bytes, code: str, retryable: bool) -> None:
    error = _error(status, body)
    assert (error.code, error.retryable, error.status) == (code, retryable, status)


def test_throttling_codes_are_retryable() -> None:
    assert {"ThrottlingException", "ProvisionedThroughputExceededException"} <= RETRYABLE
