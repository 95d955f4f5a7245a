"""Direct transfers: bytes go between a client and a presigning store (S3), never through a
Cairn server; the core plans them and admits what arrived.

Uploads of blobs the caller lacks (:func:`cairn.core.transfer.plan.lacking`), by
:func:`cairn.core.transfer.plan.route`:

* **PUT** (up to the store's single-PUT limit): one presigned PUT straight to the blob's own
  key, with ``Content-MD5`` and the caller's account tag signed in. The store refuses other
  bytes; :func:`confirm` then HEADs the key (no read-back, no copy) and admits the blob for the
  caller only if the object carries the caller's tag: an account proves possession by its own
  PUT, never by pointing at someone else's. Another account's PUT of the same bytes landing in
  between replaces the tag, and the confirmation asks for the upload again (rare, harmless).
* **MULTIPART** (above it): a resumable upload per blob and account, recorded in the database
  so an interrupted client (or another client of the account, through another replica) gets
  the same upload back with the parts already stored. Completing it verifies the whole blob's
  MD5 by reading it once (:mod:`cairn.core.blobs.s3.direct` says why that read cannot be
  avoided) and publishes it.

Downloads: presigned GETs for blobs the caller may read (:mod:`.access`), one per blob of its
own and one per run of neighbours in a pack (that exact byte range signed in).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy import exc as sa_exc

from cairn.core.access import Principal
from cairn.core.blobs.base import BlobStore
from cairn.core.blobs.presigning import PresignedRequest, PresigningStore
from cairn.core.db import models as m
from cairn.core.db.engine import Database
from cairn.core.transfer.access import readable_blobs
from cairn.core.transfer.plan import Route, lacking, part_size, route
from cairn.core.transfer.reading import Reader, coalesce
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    NotFoundError,
    NotImplementedFeatureError,
    ValidationError,
)
from cairn.faults import fault_point


class Uploader(Reader, Protocol):
    """What direct uploads need of a bound core service."""

    def missing_blobs(self, digests: Iterable[str]) -> list[str]: ...

    def stored_blobs(self, digests: Sequence[str]) -> set[str]: ...

    def record_blobs(self, blobs: Iterable[tuple[str, int]]) -> None: ...


@dataclass(frozen=True)
class PutPlan:
    digest: str
    request: PresignedRequest

    def to_wire(self) -> dict[str, Any]:
        return {"digest": self.digest, "put": self.request.to_wire()}


@dataclass(frozen=True)
class MultipartPlan:
    digest: str
    upload_id: str
    part_size: int
    done: tuple[tuple[int, int], ...]  # (part number, size) the store holds already

    def to_wire(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "multipart": {
                "upload_id": self.upload_id,
                "part_size": self.part_size,
                "done": [{"number": n, "size": size} for n, size in self.done],
            },
        }


@dataclass(frozen=True)
class RangePlan:
    request: PresignedRequest
    blobs: tuple[tuple[str, int], ...]

    def to_wire(self) -> dict[str, Any]:
        return {**self.request.to_wire(), "blobs": [list(b) for b in self.blobs]}


def staging_tag(who: Principal) -> str:
    """The account's tag on what it uploads (a name may hold characters a key or a metadata
    value should not)."""
    return hashlib.sha256(who.name.encode()).hexdigest()[:32]


def presigning(store: BlobStore, *, enabled: bool = True) -> PresigningStore:
    """``store``, if clients may reach it by presigned URL.

    Raises:
        NotImplementedFeatureError: it cannot presign (a local folder), or presigning is off.
    """
    if not enabled or not isinstance(store, PresigningStore):
        raise NotImplementedFeatureError(
            "this server's store cannot hand out presigned URLs; PUT /api/v1/blobs/{digest}"
        )
    return store


def single_put_max(store: BlobStore) -> int | None:
    """The largest blob one presigned PUT to ``store`` carries (None: it cannot presign)."""
    return store.single_put_max if isinstance(store, PresigningStore) else None


class DirectTransfers:
    """Direct transfers for the caller of a bound service, on a presigning store."""

    def __init__(self, svc: Uploader, *, enabled: bool = True, expires: int = 3600) -> None:
        self.svc = svc
        self.store = presigning(svc.blobs, enabled=enabled)
        self.expires = expires
        self.who: Principal = svc.principal
        self.db: Database = svc.db

    # -- uploads -------------------------------------------------------------------------------
    def plan_uploads(self, blobs: Sequence[tuple[str, int]]) -> list[PutPlan | MultipartPlan]:
        """How to upload each of ``blobs`` (digest, size) the caller lacks; the others are left
        out.

        Raises:
            ValidationError: a digest is not a hex MD5, or a size is negative.
        """
        sizes = dict(blobs)
        if any(n < 0 for n in sizes.values()):
            raise ValidationError("blob sizes must be >= 0")
        tag = staging_tag(self.who)
        out: list[PutPlan | MultipartPlan] = []
        limit = self.store.single_put_max
        for digest in lacking(self.svc, list(sizes)):
            size = sizes[digest]
            if route(size, pack_threshold=None, presigned=True, single_put_max=limit) is Route.PUT:
                put = self.store.presign_put(digest, size, uploader=tag, expires=self.expires)
                out.append(PutPlan(digest, put))
            else:
                out.append(self._open_upload(digest, size))
        return out

    def confirm(self, blobs: Sequence[tuple[str, int]]) -> int:
        """Admit blobs the caller sent by presigned single PUT; returns how many were admitted.

        One HEAD a blob: the object must be there, be the size announced, have its MD5 as its
        ETag and carry the caller's tag. A blob the caller holds already (another of its
        clients confirmed it first) needs none of that.

        Raises:
            BlobNotFoundError: a blob the caller does not hold was not uploaded by it (nothing
                there, or someone else's upload); the others are admitted all the same.
            ValidationError: an object is not the size announced.
            DigestMismatchError: the store kept bytes that are not the blob's (it ignored
                ``Content-MD5``); the object is removed unless the blob was stored already.
        """
        wanted = dict(blobs)
        tag = staging_tag(self.who)
        workers = max(1, min(self.store.max_workers, len(wanted)))
        with ThreadPoolExecutor(workers) as pool:
            stats = dict(zip(wanted, pool.map(self.store.stat_blob, wanted), strict=True))
        taken: list[tuple[str, int]] = []
        absent: list[str] = []
        for digest, size in wanted.items():
            found = stats[digest]
            if found is None or found.uploader != tag:
                absent.append(digest)
                continue
            if not found.etag_is_md5:
                if not self.svc.stored_blobs([digest]):
                    self.svc.blobs.delete(digest)
                raise DigestMismatchError(
                    f"the store kept bytes for blob {digest} that are not its own: it does not "
                    "check Content-MD5; turn presigned uploads off for it",
                    details={"expected": digest},
                )
            if found.size != size:
                raise ValidationError(
                    f"blob {digest}: {found.size} bytes arrived, {size} were announced"
                )
            taken.append((digest, size))
        self.svc.record_blobs(taken)
        missing = lacking(self.svc, absent) if absent else []
        if missing:
            raise BlobNotFoundError(
                f"{len(missing)} blob(s) were not uploaded ({', '.join(missing[:5])}); upload them",
                details={"missing": missing[:1000]},
            )
        return len(taken)

    def _open_upload(self, digest: str, size: int) -> MultipartPlan:
        """The account's upload of this blob (resumed if one is open)."""
        with self.db.read() as s:
            row = s.get(m.MultipartUpload, (digest, self.who.name))
            known = (row.upload_id, row.size, row.part_size) if row is not None else None
        if known is not None:
            upload_id, old_size, part = known
            if old_size == size:
                try:
                    done = self.store.list_parts(digest, upload_id)
                except NotFoundError:
                    pass  # expired or aborted: start again
                else:
                    held = tuple((p.part_number, p.size) for p in done)
                    return MultipartPlan(digest, upload_id, part, held)
            self._forget(digest, upload_id)
        part = part_size(size, self.store.preferred_part_size)
        upload_id = self.store.create_multipart(digest)
        try:
            with self.db.write() as s:
                s.add(
                    m.MultipartUpload(
                        digest=digest,
                        account=self.who.name,
                        upload_id=upload_id,
                        size=size,
                        part_size=part,
                    )
                )
        except sa_exc.IntegrityError:
            # Another client of this account opened one at the same moment: use theirs.
            self.store.abort_multipart(digest, upload_id)
            return self._open_upload(digest, size)
        return MultipartPlan(digest, upload_id, part, ())

    def _forget(self, digest: str, upload_id: str) -> None:
        with self.db.write() as s:
            s.execute(
                delete(m.MultipartUpload).where(
                    m.MultipartUpload.digest == digest,
                    m.MultipartUpload.account == self.who.name,
                    m.MultipartUpload.upload_id == upload_id,
                )
            )

    def _check_upload(self, digest: str, upload_id: str) -> int:
        """The announced size of the account's open upload ``upload_id`` of ``digest``.

        Raises:
            NotFoundError: there is no such open upload of this account.
        """
        with self.db.read() as s:
            row = s.get(m.MultipartUpload, (digest, self.who.name))
            if row is None or row.upload_id != upload_id:
                raise NotFoundError(f"no open upload {upload_id!r} for blob {digest}")
            return int(row.size)

    def presign_parts(
        self, digest: str, upload_id: str, parts: Sequence[tuple[int, str, int | None]]
    ) -> list[tuple[int, PresignedRequest]]:
        """Presigned PUTs for parts (number, base64 MD5, size) of the account's upload, each
        bound to its part's MD5.

        Raises:
            NotFoundError: no such open upload of this account.
            ValidationError: a bad part number or MD5.
        """
        self._check_upload(digest, upload_id)
        return [
            (
                n,
                self.store.presign_part(digest, upload_id, n, md5, size=size, expires=self.expires),
            )
            for n, md5, size in parts
        ]

    def complete(self, digest: str, upload_id: str) -> int:
        """Assemble and verify the upload; store the blob unless it is stored already; record
        that the caller holds it. Returns its size.

        Raises:
            DigestMismatchError: the parts do not hash to ``digest`` (the upload is dropped).
            NotFoundError: no such open upload of this account.
            ValidationError: the blob is not the size announced.
        """
        try:
            expected = self._check_upload(digest, upload_id)
        except NotFoundError:
            # Another client of this account may have completed it already.
            if not lacking(self.svc, [digest]):
                return self.svc.blobs.size(digest) or 0
            raise
        publish = not self.svc.stored_blobs([digest])
        try:
            size = int(self.store.complete_multipart(digest, upload_id, publish=publish))
        except DigestMismatchError:
            self._forget(digest, upload_id)
            raise
        if size != expected:
            raise ValidationError(f"blob {digest}: {size} bytes arrived, {expected} were announced")
        fault_point("server.multipart.published")  # tests: the upload is used up, blob unrecorded
        self.svc.record_blobs([(digest, size)])
        self._forget(digest, upload_id)
        return size

    # -- downloads -----------------------------------------------------------------------------
    def plan_downloads(
        self, digests: Sequence[str]
    ) -> tuple[dict[str, PresignedRequest], list[RangePlan]]:
        """Presigned GETs for the blobs the caller may read; others are left out. Blobs of their
        own get one each; packed neighbours one per run, its byte range signed in."""
        readable = self._readable(digests)
        allowed = [d for d in dict.fromkeys(digests) if d in readable]
        where = self.svc.locate_blobs(allowed)
        singles, ranges = coalesce(where, self.svc.packs.range_bytes)
        exp = self.expires
        return (
            {loc.digest: self.store.presign_get(loc.digest, expires=exp) for loc in singles},
            [
                RangePlan(
                    self.store.presign_pack_range(r.pack_id, r.offset, r.length, expires=exp),
                    r.blobs,
                )
                for r in ranges
            ],
        )

    def _readable(self, digests: Sequence[str]) -> set[str]:
        return readable_blobs(self.db, self.who, digests)


__all__ = [
    "DirectTransfers",
    "MultipartPlan",
    "PutPlan",
    "RangePlan",
    "presigning",
    "single_put_max",
    "staging_tag",
]
