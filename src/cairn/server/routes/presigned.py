"""Direct transfers: presigned URLs so bulk bytes go between client and store, not via Python.

Uploads (only when the store can presign, i.e. S3):

1. ``POST /blobs/uploads`` with ``[{digest, size}]``: for each blob the caller does not hold
   (:mod:`cairn.core.possession`: not stored, or stored for others only), either one presigned
   PUT to a staging key of the caller's (``Content-MD5`` signed in, so the store itself refuses
   other bytes) or a multipart upload — the same upload for every client of that account asking
   about that digest, with the parts the store already holds, so an interrupted upload resumes
   without resending them;
2. ``POST /blobs/{digest}/parts``: presigned PUTs for parts, each with its own MD5;
3. ``POST /blobs/{digest}/complete`` (multipart: the server verifies the whole blob's MD5) or
   ``POST /blobs/confirm`` (single PUTs: the server finds the caller's staged object) admits
   the blobs — copied to their own key unless the store holds them already — and records that
   the caller holds them; only then may its commit name them.

Small blobs do not come here: they go up in pack streams (``POST /blobs/packs``), verified by
the server on the way to the store.

Downloads: ``POST /blobs/downloads`` gives presigned GETs for the blobs the caller may read:
one per blob of its own, one per run of neighbouring blobs in a pack (that exact byte range).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.core.packs import plan_ranges
from cairn.errors import NotImplementedFeatureError
from cairn.server import multipart
from cairn.server.auth import State, Who
from cairn.server.routes.blobs import check_count, check_digest
from cairn.server.schemas import CompleteIn, DigestsIn, PartsIn, UploadPlanIn
from cairn.server.state import ServerState

router = APIRouter(prefix="/blobs", tags=["blobs"])


def _require_presign(state: ServerState) -> None:
    if not state.presigned:
        raise NotImplementedFeatureError(
            "this server's store cannot hand out presigned URLs; PUT /api/v1/blobs/{digest}"
        )


def _request(req: Any) -> dict[str, Any]:
    return {"method": req.method, "url": req.url, "headers": dict(req.headers)}


@router.post("/uploads")
def plan_uploads(body: UploadPlanIn, state: State, who: Who) -> dict[str, Any]:
    """How to upload each blob the caller does not hold (blobs it holds are left out)."""
    _require_presign(state)
    check_count(len(body.blobs), state.config.max_digests)
    for b in body.blobs:
        check_digest(b.digest)
    sizes = {b.digest: b.size for b in body.blobs}
    missing = state.service.bind(who).missing_blobs(list(sizes))
    store, expires = state.s3, state.config.presign_expires
    tag = multipart.staging_tag(who)
    out: list[dict[str, Any]] = []
    for digest in missing:
        size = sizes[digest]
        if size < store.options.multipart_threshold:
            put = store.presign_staged_put(digest, tag, size, expires=expires)
            out.append({"digest": digest, "put": _request(put)})
        else:
            upload = multipart.open_upload(state, who, digest, size)
            out.append({"digest": digest, "multipart": upload})
    return {"uploads": out}


@router.post("/{digest}/parts")
def presign_parts(digest: str, body: PartsIn, state: State, who: Who) -> dict[str, Any]:
    """Presigned PUTs for parts of a multipart upload, each bound to its part's MD5."""
    _require_presign(state)
    check_digest(digest)
    multipart.check_upload(state, who, digest, body.upload_id)
    store, expires = state.s3, state.config.presign_expires
    return {
        "parts": [
            {
                "number": p.number,
                **_request(
                    store.presign_part(
                        digest, body.upload_id, p.number, p.md5, size=p.size, expires=expires
                    )
                ),
            }
            for p in body.parts
        ]
    }


@router.post("/{digest}/complete")
def complete_upload(digest: str, body: CompleteIn, state: State, who: Who) -> dict[str, Any]:
    """Assemble a multipart upload, verify its MD5 and admit the blob."""
    _require_presign(state)
    check_digest(digest)
    size = multipart.complete(state, who, digest, body.upload_id)
    return {"digest": digest, "size": size}


@router.post("/confirm")
def confirm_uploads(body: UploadPlanIn, state: State, who: Who) -> dict[str, Any]:
    """Admit blobs sent by presigned single PUT (the store checked their Content-MD5)."""
    _require_presign(state)
    check_count(len(body.blobs), state.config.max_digests)
    for b in body.blobs:
        check_digest(b.digest)
    # BlobNotFoundError if one was not uploaded (to this caller's staging key).
    multipart.confirm(state, who, [(b.digest, b.size) for b in body.blobs])
    return {"confirmed": len(body.blobs)}


@router.post("/downloads")
def plan_downloads(body: DigestsIn, state: State, who: Who) -> dict[str, Any]:
    """Presigned GETs for the blobs the caller may read; others are left out.

    Blobs of their own get a URL each (``downloads``); packed ones come in ``ranges``: one GET
    per run of neighbours in a pack, its byte range signed in, with the blobs it holds in
    order.
    """
    _require_presign(state)
    check_count(len(body.digests), state.config.max_digests)
    for d in body.digests:
        check_digest(d)
    svc = state.service.bind(who)
    readable = svc.readable_blobs(body.digests)
    where = svc.locate_blobs([d for d in body.digests if d in readable])
    singles, ranges = plan_ranges(where.values(), svc.packs.range_bytes)
    store, exp = state.s3, state.config.presign_expires
    return {
        "downloads": {
            loc.digest: _request(store.presign_get(loc.digest, expires=exp)) for loc in singles
        },
        "ranges": [
            {
                **_request(store.presign_pack_range(r.pack_id, r.offset, r.length, expires=exp)),
                "blobs": [list(b) for b in r.blobs],
            }
            for r in ranges
        ],
    }
