"""Create the customer pseudonym key as an SSM SecureString, once, before the first ``sam deploy``.

CloudFormation cannot create SecureString parameters, so the template only takes the parameter's
*name* (``PseudonymKeyParameterName``) and lets the skill read that one parameter. This script
makes the secret: 48 random bytes, URL-safe base64 (64 characters), encrypted with the account's
AWS managed key ``aws/ssm``, whose key policy lets SSM decrypt it for any principal of the account
allowed to read the parameter (so the skill's role needs no ``kms:Decrypt``).

An existing parameter is never replaced: a new key gives every customer a new pseudonym, so
unique and new customer counts would restart. Running the script again is therefore safe.

AWS access comes from boto3's standard configuration (profile, region, ``AWS_ENDPOINT_URL``).

Usage::

    python infra/create_pseudonym_key.py [--name /alexa-skill-metrics/pseudonym-key] [--region eu-west-1]

Example
-------
>>> len(new_key()), new_key() != new_key()
(64, True)
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

DEFAULT_NAME = "/alexa-skill-metrics/pseudonym-key"
KEY_BYTES = 48


def new_key() -> str:
    """A fresh secret: ``KEY_BYTES`` random bytes, URL-safe base64 (the recorder needs 16 bytes or more)."""
    return secrets.token_urlsafe(KEY_BYTES)


def create_pseudonym_key(client: SSMClient, name: str = DEFAULT_NAME) -> bool:
    """Create SecureString ``name`` holding a new key; ``False`` when it already existed (left unchanged)."""
    try:
        client.put_parameter(
            Name=name,
            Value=new_key(),
            Type="SecureString",
            Overwrite=False,
            Description="Alexa skill metrics: customer pseudonym key. Replacing it restarts customer counts.",
            Tags=[{"Key": "application", "Value": "alexa-skill-metrics"}],
        )
    except client.exceptions.ParameterAlreadyExists:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Create the customer pseudonym key as an SSM SecureString, once."
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"parameter name (default {DEFAULT_NAME})")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's configuration)")
    args = parser.parse_args(argv)
    if not args.name.startswith("/"):
        parser.error("--name must start with '/', as the template's PseudonymKeyParameterName does")

    import boto3

    client = boto3.client("ssm", region_name=args.region)
    region = client.meta.region_name
    if create_pseudonym_key(client, args.name):
        print(f"Created SecureString {args.name} in {region}.")
        print(
            f"Deploy with PseudonymKeyParameterName={args.name} (the template's default name needs nothing)."
        )
    else:
        print(f"{args.name} already exists in {region}; left unchanged (a new key restarts customer counts).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
