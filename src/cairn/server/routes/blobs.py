"""Blobs through the server: which are missing, and streaming them in and out.

With an S3 store clients move bytes by presigned URL instead (:mod:`.presigned`); these routes
still work there, for small deployments and tools that only speak HTTP to Cairn.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.responses import Response

from cairn.core.blobs.base import CHUNK
from cairn.core.blobs.local import LocalBlobStore
from cairn.errors import BlobNotFoundError, ValidationError
from cairn.manifest.digest import is_hex_md5
from cairn.server.auth import State, Who
from cairn.server.schemas import DigestsIn
from cairn.server.streams import ThreadBodyReader

router = APIRouter(prefix="/blobs", tags=["blobs"])


def check_digest(digest: str) -> str:
    if not is_hex_md5(digest):
        raise ValidationError(f"{digest!r} is not a lowercase hex MD5 blob digest")
    return digest


def check_count(n: int, limit: int) -> None:
    if n > limit:
        raise ValidationError(
            f"{n} digests in one request; send at most {limit} per request",
            details={"limit": limit},
        )


@router.post("/missing")
def missing_blobs(body: DigestsIn, state: State, who: Who) -> dict[str, Any]:
    """Which of these hex MD5 digests the store lacks (upload only those)."""
    check_count(len(body.digests), state.config.max_digests)
    return {"missing": state.service.bind(who).missing_blobs(body.digests)}


@router.put("/{digest}")
async def upload_blob(digest: str, request: Request, state: State, who: Who) -> dict[str, Any]:
    """Stream one blob to the store; it is admitted only if its bytes hash to ``digest``."""
    check_digest(digest)
    declared = request.headers.get("content-length")
    size = int(declared) if declared and declared.isdigit() else None
    body = io.BufferedReader(ThreadBodyReader(request.stream()), CHUNK)
    svc = state.service.bind(who)
    written = await anyio.to_thread.run_sync(svc.store_blob_stream, digest, body, size)
    return {"digest": digest, "size": written}


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


@router.get("/{digest}", response_model=None)
def download_blob(digest: str, state: State, who: Who) -> Response:
    """A blob's bytes, if some version the caller may read holds it."""
    check_digest(digest)
    if not state.accounts.readable_blobs(who, [digest]):
        raise BlobNotFoundError(f"blob {digest} not found")
    store = state.store
    if isinstance(store, LocalBlobStore):
        path = store.path_for(digest)
        if not path.is_file():
            raise BlobNotFoundError(f"blob {digest} is not in the store")
        return FileResponse(path, media_type="application/octet-stream")
    size = store.size(digest)
    if size is None:
        raise BlobNotFoundError(f"blob {digest} is not in the store")
    return StreamingResponse(
        _chunks(store.open(digest)),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size)},
    )
