"""A request body as a blocking file object, for the synchronous blob store.

The store hashes and writes in a worker thread; each ``read`` there asks the event loop for the
next chunk of the body. Nothing is buffered beyond one chunk, so an upload of any size streams
to the store in constant memory.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import anyio.from_thread


class ThreadBodyReader(io.RawIOBase):
    """Read an ASGI body stream from a thread started by ``anyio.to_thread.run_sync``."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._pending = chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
