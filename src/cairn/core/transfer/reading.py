"""Reading blobs out: locate them, coalesce neighbours in a pack into ranges, open them.

Every read is for a caller who may read the blob (:mod:`.access`); each function here checks
that first, so a face cannot forget to. Whether a blob is an object of its own or a range of a
pack (:mod:`cairn.core.packs`) is decided here and nowhere above.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from cairn.core.access import Principal
from cairn.core.blobs.base import BlobStore
from cairn.core.blobs.local import LocalBlobStore
from cairn.core.db.engine import Database
from cairn.core.packs import BlobLocation, PackPolicy, PackRange, plan_ranges
from cairn.core.transfer.access import require_readable
from cairn.errors import BlobNotFoundError

__all__ = ["BlobBody", "Reader", "coalesce", "open_blob", "read_many"]


class Reader(Protocol):
    """What reading needs of a bound core service."""

    db: Database
    blobs: BlobStore
    packs: PackPolicy
    principal: Principal

    def locate_blobs(self, digests: Sequence[str]) -> dict[str, BlobLocation]: ...

    def iter_blob_bytes(
        self, digests: Sequence[str], where: dict[str, BlobLocation] | None = None
    ) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class BlobBody:
    """One blob's bytes, in the cheapest form the store has them: a local file (``path``, for
    the web server to send itself), bytes already read (``data``, from a pack), or a stream."""

    size: int
    path: Path | None = None
    data: bytes | None = None
    stream: IO[bytes] | None = None


def coalesce(
    where: dict[str, BlobLocation], range_bytes: int
) -> tuple[list[BlobLocation], list[PackRange]]:
    """Blobs of their own, and runs of packed neighbours as ranges of at most ``range_bytes``
    (:func:`cairn.core.packs.plan_ranges`: never across a gap)."""
    return plan_ranges(where.values(), range_bytes)


def locate_readable(svc: Reader, digests: Sequence[str]) -> dict[str, BlobLocation]:
    """Where each of ``digests`` lies, for a caller who may read them all.

    Raises:
        BlobNotFoundError: the caller may not read one, or the store does not hold it.
    """
    require_readable(svc.db, svc.principal, digests)
    where = svc.locate_blobs(digests)
    absent = [d for d in digests if d not in where]
    if absent:
        raise BlobNotFoundError(
            f"blob {absent[0]} is not in the store", details={"missing": absent[:1000]}
        )
    return where


def open_blob(svc: Reader, digest: str) -> BlobBody:
    """One blob for a caller who may read it.

    Raises:
        BlobNotFoundError: the caller may not read it, or the store does not hold it.
        IntegrityError: the pack it lies in is cut short.
    """
    return _open(svc, digest, locate_readable(svc, [digest])[digest])


def open_granted(svc: Reader, digest: str) -> BlobBody:
    """One blob for the bearer of a signed grant to read it (:mod:`cairn.core.signed_urls`):
    the grant was made out after the permission check, so it decides, not a key.

    Raises:
        BlobNotFoundError: the store does not hold it.
        IntegrityError: the pack it lies in is cut short.
    """
    loc = svc.locate_blobs([digest]).get(digest)
    if loc is None:
        raise BlobNotFoundError(f"blob {digest} is not in the store")
    return _open(svc, digest, loc)


def _open(svc: Reader, digest: str, loc: BlobLocation) -> BlobBody:
    store = svc.blobs
    if loc.pack_id is not None:
        return BlobBody(loc.size, data=store.read_pack(loc.pack_id, loc.offset, loc.size))
    if isinstance(store, LocalBlobStore):
        path = store.path_for(digest)
        if not path.is_file():
            raise BlobNotFoundError(f"blob {digest} is not in the store")
        return BlobBody(loc.size, path=path)
    return BlobBody(loc.size, stream=store.open(digest))


def read_many(svc: Reader, digests: Sequence[str]) -> tuple[list[tuple[str, int]], Iterator[bytes]]:
    """Many blobs back to back, in the order asked: their (digest, size) layout and their
    bytes, neighbours in one pack read with one ranged read.

    Raises (at the call, before any byte, so a server can still answer them):
        BlobNotFoundError: the caller may not read one, or the store does not hold it.
        IntegrityError: a pack one of them lies in is gone or cut short.
    """
    where = locate_readable(svc, digests)
    layout = [(d, where[d].size) for d in digests]
    return layout, svc.iter_blob_bytes(digests, where)
