"""Request size limits, enforced before a route reads anything.

A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted as
it arrives and the request fails (413) at the first byte over. Blob uploads have their own
limit: they stream to the store and are never held in memory.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.server.errors import error_response


def is_blob_upload(method: str, path: str) -> bool:
    """Bodies that stream to the store: one blob, or a pack stream (its header bounds it)."""
    return (method == "PUT" and path.startswith("/api/v1/blobs/")) or (
        method == "POST" and path == "/api/v1/blobs/packs"
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_json: int, max_blob: int | None) -> None:
        self.app = app
        self.max_json = max_json
        self.max_blob = max_blob

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_blob if is_blob_upload(scope["method"], scope["path"]) else self.max_json
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
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

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body over the limit of {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)
