"""Part of a blob's bytes: what a preview or a media player asks for (``Range: bytes=a-b``).

A blob lies in an object of its own or in a range of a pack (:mod:`cairn.core.packs`); a range
of a packed blob is one ranged read of its pack. An object of its own is opened and, where the
store's stream can seek (a local folder), read from the start of the range; otherwise (an S3
object stream) the bytes before the range are read and dropped, so a range near the start
costs little and one near the end costs the bytes before it. A preview only ever reads the
start of a file, so it never reads a large file whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from cairn.core.blobs.base import CHUNK
from cairn.core.storage import Storage
from cairn.errors import BlobNotFoundError


def blob_size(svc: Storage, digest: str) -> int:
    """The size of a stored blob.

    Raises:
        BlobNotFoundError: the store does not hold it.
    """
    loc = svc.locate_blobs([digest]).get(digest)
    if loc is not None:
        return loc.size
    size = svc.blobs.size(digest)
    if size is None:
        raise BlobNotFoundError(f"blob {digest} is not in the store")
    return size


def iter_range(svc: Storage, digest: str, start: int, end: int) -> Iterator[bytes]:
    """The bytes ``start`` up to (not including) ``end`` of a blob (fewer where it ends
    first), a chunk at a time; the blob is opened at the call.

    Raises:
        BlobNotFoundError: the store does not hold it (at the call, before any bytes).
    """
    loc = svc.locate_blobs([digest]).get(digest)
    if loc is not None:
        end = min(end, loc.size)
    if end <= start:
        return iter(())
    if loc is not None and loc.pack_id is not None:
        pack_id, offset = loc.pack_id, loc.offset
        return iter([svc.blobs.read_pack(pack_id, offset + start, end - start)])
    return _from_object(svc.blobs.open(digest), start, end)


def read_range(svc: Storage, digest: str, start: int, end: int) -> bytes:
    """The bytes ``start`` up to ``end`` of a blob (fewer where it ends first).

    Raises:
        BlobNotFoundError: the store does not hold it.
    """
    return b"".join(iter_range(svc, digest, start, end))


def _from_object(f: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    with f:
        if f.seekable():
            f.seek(start)
        else:
            left = start
            while left > 0:
                skipped = f.read(min(CHUNK, left))
                if not skipped:
                    return
                left -= len(skipped)
        left = end - start
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
