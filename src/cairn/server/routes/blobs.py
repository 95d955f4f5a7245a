"""Blobs through the server: which are missing, and streaming them in and out.

Small blobs move many to a request, as pack streams (:mod:`cairn.manifest.packstream`): up in
``POST /blobs/packs``, down in ``POST /blobs/read``. Large ones move one to a request here, or
— with an S3 store — by presigned URL (:mod:`.presigned`); these routes work there too, for
tools that only speak HTTP to Cairn.
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
from cairn.core.transfer import plan, reading
from cairn.errors import ValidationError
from cairn.manifest import packstream
from cairn.manifest.digest import is_hex_md5
from cairn.server.auth import State, Who
from cairn.server.media import OCTETS, PACK, OctetResponse, PackResponse, binary_body
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
    """Which of these hex MD5 digests to upload: those the store lacks, and those the caller
    does not hold (:mod:`cairn.core.possession`) — the same answer for both."""
    check_count(len(body.digests), state.config.max_digests)
    return {"missing": plan.lacking(state.service.bind(who), body.digests)}


@router.put("/{digest}", openapi_extra=binary_body(OCTETS))
async def upload_blob(digest: str, request: Request, state: State, who: Who) -> dict[str, Any]:
    """Stream one blob to the store; it is admitted only if its bytes hash to ``digest``.

    A blob the store holds already is verified and recorded as the caller's, not stored again.
    """
    check_digest(digest)
    declared = request.headers.get("content-length")
    size = int(declared) if declared and declared.isdigit() else None
    body = io.BufferedReader(ThreadBodyReader(request.stream()), CHUNK)
    svc = state.service.bind(who)
    written = await anyio.to_thread.run_sync(svc.store_blob_stream, digest, body, size)
    return {"digest": digest, "size": written}


@router.post("/packs", openapi_extra=binary_body(PACK))
async def upload_pack(request: Request, state: State, who: Who) -> dict[str, Any]:
    """Many small blobs in one body: a pack stream (header, then the blobs back to back).

    Every blob is hashed against the digest the header gives it before any is stored; one
    that does not match rejects the whole pack. ``GET /server`` tells the sizes to use.
    """
    body = io.BufferedReader(ThreadBodyReader(request.stream()), CHUNK)
    svc = state.service.bind(who)
    out: dict[str, Any] = await anyio.to_thread.run_sync(svc.store_pack_stream, body)
    return out


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


@router.post("/read", response_model=None, response_class=PackResponse)
def read_blobs(body: DigestsIn, state: State, who: Who) -> Response:
    """Many blobs in one response, as a pack stream in the order asked (for small files).

    Neighbours in one pack are read from the store with one ranged read.
    """
    check_count(len(body.digests), state.config.max_digests)
    digests = [check_digest(d) for d in body.digests]
    # Called here, not in the stream: a blob the caller may not read, or a damaged pack, is
    # then an error answer.
    layout, pieces = reading.read_many(state.service.bind(who), digests)
    header = packstream.encode_header(layout)

    def stream() -> Iterator[bytes]:
        yield header
        yield from pieces

    return StreamingResponse(
        stream(),
        media_type=packstream.MEDIA_TYPE,
        headers={"Content-Length": str(packstream.stream_size(layout))},
    )


@router.get("/{digest}", response_model=None, response_class=OctetResponse)
def download_blob(digest: str, state: State, who: Who) -> Response:
    """A blob's bytes, if some version the caller may read holds it."""
    check_digest(digest)
    blob = reading.open_blob(state.service.bind(who), digest)
    if blob.path is not None:
        return FileResponse(blob.path, media_type=OCTETS)
    if blob.data is not None:
        return Response(blob.data, media_type=OCTETS)
    assert blob.stream is not None
    return StreamingResponse(
        _chunks(blob.stream), media_type=OCTETS, headers={"Content-Length": str(blob.size)}
    )
