"""Writing fetched bytes to a file while hashing them, checked against the digest they claim.

Every download (the embedded store's objects and packs, a server's blob and pack streams, a
presigned GET) ends in :func:`write_verified`: the bytes are hashed as they are written, once,
so nothing is read back to be checked. It lives this low (below ``backend`` and ``cache``)
because the backends do the writing and the cache trusts what they checked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import IO

from cairn.errors import DigestMismatchError

CHUNK = 1 << 20


def write_verified(
    src: IO[bytes],
    dest: str | os.PathLike[str],
    hexdigest: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy ``src`` into ``dest`` (created or truncated: a retried attempt starts over),
    hashing each chunk as it is written; returns the size.

    ``progress`` is told each chunk's length as it is written.

    Raises:
        DigestMismatchError: the bytes hash to another digest (``dest`` is deleted).
    """
    h = hashlib.md5()
    written = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with open(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        actual = h.hexdigest()
        if actual != hexdigest:
            raise DigestMismatchError(
                f"downloaded bytes for blob {hexdigest} hash to {actual}; discarded",
                details={"expected": hexdigest, "actual": actual},
            )
    except BaseException:
        try:
            os.unlink(dest)
        except FileNotFoundError:
            pass
        raise
    return written


def write_bytes_verified(data: bytes, dest: str | os.PathLike[str], hexdigest: str) -> None:
    """:func:`write_verified` for bytes already in memory (a small blob): one write.

    Raises:
        DigestMismatchError: ``data`` hashes to another digest (nothing is written).
    """
    actual = hashlib.md5(data).hexdigest()
    if actual != hexdigest:
        raise DigestMismatchError(
            f"downloaded bytes for blob {hexdigest} hash to {actual}; discarded",
            details={"expected": hexdigest, "actual": actual},
        )
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with open(fd, "wb") as out:
        out.write(data)
