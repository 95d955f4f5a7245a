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

from cairn.core.access import Principal
from cairn.core.blobs.base import CHUNK
from cairn.core.blobs.local import LocalBlobStore
from cairn.errors import BlobNotFoundError, ValidationError
from cairn.manifest import packstream
from cairn.manifest.digest import is_hex_md5
from cairn.server.auth import State, Who
from cairn.server.media import OCTETS, PACK, OctetResponse, PackResponse, binary_body
from cairn.server.schemas import DigestsIn
from cairn.server.state import ServerState
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
    return {"missing": state.service.bind(who).missing_blobs(body.digests)}


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


def _readable(state: ServerState, who: Principal, digests: list[str]) -> None:
    """Raise BlobNotFoundError unless ``who`` may read every one of ``digests``.

    Another project's blob and a blob nobody has get the same answer, from the same query.
    """
    readable = state.service.bind(who).readable_blobs(digests)
    absent = [d for d in digests if d not in readable]
    if absent:
        raise BlobNotFoundError(
            f"blob {absent[0]} not found", details={"missing": list(dict.fromkeys(absent))[:1000]}
        )


@router.post("/read", response_model=None, response_class=PackResponse)
def read_blobs(body: DigestsIn, state: State, who: Who) -> Response:
    """Many blobs in one response, as a pack stream in the order asked (for small files).

    Neighbours in one pack are read from the store with one ranged read.
    """
    check_count(len(body.digests), state.config.max_digests)
    digests = [check_digest(d) for d in body.digests]
    _readable(state, who, digests)
    svc = state.service.bind(who)
    where = svc.locate_blobs(digests)
    absent = [d for d in digests if d not in where]
    if absent:
        raise BlobNotFoundError(f"blob {absent[0]} is not in the store")
    layout = [(d, where[d].size) for d in digests]
    header = packstream.encode_header(layout)
    # Called here, not in the stream: a damaged pack is then an error answer.
    pieces = svc.iter_blob_bytes(digests, where)

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
    _readable(state, who, [digest])
    loc = state.service.locate_blobs([digest]).get(digest)
    if loc is None:
        raise BlobNotFoundError(f"blob {digest} is not in the store")
    store = state.store
    if loc.pack_id is not None:
        data = store.read_pack(loc.pack_id, loc.offset, loc.size)
        return Response(data, media_type="application/octet-stream")
    if isinstance(store, LocalBlobStore):
        path = store.path_for(digest)
        if not path.is_file():
            raise BlobNotFoundError(f"blob {digest} is not in the store")
        return FileResponse(path, media_type="application/octet-stream")
    return StreamingResponse(
        _chunks(store.open(digest)),
        media_type="application/octet-stream",
        headers={"Content-Length": str(loc.size)},
    )
