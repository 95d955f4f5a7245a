"""Request size limits and a body read timeout, enforced before a route reads anything.

A declared ``Content-Length`` over the limit is refused at once (413), without reading the
body; a chunked body is counted as it arrives and the request fails (413) at the first byte
over. Blob uploads have their own limit: they stream to the store and are never held in
memory. A pack stream is bounded by the largest pack the server takes plus its header.

Every wait for the next piece of a body is bounded by ``read_timeout`` (408): a client that
declares more bytes than it sends, or stops sending, cannot hold a worker.
"""

from __future__ import annotations

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.manifest.packstream import MAGIC, MAX_HEADER_BYTES
from cairn.server.errors import error_response

PACK_PATH = "/api/v1/blobs/packs"


def is_blob_upload(method: str, path: str) -> bool:
    """Bodies that stream to the store: one blob, or a pack stream (its header bounds it)."""
    return (method == "PUT" and path.startswith("/api/v1/blobs/")) or (
        method == "POST" and path == PACK_PATH
    )


def pack_body_limit(max_pack_bytes: int) -> int:
    """The longest pack stream body: its blobs' bytes, the magic line and the largest header."""
    return max_pack_bytes + len(MAGIC) + MAX_HEADER_BYTES + 1


class BodyLimit:
    """ASGI middleware: body size limits (413) and a per-read timeout (408)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json: int,
        max_blob: int | None,
        max_pack: int | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.max_json = max_json
        self.max_blob = max_blob
        self.max_pack = max_pack
        self.read_timeout = read_timeout

    def limit_for(self, method: str, path: str) -> int | None:
        if method == "POST" and path == PACK_PATH and self.max_pack is not None:
            return pack_body_limit(self.max_pack)
        return self.max_blob if is_blob_upload(method, path) else self.max_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if limit is not None and declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server itself rejects a malformed header
            if too_big:
                response = error_response(
                    413,
                    "too_large",
                    f"request body over the limit of {limit} bytes",
                    {"limit": limit},
                )
                await response(scope, receive, send)
                return
        seen = 0
        timeout = self.read_timeout
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal seen, body_done
            # Once the body is in, receive() only waits for a disconnect (a streaming
            # response listens for one for as long as it streams): no timeout then.
            if timeout is None or body_done:
                message = await receive()
            else:
                with anyio.move_on_after(timeout) as waited:
                    message = await receive()
                if waited.cancelled_caught:
                    raise HTTPException(
                        408, f"no request body bytes arrived for {timeout:g} seconds"
                    )
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if limit is not None and seen > limit:
                    raise HTTPException(413, f"request body over the limit of {limit} bytes")
            return message

        await self.app(scope, guarded_receive, send)
