"""Short-lived, scoped grants for URLs a client uses without its API key.

The W&B client sends no ``Authorization`` header to the upload and download URLs a server
hands out. On S3 those are presigned by the store; on a folder store (and for blobs inside
packs, which no single S3 object holds) the server serves them itself, and the URL carries
a grant instead of a key::

    /api/v1/blobs/signed/<claims>.<signature>[/<file name>]

``claims`` is base64url JSON ``{"a": action, "s": account, "t": target, "e": expiry, ...}``
and ``signature`` base64url HMAC-SHA256 of it under the server's URL key. A grant names one
action (``get`` or ``put`` a blob, ``manifest``: put the manifest of one pending version) on
one target (a hex digest, a version id), for one account, until one second. Anything else —
another action, a changed byte, a past expiry — is refused; nothing is stored server side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cairn.errors import PermissionDeniedError

GET = "get"
PUT = "put"
MANIFEST = "manifest"
MULTIPART = "multipart"  # complete one multipart upload (an S3 upload id, bound to its account)
ACTIONS = (GET, PUT, MANIFEST, MULTIPART)


@dataclass(frozen=True)
class Grant:
    action: str
    account: str  # whose upload it records, or whose read it was allowed as
    target: str  # a hex MD5 digest, or a pending version's id
    expires: int  # Unix seconds
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the manifest's digest


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UrlSigner:
    """Signs and checks grants under one key (every process of a server must share it)."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 16:
            raise ValueError("a URL signing key needs at least 16 bytes")
        self._key = key
        self._clock = clock

    def _mac(self, claims: str) -> str:
        return _b64(hmac.new(self._key, claims.encode(), hashlib.sha256).digest())

    def sign(self, action: str, account: str, target: str, seconds: int, **extra: Any) -> str:
        """A token granting ``action`` on ``target`` to ``account`` for ``seconds``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        body = {"a": action, "s": account, "t": target, "e": int(self._clock()) + seconds}
        if extra:
            body["x"] = extra
        claims = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{claims}.{self._mac(claims)}"

    def verify(self, token: str, *actions: str) -> Grant:
        """The grant ``token`` carries, if it is intact, unexpired and for one of ``actions``.

        Raises:
            PermissionDeniedError: a forged, altered or expired token, or one for another
                action (a 403, after which the W&B client asks for a fresh URL).
        """
        claims, _, mac = token.partition(".")
        if not claims or not hmac.compare_digest(mac.encode(), self._mac(claims).encode()):
            raise PermissionDeniedError("this signed URL is not valid")
        try:
            body = json.loads(_unb64(claims))
            grant = Grant(
                action=str(body["a"]),
                account=str(body["s"]),
                target=str(body["t"]),
                expires=int(body["e"]),
                extra=dict(body.get("x") or {}),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise PermissionDeniedError("this signed URL is not valid") from None
        if grant.action not in actions:
            raise PermissionDeniedError(f"this signed URL does not allow {' or '.join(actions)}")
        if grant.expires < self._clock():
            raise PermissionDeniedError("this signed URL has expired: ask for a new one")
        return grant
