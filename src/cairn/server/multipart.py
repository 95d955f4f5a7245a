"""Bookkeeping for resumable multipart uploads to an S3 store.

One open upload per blob digest, recorded in the database, so that a client that was
interrupted — or another client, through another replica — gets the same upload back, with the
parts the store already holds, and sends only the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy import exc as sa_exc

from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.errors import DigestMismatchError, NotFoundError, ValidationError
from cairn.faults import fault_point
from cairn.server.state import ServerState


def _part_size(state: ServerState, size: int) -> int:
    """The store's part size, raised so no blob needs more than 10,000 parts."""
    part = int(state.s3.options.part_size)
    return max(part, -(-size // 10_000), 5 << 20)


def open_upload(state: ServerState, digest: str, size: int) -> dict[str, Any]:
    """The upload for this blob (resumed if one is open): id, part size, parts done."""
    store = state.s3
    with state.db.read() as s:
        row = s.get(m.MultipartUpload, digest)
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
        _forget(state, digest, upload_id)
    part_size = _part_size(state, size)
    upload_id = store.create_multipart(digest)
    try:
        with state.db.write() as s:
            s.add(
                m.MultipartUpload(
                    digest=digest, upload_id=upload_id, size=size, part_size=part_size
                )
            )
    except sa_exc.IntegrityError:
        # Another client opened one at the same moment: use theirs.
        store.abort_multipart(digest, upload_id)
        return open_upload(state, digest, size)
    return {"upload_id": upload_id, "part_size": part_size, "done": []}


def _forget(state: ServerState, digest: str, upload_id: str) -> None:
    with state.db.write() as s:
        s.execute(
            delete(m.MultipartUpload).where(
                m.MultipartUpload.digest == digest, m.MultipartUpload.upload_id == upload_id
            )
        )


def check_upload(state: ServerState, digest: str, upload_id: str) -> None:
    """Raises NotFoundError unless ``upload_id`` is the open upload of ``digest``."""
    with state.db.read() as s:
        row = s.get(m.MultipartUpload, digest)
        if row is None or row.upload_id != upload_id:
            raise NotFoundError(f"no open upload {upload_id!r} for blob {digest}")


def complete(state: ServerState, who: Principal, digest: str, upload_id: str) -> int:
    """Assemble, verify and admit the blob; returns its size.

    Raises:
        DigestMismatchError: the parts do not hash to ``digest`` (the upload is dropped).
        NotFoundError: no such open upload.
    """
    svc = state.service.bind(who)
    try:
        check_upload(state, digest, upload_id)
    except NotFoundError:
        # A concurrent uploader of the same blob may have completed it already.
        if not svc.missing_blobs([digest]):
            return state.store.size(digest) or 0
        raise
    with state.db.read() as s:
        expected = s.get_one(m.MultipartUpload, digest).size
    try:
        size = int(state.s3.complete_multipart(digest, upload_id))
    except DigestMismatchError:
        _forget(state, digest, upload_id)
        raise
    if size != expected:
        raise ValidationError(f"blob {digest}: {size} bytes arrived, {expected} were announced")
    fault_point("server.multipart.published")  # tests: the upload is used up, the blob unrecorded
    svc.record_blobs([(digest, size)])
    _forget(state, digest, upload_id)
    return size
