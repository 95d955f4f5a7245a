"""Direct transfers: presigned URLs so bulk bytes go between client and store, not via Python.

Uploads (only when the store can presign, i.e. S3; the core plans and admits them,
:mod:`cairn.core.transfer.direct`):

1. ``POST /blobs/uploads`` with ``[{digest, size}]``: for each blob the caller does not hold
   (:mod:`cairn.core.possession`), either one presigned PUT straight to the blob's key
   (``Content-MD5`` and the caller's tag signed in, so the store itself refuses other bytes) or,
   above the store's single-PUT limit, a multipart upload — the same upload for every client of
   that account asking about that digest, with the parts the store already holds, so an
   interrupted upload resumes without resending them;
2. ``POST /blobs/{digest}/parts``: presigned PUTs for parts, each with its own MD5;
3. ``POST /blobs/confirm`` (single PUTs: one HEAD a blob finds the caller's object) or
   ``POST /blobs/{digest}/complete`` (multipart: the server verifies the whole blob's MD5)
   admits the blobs and records that the caller holds them; only then may its commit name them.

Small blobs do not come here: they go up in pack streams (``POST /blobs/packs``), verified by
the server on the way to the store.

Downloads: ``POST /blobs/downloads`` gives presigned GETs for the blobs the caller may read:
one per blob of its own, one per run of neighbouring blobs in a pack (that exact byte range).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import State, Who
from cairn.server.multipart import direct
from cairn.server.routes.blobs import check_count, check_digest
from cairn.server.schemas import CompleteIn, DigestsIn, PartsIn, UploadPlanIn

router = APIRouter(prefix="/blobs", tags=["blobs"])


@router.post("/uploads")
def plan_uploads(body: UploadPlanIn, state: State, who: Who) -> dict[str, Any]:
    """How to upload each blob the caller does not hold (blobs it holds are left out)."""
    check_count(len(body.blobs), state.config.max_digests)
    blobs = [(check_digest(b.digest), b.size) for b in body.blobs]
    return {"uploads": [p.to_wire() for p in direct(state, who).plan_uploads(blobs)]}


@router.post("/{digest}/parts")
def presign_parts(digest: str, body: PartsIn, state: State, who: Who) -> dict[str, Any]:
    """Presigned PUTs for parts of a multipart upload, each bound to its part's MD5."""
    check_digest(digest)
    parts = [(p.number, p.md5, p.size) for p in body.parts]
    signed = direct(state, who).presign_parts(digest, body.upload_id, parts)
    return {"parts": [{"number": n, **req.to_wire()} for n, req in signed]}


@router.post("/{digest}/complete")
def complete_upload(digest: str, body: CompleteIn, state: State, who: Who) -> dict[str, Any]:
    """Assemble a multipart upload, verify its MD5 and admit the blob."""
    check_digest(digest)
    size = direct(state, who).complete(digest, body.upload_id)
    return {"digest": digest, "size": size}


@router.post("/confirm")
def confirm_uploads(body: UploadPlanIn, state: State, who: Who) -> dict[str, Any]:
    """Admit blobs sent by presigned single PUT (the store checked their Content-MD5)."""
    check_count(len(body.blobs), state.config.max_digests)
    blobs = [(check_digest(b.digest), b.size) for b in body.blobs]
    # BlobNotFoundError if one was not uploaded by this caller.
    direct(state, who).confirm(blobs)
    return {"confirmed": len(body.blobs)}


@router.post("/downloads")
def plan_downloads(body: DigestsIn, state: State, who: Who) -> dict[str, Any]:
    """Presigned GETs for the blobs the caller may read; others are left out.

    Blobs of their own get a URL each (``downloads``); packed ones come in ``ranges``: one GET
    per run of neighbours in a pack, its byte range signed in, with the blobs it holds in
    order.
    """
    check_count(len(body.digests), state.config.max_digests)
    digests = [check_digest(d) for d in body.digests]
    singles, ranges = direct(state, who).plan_downloads(digests)
    return {
        "downloads": {d: req.to_wire() for d, req in singles.items()},
        "ranges": [r.to_wire() for r in ranges],
    }
