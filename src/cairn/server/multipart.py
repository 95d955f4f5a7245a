"""Bookkeeping for presigned uploads to an S3 store: resumable multipart uploads, and the
confirmation of single PUTs.

Completing an upload proves that its account has the blob's bytes
(:mod:`cairn.core.possession`), so every upload belongs to one account. A multipart upload is
recorded per blob and account in the database, so that a client that was interrupted — or
another client of the same account, through another replica — gets the same upload back, with
the parts the store already holds, and sends only the rest. A single PUT goes to a staging key
under the account's tag, which only that account was handed a URL for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import delete
from sqlalchemy import exc as sa_exc

from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.errors import BlobNotFoundError, DigestMismatchError, NotFoundError, ValidationError
from cairn.faults import fault_point
from cairn.server.state import ServerState


def staging_tag(who: Principal) -> str:
    """The account's tag in staging keys (a name may hold characters keys should not)."""
    return hashlib.sha256(who.name.encode()).hexdigest()[:32]


def _part_size(state: ServerState, size: int) -> int:
    """The store's part size, raised so no blob needs more than 10,000 parts."""
    part = int(state.s3.options.part_size)
    return max(part, -(-size // 10_000), 5 << 20)


def open_upload(state: ServerState, who: Principal, digest: str, size: int) -> dict[str, Any]:
    """The account's upload of this blob (resumed if one is open): id, part size, parts done."""
    store = state.s3
    with state.db.read() as s:
        row = s.get(m.MultipartUpload, (digest, who.name))
        known = (row.upload_id, row.size, row.part_size) if row is not None else None
    if known is not None:
        upload_id, old_size, part_size = known
        if old_size == size:
            try:
                done = store.list_parts(digest, upload_id)
            except NotFoundError:
                pass  # expired or aborted: start again
            else:
                return {
                    "upload_id": upload_id,
                    "part_size": part_size,
                    "done": [{"number": p.part_number, "size": p.size} for p in done],
                }
        _forget(state, who, digest, upload_id)
    part_size = _part_size(state, size)
    upload_id = store.create_multipart(digest)
    try:
        with state.db.write() as s:
            s.add(
                m.MultipartUpload(
                    digest=digest,
                    account=who.name,
                    upload_id=upload_id,
                    size=size,
                    part_size=part_size,
                )
            )
    except sa_exc.IntegrityError:
        # Another client of this account opened one at the same moment: use theirs.
        store.abort_multipart(digest, upload_id)
        return open_upload(state, who, digest, size)
    return {"upload_id": upload_id, "part_size": part_size, "done": []}


def _forget(state: ServerState, who: Principal, digest: str, upload_id: str) -> None:
    with state.db.write() as s:
        s.execute(
            delete(m.MultipartUpload).where(
                m.MultipartUpload.digest == digest,
                m.MultipartUpload.account == who.name,
                m.MultipartUpload.upload_id == upload_id,
            )
        )


def check_upload(state: ServerState, who: Principal, digest: str, upload_id: str) -> None:
    """Raises NotFoundError unless ``upload_id`` is the account's open upload of ``digest``."""
    with state.db.read() as s:
        row = s.get(m.MultipartUpload, (digest, who.name))
        if row is None or row.upload_id != upload_id:
            raise NotFoundError(f"no open upload {upload_id!r} for blob {digest}")


def complete(state: ServerState, who: Principal, digest: str, upload_id: str) -> int:
    """Assemble and verify the upload; store the blob unless it is stored already; record
    that the caller holds it. Returns its size.

    Raises:
        DigestMismatchError: the parts do not hash to ``digest`` (the upload is dropped).
        NotFoundError: no such open upload of this account.
    """
    svc = state.service.bind(who)
    try:
        check_upload(state, who, digest, upload_id)
    except NotFoundError:
        # Another client of this account may have completed it already.
        if not svc.missing_blobs([digest]):
            return state.store.size(digest) or 0
        raise
    with state.db.read() as s:
        expected = s.get_one(m.MultipartUpload, (digest, who.name)).size
    publish = not svc.stored_blobs([digest])
    try:
        size = int(state.s3.complete_multipart(digest, upload_id, publish=publish))
    except DigestMismatchError:
        _forget(state, who, digest, upload_id)
        raise
    if size != expected:
        raise ValidationError(f"blob {digest}: {size} bytes arrived, {expected} were announced")
    fault_point("server.multipart.published")  # tests: the upload is used up, the blob unrecorded
    svc.record_blobs([(digest, size)])
    _forget(state, who, digest, upload_id)
    return size


def confirm(state: ServerState, who: Principal, blobs: Sequence[tuple[str, int]]) -> int:
    """Admit blobs sent by presigned single PUT to the caller's staging keys; returns how many.

    A blob the store holds already is not copied again; one the caller already holds (another
    of its clients confirmed it first) needs no staged object.

    Raises:
        BlobNotFoundError: nothing was staged for a blob the caller does not hold (it was not
            uploaded); the others are admitted all the same.
        ValidationError: a staged blob is not the size announced.
    """
    svc = state.service.bind(who)
    wanted = dict(blobs)
    stored = svc.stored_blobs(list(wanted))
    tag = staging_tag(who)
    taken: list[tuple[str, int]] = []
    absent: list[str] = []

    def take(digest: str) -> int | None:
        got: int | None = state.s3.take_staged(digest, tag, publish=digest not in stored)
        return got

    # Three store requests a blob (list, copy, delete): many blobs at once, as uploads run.
    with ThreadPoolExecutor(max(1, int(state.s3.options.max_workers))) as pool:
        found = dict(zip(wanted, pool.map(take, wanted), strict=True))
    for digest, size in wanted.items():
        got = found[digest]
        if got is None:
            absent.append(digest)
        elif got != size:
            raise ValidationError(f"blob {digest}: {got} bytes arrived, {size} were announced")
        else:
            taken.append((digest, got))
    svc.record_blobs(taken)
    missing = svc.missing_blobs(absent) if absent else []
    if missing:
        raise BlobNotFoundError(
            f"{len(missing)} blob(s) were not uploaded ({', '.join(missing[:5])}); upload them",
            details={"missing": missing[:1000]},
        )
    return len(taken)
