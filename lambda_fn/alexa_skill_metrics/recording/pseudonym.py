"""Keyed customer pseudonyms: the raw Alexa user id never leaves this module.

Example
-------
>>> p = Pseudonymizer(b"0123456789abcdef")
>>> p("amzn1.ask.account.AAA") == p("amzn1.ask.account.AAA"), len(p("amzn1.ask.account.AAA"))
(True, 22)
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# 128 bits of HMAC-SHA256: collisions stay negligible far beyond any skill's customer count.
_DIGEST_BYTES = 16


class Pseudonymizer:
    """HMAC-SHA256 of the user id under a secret key, truncated and base64url-encoded.

    The same key gives the same pseudonym in every container, so customers can be counted
    across requests without storing who they are; without the key, ids cannot be tested.
    """

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, user_id: str) -> str:
        mac = self._mac.copy()
        mac.update(user_id.encode())
        return base64.urlsafe_b64encode(mac.digest()[:_DIGEST_BYTES]).rstrip(b"=").decode()
