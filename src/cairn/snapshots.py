"""Where a draft entry's bytes are read from when it is uploaded: the one way to open them.

A draft entry's ``local_path`` names its snapshot, in one of two forms:

- a file path (a cache object, a private staged copy, or the user's own file under
  ``policy="immutable"``): the whole file;
- a *staged locator*, ``staged:<hex md5>:<offset>:<length>:<pack path>``: a range of an
  append-only staging pack of the client cache (:mod:`cairn.cache.staging`). File paths are
  absolute, so the ``staged:`` prefix can never be mistaken for one.

Backends open an upload's bytes only through :func:`open_snapshot` (or :func:`read_snapshots`
for many small ones), never with ``open()``: then they need not know which form it is. Each
record of a staging pack is preceded by a header naming its digest and length; reading checks
that header, so a locator that points at anything else (a pack rewritten or cut short) fails
with an error and never yields another blob's bytes. The bytes themselves are not re-hashed
here: the client hashed them once, when they were added, and the store verifies them on
arrival.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cairn.errors import BlobNotFoundError, IntegrityError

PREFIX = "staged:"
MAGIC = b"CSR1"  # Cairn staged record, format 1
# magic, raw MD5 (16 bytes), length (unsigned 64-bit, big-endian)
HEADER = struct.Struct(">4s16sQ")


@dataclass(frozen=True, slots=True)
class StagedRange:
    """A staged snapshot: ``length`` bytes at ``offset`` of ``pack``, hashing to ``hexdigest``."""

    pack: str
    offset: int  # where the bytes start (the record's header is just before)
    length: int
    hexdigest: str

    @property
    def locator(self) -> str:
        return f"{PREFIX}{self.hexdigest}:{self.offset}:{self.length}:{self.pack}"


def record_header(hexdigest: str, length: int) -> bytes:
    """The header a staging pack writes before a record's bytes."""
    return HEADER.pack(MAGIC, bytes.fromhex(hexdigest), length)


def parse(source: str) -> StagedRange | None:
    """The staged range a ``local_path`` names, or None for a plain file path."""
    if not source.startswith(PREFIX):
        return None
    hexdigest, offset, length, pack = source[len(PREFIX) :].split(":", 3)
    return StagedRange(pack, int(offset), int(length), hexdigest)


def is_staged(source: str) -> bool:
    return source.startswith(PREFIX)


def _missing(r: StagedRange) -> BlobNotFoundError:
    return BlobNotFoundError(
        f"the staged snapshot of blob {r.hexdigest} is gone: its staging pack {r.pack} was "
        "removed (the cache was cleared?); add the file again",
        details={"blob": r.hexdigest, "pack": r.pack},
    )


def _read_range(fd: int, r: StagedRange) -> bytes:
    """The record's bytes, after checking its header. Raises IntegrityError if it is not
    the record the locator names."""
    start = r.offset - HEADER.size
    data = os.pread(fd, HEADER.size + r.length, start) if start >= 0 else b""
    if len(data) != HEADER.size + r.length or data[: HEADER.size] != record_header(
        r.hexdigest, r.length
    ):
        raise IntegrityError(
            f"staging pack {r.pack} holds no snapshot of blob {r.hexdigest} at {r.offset}: "
            "the pack was changed or cut short; add the file again",
            details={"blob": r.hexdigest, "pack": r.pack},
        )
    return data[HEADER.size :]


def _open_pack(r: StagedRange) -> int:
    try:
        return os.open(r.pack, os.O_RDONLY)
    except FileNotFoundError:
        raise _missing(r) from None


def read_snapshots(sources: Iterable[tuple[str, int]]) -> Iterator[bytes]:
    """The bytes of each (source, size), in order, each read whole: for small blobs. A pack
    is opened once for all its consecutive records.

    A file's bytes are read up to ``size + 1``, so a file that grew since it was hashed reads
    as longer than ``size`` (the caller decides what that means).

    Raises:
        BlobNotFoundError: a staged snapshot's pack is gone.
        IntegrityError: a staged locator does not point at its record.
        OSError: a file cannot be read.
    """
    pack_path: str | None = None
    pack_fd = -1
    try:
        for source, size in sources:
            r = parse(source)
            if r is None:
                with open(source, "rb") as f:
                    yield f.read(size + 1)
                continue
            if r.pack != pack_path:
                if pack_fd >= 0:
                    os.close(pack_fd)
                    pack_fd = -1
                pack_fd, pack_path = _open_pack(r), r.pack
            yield _read_range(pack_fd, r)
    finally:
        if pack_fd >= 0:
            os.close(pack_fd)


class _Window(io.RawIOBase):
    """``length`` bytes of an open descriptor from ``offset``, as a seekable file of its own."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        super().__init__()
        self._fd, self._offset, self.size, self._pos = fd, offset, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self._pos)
        if n <= 0:
            return 0
        got = os.preadv(self._fd, [memoryview(buffer)[:n]], self._offset + self._pos)
        self._pos += got
        return got

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class Snapshot(io.BufferedReader):
    """An open snapshot: a read-only, seekable file of exactly the snapshot's bytes.

    ``size`` is its length now (for a plain file, the file's size when opened: compare it with
    the size the entry was added with).
    """

    raw: _Window

    @property
    def size(self) -> int:
        return self.raw.size


def open_snapshot(source: str) -> Snapshot:
    """Open a ``local_path`` (a file or a staged locator) for reading.

    Raises:
        BlobNotFoundError: a staged snapshot's pack is gone.
        IntegrityError: a staged locator does not point at its record.
        OSError: a file cannot be opened (FileNotFoundError if it is gone).
    """
    r = parse(source)
    if r is None:
        fd = os.open(source, os.O_RDONLY)
        return Snapshot(_Window(fd, 0, os.fstat(fd).st_size))
    fd = _open_pack(r)
    try:
        start = r.offset - HEADER.size
        head = os.pread(fd, HEADER.size, start) if start >= 0 else b""
        if head != record_header(r.hexdigest, r.length) or os.fstat(fd).st_size < (
            r.offset + r.length
        ):
            _read_range(fd, r)  # raises, saying why
    except BaseException:
        os.close(fd)
        raise
    return Snapshot(_Window(fd, r.offset, r.length))


def snapshot_size(source: str) -> int:
    """The size of a ``local_path``'s bytes now (raises as :func:`open_snapshot`)."""
    r = parse(source)
    if r is None:
        return os.path.getsize(source)
    with open_snapshot(source) as f:
        return f.size
