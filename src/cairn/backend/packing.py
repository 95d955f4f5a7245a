"""Small blobs many to a request: the client's half of pack streams.

A request per 4 KiB file costs far more than its bytes (an HTTP round trip, and with S3 a
stored object), so the HTTP backend sends the small blobs a server lacks as a few pack streams
(:mod:`cairn.manifest.packstream`) of tens of MiB, and fetches small blobs as pack streams or
as ranges of the server's packs. This module groups blobs, builds bodies and splits responses;
:mod:`cairn.backend.http` sends them.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, TypeVar

from cairn.backend.base import BlobUpload, Progress
from cairn.errors import DigestMismatchError, IntegrityError
from cairn.manifest.packstream import encode_header, read_exactly
from cairn.snapshots import read_snapshots

T = TypeVar("T")


def group(
    items: Sequence[T], size_of: Callable[[T], int], *, target: int, max_items: int
) -> list[list[T]]:
    """Consecutive groups of at most ``max_items`` items and about ``target`` bytes each."""
    groups: list[list[T]] = []
    current: list[T] = []
    nbytes = 0
    for item in items:
        n = size_of(item)
        if current and (nbytes + n > target or len(current) >= max_items):
            groups.append(current)
            current, nbytes = [], 0
        current.append(item)
        nbytes += n
    if current:
        groups.append(current)
    return groups


def pack_body(blobs: Sequence[BlobUpload]) -> tuple[list[bytes], int]:
    """A pack stream of these blobs as chunks (header first) and its total length.

    Each file is read once, whole (they are small). The server hashes every blob; a file whose
    size changed since it was hashed is refused here already, naming it.

    Raises:
        DigestMismatchError: a file's size is not the size it was added with.
        OSError: a file cannot be read.
        BlobNotFoundError: a staged snapshot's pack is gone (see :mod:`cairn.snapshots`).
    """
    chunks = [encode_header((b.digest, b.size) for b in blobs)]
    for b, data in zip(blobs, read_snapshots((b.path, b.size) for b in blobs), strict=True):
        if len(data) != b.size:
            raise DigestMismatchError(
                f"{b.path} is {len(data)}{'+' if len(data) > b.size else ''} bytes now, "
                f"{b.size} when it was added, so it no longer hashes to {b.digest}; add it again",
                details={"expected": b.digest, "path": b.path},
            )
        chunks.append(data)
    return chunks, sum(len(c) for c in chunks)


def name_changed_files(exc: DigestMismatchError, blobs: Sequence[BlobUpload]) -> Exception:
    """The server refused a pack: say which local files changed since they were added."""
    bad = set(exc.details.get("mismatched") or [])
    paths = [b.path for b in blobs if b.digest in bad]
    if not paths:
        return exc
    shown = ", ".join(paths[:5]) + (" …" if len(paths) > 5 else "")
    return DigestMismatchError(
        f"{len(paths)} file(s) changed after they were added, so their bytes no longer hash to "
        f"their digests: {shown}; add them again (nothing of this upload was stored)",
        details={**exc.details, "paths": paths[:1000]},
    )


def split_into(
    stream: IO[bytes],
    blobs: Sequence[tuple[str, int]],
    dests: Mapping[str, Sequence[str]],
    progress: Progress | None = None,
) -> None:
    """Write consecutive blobs read from ``stream`` to each of their destination files,
    each checked against its digest first (they are small and already in memory).

    Raises:
        IntegrityError: the stream ends before the last blob (the stored pack is short).
        DigestMismatchError: a blob's bytes hash otherwise (nothing is written for it).
    """
    for digest, size in blobs:
        data = read_exactly(stream, size)
        if len(data) != size:
            raise IntegrityError(
                f"the download ended inside blob {digest} ({len(data)} of {size} bytes): "
                "the stored pack is shorter than its index says"
            )
        actual = hashlib.md5(data).hexdigest()
        if actual != digest:
            raise DigestMismatchError(
                f"downloaded bytes for blob {digest} hash to {actual}; discarded",
                details={"expected": digest, "actual": actual},
            )
        for dest in dests.get(digest, ()):
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with open(fd, "wb") as out:
                out.write(data)
        if progress is not None:
            progress(size)


class ChunkReader(io.RawIOBase):
    """An iterator of byte chunks (a streamed response body) as a readable file."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
