"""The one boundary where botocore exceptions become :mod:`cairn.errors`, and the checks of
the names a caller hands the S3 store."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from cairn.manifest.digest import is_hex_md5

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_BAD_DIGEST = frozenset({"BadDigest", "InvalidDigest"})
_DENIED = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
)


@contextmanager
def s3_errors(action: str, where: str, digest: str | None = None) -> Iterator[None]:
    """The one boundary where botocore exceptions become :mod:`cairn.errors`.

    Messages name the action and the ``s3://`` location, never credentials.

    Raises:
        BlobNotFoundError: no such key (``NoSuchKey``, or a bare 404 from HEAD).
        NotFoundError: no such multipart upload.
        DigestMismatchError: the server refused the bytes for their ``Content-MD5``.
        StorageError: anything else: no such bucket, access denied, connection or timeout.
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        # Some stores answer errors botocore cannot parse: keep their words, not the markup.
        message = " ".join(re.sub(r"<[^>]*>", " ", str(error.get("Message", ""))).split())
        message = message or f"the store answered {code or 'an error'}"
        if code in _NOT_FOUND:
            what = f"blob {digest}" if digest else where
            raise BlobNotFoundError(f"{what} is not in the store ({where})") from None
        if code == "NoSuchUpload":
            raise NotFoundError(
                f"{action}: no such multipart upload at {where}; it was completed, aborted or "
                "has expired"
            ) from None
        if code in _BAD_DIGEST:
            raise DigestMismatchError(
                f"{action}: the store refused the bytes for blob {digest}: {message}",
                details={"expected": digest, "code": code},
            ) from None
        hint = "; check the store's credentials and bucket policy" if code in _DENIED else ""
        raise StorageError(
            f"{action} failed at {where}: {code or 'error'}: {message}{hint}",
            details={"code": code},
        ) from exc
    except BotoCoreError as exc:
        # Connection refused, timeouts, no credentials found, an unreadable response stream.
        raise StorageError(f"{action} failed at {where}: {exc}") from exc


def check_digest(digest: str) -> str:
    if not is_hex_md5(digest):
        raise ValidationError(f"{digest!r} is not a hex MD5 blob name")
    return digest


def check_b64_md5(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise ValidationError(f"{value!r} is not a base64 MD5 (a Content-MD5 header value)")
    return value


def mismatch(digest: str, actual: str, size: int) -> NoReturn:
    raise DigestMismatchError(
        f"bytes received for blob {digest} hash to {actual}; nothing was stored",
        details={"expected": digest, "actual": actual, "size": size},
    )
