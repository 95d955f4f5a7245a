"""File objects over S3 bodies: a window of a stream hashed as botocore reads it, and a
GetObject body whose read errors are translated at the store's one boundary."""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any

from cairn.core.blobs.s3.errors import s3_errors


class HashingWindow(io.RawIOBase):
    """``length`` bytes of a seekable stream from its current position, hashed as read.

    botocore rewinds a body with ``seek(0)`` to sign it and to retry, so position 0 here is the
    stream's starting position, and bytes read again after a rewind are not hashed twice.
    """

    def __init__(self, stream: IO[bytes], length: int) -> None:
        super().__init__()
        self._stream = stream
        self._base = stream.tell()
        self._length = length
        self._pos = 0
        self._hash = hashlib.md5()
        self._hashed = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + offset))
        self._stream.seek(self._base + self._pos)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        want = self._length - self._pos
        if size is not None and size >= 0:
            want = min(want, size)
        data = self._stream.read(want) if want > 0 else b""
        start, self._pos = self._pos, self._pos + len(data)
        if self._pos > self._hashed:
            self._hash.update(data[self._hashed - start :])
            self._hashed = self._pos
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __len__(self) -> int:
        return self._length

    @property
    def complete(self) -> bool:
        return self._hashed == self._length

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class ObjectReader(io.RawIOBase):
    """A GetObject body as a file object, with read errors translated at the same boundary."""

    def __init__(self, body: Any, where: str, digest: str) -> None:
        super().__init__()
        self._body = body
        self._where = where
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with s3_errors("read", self._where, self._digest):
            data: bytes = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
