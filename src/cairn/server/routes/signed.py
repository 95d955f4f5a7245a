"""Signed URLs: blob bytes in and out for clients that send no API key (the W&B client).

``GET /blobs/signed/{grant}[/{name}]`` serves one blob (``Range`` honoured);
``PUT /blobs/signed/{grant}`` stores one (its bytes must hash to the digest the grant names;
the answer's ``ETag`` is that MD5) or, with a ``manifest`` grant, takes a pending version's
manifest. Grants are made by :mod:`cairn.server.transfer_urls` and checked by
:mod:`cairn.core.signed_urls`: short-lived, for one action on one blob or version, made out to
one account, whose rights the request then has.
"""

from __future__ import annotations

import hashlib
import io
import re

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.responses import Response

from cairn.core.access import Principal
from cairn.core.blobs.base import CHUNK
from cairn.core.signed_urls import GET, MANIFEST, PUT, Grant
from cairn.core.transfer import reading
from cairn.errors import DigestMismatchError, PayloadTooLargeError
from cairn.server import transfer_urls
from cairn.server.auth import State
from cairn.server.graphql import drafts
from cairn.server.media import OCTETS, binary_body
from cairn.server.state import ServerState
from cairn.server.streams import ThreadBodyReader

router = APIRouter(prefix="/blobs/signed", tags=["signed"])
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _principal(state: ServerState, grant: Grant) -> Principal:
    if state.config.insecure_local:
        return Principal(name=state.config.local_user, is_superuser=True)
    return state.accounts.principal_for_user(grant.account)


def _slice(data: bytes, header: str | None) -> Response:
    """``data``, or the one range ``header`` asks for (206), as a static file would answer."""
    size = len(data)
    found = _RANGE.match(header.strip()) if header else None
    if found is None or not (found.group(1) or found.group(2)):
        return Response(data, media_type=OCTETS, headers={"Accept-Ranges": "bytes"})
    first, last = found.group(1), found.group(2)
    start = int(first) if first else max(0, size - int(last))
    end = min(int(last), size - 1) if first and last else size - 1
    if start >= size or start > end:  # unsatisfiable: the whole, as a server may answer
        return Response(data, media_type=OCTETS, headers={"Accept-Ranges": "bytes"})
    return Response(
        data[start : end + 1],
        status_code=206,
        media_type=OCTETS,
        headers={"Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"},
    )


def _serve(state: ServerState, token: str, request: Request) -> Response:
    grant = transfer_urls.signer(state).verify(token, GET)
    blob = reading.open_granted(state.service, grant.target)
    if blob.data is not None:
        return _slice(blob.data, request.headers.get("range"))
    if blob.path is not None:
        return FileResponse(blob.path, media_type=OCTETS)  # answers Range itself
    assert blob.stream is not None
    stream = blob.stream

    def chunks() -> object:
        with stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),  # type: ignore[arg-type]
        media_type=OCTETS,
        headers={"Content-Length": str(blob.size)},
    )


@router.get("/{token}", response_model=None)
def get_signed(token: str, request: Request, state: State) -> Response:
    """A blob's bytes, for whoever holds an unexpired grant to read it."""
    return _serve(state, token, request)


@router.get("/{token}/{name}", response_model=None)
def get_signed_named(token: str, name: str, request: Request, state: State) -> Response:
    """The same, with the file's name last in the URL (what a browser saves it as)."""
    return _serve(state, token, request)


@router.put("/{token}", openapi_extra=binary_body(OCTETS))
async def put_signed(token: str, request: Request, state: State) -> Response:
    """Store a blob (its bytes must hash to the granted digest) or a pending manifest."""
    grant = transfer_urls.signer(state).verify(token, PUT, MANIFEST)
    who = await anyio.to_thread.run_sync(_principal, state, grant)
    if grant.action == MANIFEST:
        limit = state.config.max_manifest_bytes
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise PayloadTooLargeError(f"a manifest is at most {limit} bytes")
        md5 = hashlib.md5(raw).hexdigest()
        if md5 != grant.extra.get("md5"):
            raise DigestMismatchError(
                f"the manifest's bytes hash to {md5}, not the {grant.extra.get('md5')} announced"
            )
        await anyio.to_thread.run_sync(
            drafts.receive_manifest, state, who, grant.target, bytes(raw)
        )
        return Response(status_code=200, headers={"ETag": f'"{md5}"'})
    declared = request.headers.get("content-length")
    size = int(declared) if declared and declared.isdigit() else None
    body = io.BufferedReader(ThreadBodyReader(request.stream()), CHUNK)
    svc = state.service.bind(who)
    await anyio.to_thread.run_sync(svc.store_blob_stream, grant.target, body, size)
    return Response(status_code=200, headers={"ETag": f'"{grant.target}"'})
