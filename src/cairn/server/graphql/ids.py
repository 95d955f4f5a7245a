"""W&B's opaque IDs: base64 of ``"<Type>:<key>"``; the client only hands them back.

``encode("Artifact", "9f3c…")`` → ``"QXJ0aWZhY3Q6OWYzY…"``. The key is Cairn's own public id
(a version's, a run's) or a name path, so an ID resolves without a table of its own.
"""

from __future__ import annotations

import base64
import binascii

from cairn.errors import ValidationError


def encode(kind: str, key: str | int) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def decode(kind: str, value: str) -> str:
    """The key of an ID of type ``kind``.

    Raises:
        ValidationError: not base64 of ``"<kind>:<key>"``.
    """
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationError(f"{value!r} is not a {kind} ID") from None
    found, sep, key = text.partition(":")
    if not sep or found != kind or not key:
        raise ValidationError(f"{value!r} is not a {kind} ID")
    return key
