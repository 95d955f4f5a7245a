"""Packs: many small blobs in one stored object, with the index in the database.

An object store pays a round trip per object (SeaweedFS here: ~150 PUTs/s), so 20,000 files of
4 KiB stored one object each take minutes whatever the bandwidth. A store that packs (S3 by
default, see :meth:`PackPolicy.for_store`) writes blobs under ``PackPolicy.threshold`` many to
one object instead::

    <store>/packs/3f/3f9a0c51e0b44f6d8a8b2c7de6a1b0f4    blob bytes back to back, no header
    blobs table: digest → (pack_id, pack_offset, size)   where each blob lies

Above this module nothing changes: everything still names a blob by its digest.

What keeps every committed version readable, whatever crashes where:

* an incoming pack is verified blob by blob (:func:`spool`) before anything is stored; its
  object is written whole, under a random name, before any row names it, and that name is
  never written again;
* every blob row's location holds its bytes. A pack is retired only once no row points into
  it, and its object is deleted only a grace period after that (:mod:`cairn.core.gc`), so a
  reader that located a blob a moment before still finds it;
* a sparse pack is rewritten by copying its live blobs to a new pack first and then, in one
  transaction, repointing the rows that still point at the old one.

A pack holds the blobs of whoever uploaded them, and later uploads by others deduplicate
against them, so nobody is ever given a whole pack: downloads read (or are given signed URLs
for) exact ranges that hold only blobs the caller may read (:func:`plan_ranges`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cairn.core.blobs.base import CHUNK, BlobStore
from cairn.core.db import models as m
from cairn.core.db.bulk import among, bulk_insert, chunks
from cairn.core.db.locks import hold_blob_use
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    IntegrityError,
    ValidationError,
)
from cairn.layout import tmp_name
from cairn.manifest.packstream import Layout, read_exactly

MiB = 1 << 20


@dataclass(frozen=True)
class PackPolicy:
    """How a server moves and stores small blobs; announced to clients by ``GET /server``.

    ``enabled`` says whether small blobs are *stored* in packs; they *travel* in pack streams
    (uploads of many blobs per request) either way, and a store that keeps one object per blob
    (a local folder, where a file costs little) unpacks them on arrival.
    """

    enabled: bool = False
    threshold: int = 1 * MiB  # blobs smaller than this travel, and are stored, in packs
    target: int = 32 * MiB  # what a client puts in one pack stream
    max_blobs: int = 10_000  # blobs in one pack stream at most
    max_bytes: int = 256 * MiB  # bytes in one pack stream at most
    range_bytes: int = 16 * MiB  # the longest read a download plan asks for at once

    @classmethod
    def for_store(cls, store: BlobStore, enabled: bool | None = None, **tuning: Any) -> PackPolicy:
        """The policy for ``store``: packs where objects are dear (S3), unless told otherwise."""
        if enabled is None:
            enabled = bool(getattr(store, "packs_by_default", False))
        policy = cls(enabled=enabled, **tuning)
        if not 0 < policy.threshold <= policy.target <= policy.max_bytes:
            raise ValidationError(
                "pack sizes must satisfy 0 < threshold <= target <= max_bytes "
                f"(got {policy.threshold}, {policy.target}, {policy.max_bytes})"
            )
        if policy.max_blobs < 1 or policy.range_bytes < 1:
            raise ValidationError("max_blobs and range_bytes must be positive")
        return policy

    def to_wire(self) -> dict[str, Any]:
        return {
            "stored_in_packs": self.enabled,
            "threshold": self.threshold,
            "target": self.target,
            "max_blobs": self.max_blobs,
            "max_bytes": self.max_bytes,
        }


def new_pack_id() -> str:
    return uuid.uuid4().hex


# -- where blobs are ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BlobLocation:
    """Where a stored blob's bytes are: an object of its own, or a range of a pack."""

    digest: str
    size: int
    pack_id: str | None = None
    offset: int = 0


@dataclass(frozen=True)
class PackRange:
    """Bytes ``offset .. offset+length`` of one pack: the listed blobs, back to back."""

    pack_id: str
    offset: int
    blobs: tuple[tuple[str, int], ...]
    length: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "length", sum(n for _, n in self.blobs))


def locate(s: Session, digests: Sequence[str]) -> dict[str, BlobLocation]:
    """Where each of ``digests`` is stored; absent blobs (or ones being deleted) are left out."""
    out: dict[str, BlobLocation] = {}
    for chunk in chunks(list(dict.fromkeys(digests))):
        rows = s.execute(
            select(m.Blob.digest, m.Blob.size, m.Blob.pack_id, m.Blob.pack_offset).where(
                among(s, m.Blob.digest, chunk), m.Blob.deleting.is_(False)
            )
        ).all()
        for digest, size, pack_id, offset in rows:
            out[digest] = BlobLocation(digest, size, pack_id, offset or 0)
    return out


def plan_ranges(
    locations: Iterable[BlobLocation], max_bytes: int
) -> tuple[list[BlobLocation], list[PackRange]]:
    """Split locations into objects of their own and coalesced pack ranges.

    Blobs of one pack that lie exactly back to back become one range (up to ``max_bytes``, so
    big downloads still run in parallel). Ranges never span a gap: bytes between two wanted
    blobs may belong to someone else.
    """
    singles: list[BlobLocation] = []
    by_pack: dict[str, list[BlobLocation]] = {}
    for loc in {loc.digest: loc for loc in locations}.values():
        if loc.pack_id is None:
            singles.append(loc)
        else:
            by_pack.setdefault(loc.pack_id, []).append(loc)
    ranges: list[PackRange] = []
    for pack_id, locs in by_pack.items():
        locs.sort(key=lambda loc: loc.offset)
        start, end = locs[0].offset, locs[0].offset
        run: list[tuple[str, int]] = []
        for loc in locs:
            if run and (loc.offset != end or end - start + loc.size > max_bytes):
                ranges.append(PackRange(pack_id, start, tuple(run)))
                run, start = [], loc.offset
            run.append((loc.digest, loc.size))
            end = loc.offset + loc.size
        ranges.append(PackRange(pack_id, start, tuple(run)))
    return singles, ranges


def read_range(store: BlobStore, r: PackRange) -> Iterator[tuple[str, bytes]]:
    """The blobs of a pack range, each checked against its digest.

    Raises:
        DigestMismatchError: a blob's bytes in the pack hash otherwise (the pack is damaged).
        BlobNotFoundError: the pack is gone.
    """
    data = memoryview(store.read_pack(r.pack_id, r.offset, r.length))
    pos = 0
    for digest, size in r.blobs:
        blob = data[pos : pos + size]
        pos += size
        if hashlib.md5(blob).hexdigest() != digest:
            raise DigestMismatchError(
                f"pack {r.pack_id} holds damaged bytes for blob {digest}",
                details={"expected": digest, "pack": r.pack_id},
            )
        yield digest, bytes(blob)


# -- receiving a pack stream ---------------------------------------------------------------------


@dataclass(frozen=True)
class SpooledPack:
    """An incoming pack stream's blobs, verified and written back to back to a local file.

    ``layout`` and ``offsets`` are those of the blobs written (the stream's, less any skipped).
    ``md5`` is the whole file's, or "" where nothing needed it (a pack renamed into a local
    store; the pack row keeps it for audits only).
    """

    path: str
    md5: str
    size: int
    layout: tuple[tuple[str, int], ...]
    offsets: tuple[int, ...]


@contextmanager
def spool(
    stream: IO[bytes],
    layout: Layout,
    directory: str | None = None,
    *,
    skip: Collection[str] = frozenset(),
    whole_md5: bool = True,
) -> Iterator[SpooledPack]:
    """Read the blobs a pack stream's header announced into a temporary file, hashing each.

    The file is a process-unique temporary name (:mod:`cairn.layout`) in ``directory`` (a
    store's own ``tmp/``, so it can be renamed into place) or the system's temporary folder;
    it is removed when the block ends unless it was renamed away. Blobs in ``skip`` (the store
    holds them already) are hashed but not written. ``whole_md5``: also hash the file as a
    whole (``SpooledPack.md5``, else ""), for a store that is sent it and checks it. All or
    nothing: one blob that does not hash to its digest rejects the whole pack.

    Raises:
        DigestMismatchError: one or more blobs hash otherwise (``details["mismatched"]``).
        ValidationError: the stream ends before the last blob, or goes on after it.
    """
    path = os.path.join(directory or tempfile.gettempdir(), tmp_name(".pack"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        whole = hashlib.md5() if whole_md5 else None
        bad: list[str] = []
        offsets: list[int] = []
        kept: list[tuple[str, int]] = []
        pos = 0
        with open(fd, "wb") as out:
            for digest, size in layout:
                h = hashlib.md5()
                keep = digest not in skip
                left = size
                while left > 0:
                    chunk = read_exactly(stream, min(left, CHUNK))
                    if not chunk:
                        raise ValidationError(
                            f"the pack stream ended inside blob {digest}: "
                            f"{size - left} of its {size} bytes arrived"
                        )
                    h.update(chunk)
                    if keep:
                        if whole is not None:
                            whole.update(chunk)
                        out.write(chunk)
                    left -= len(chunk)
                if h.hexdigest() != digest:
                    bad.append(digest)
                if keep:
                    kept.append((digest, size))
                    offsets.append(pos)
                    pos += size
        if stream.read(1):
            raise ValidationError("the pack stream goes on after its last announced blob")
        if bad:
            shown = ", ".join(bad[:3]) + (" …" if len(bad) > 3 else "")
            raise DigestMismatchError(
                f"{len(bad)} of the {len(layout)} blobs in this pack do not hash to their "
                f"digests ({shown}); the whole pack was refused and nothing from it was stored",
                details={"mismatched": bad[:1000]},
            )
        md5 = whole.hexdigest() if whole is not None else ""
        yield SpooledPack(path, md5, pos, tuple(kept), tuple(offsets))
    finally:
        if os.path.lexists(path):
            os.unlink(path)


def register(s: Session, pack_id: str, pack: SpooledPack) -> int:
    """Record a stored pack and point the rows of its blobs at it; returns how many now do.

    A blob that already has a live row stays where it is (this pack's copy is dead weight that
    GC reclaims); one GC has marked keeps its bytes where they are and loses the mark; one GC
    was deleting moves to this pack's copy. Runs in the caller's write transaction.
    """
    hold_blob_use(s)
    now = m.utcnow()
    row = m.Pack(id=pack_id, size=pack.size, md5=pack.md5, blob_count=len(pack.layout))
    s.add(row)
    s.flush()
    at = dict(zip((d for d, _ in pack.layout), pack.offsets, strict=True))
    sizes = dict(pack.layout)
    known: dict[str, bool] = {}  # digest → its row is being deleted
    digests = list(at)
    for chunk in chunks(digests):
        for digest, deleting in s.execute(
            select(m.Blob.digest, m.Blob.deleting).where(among(s, m.Blob.digest, chunk))
        ).all():
            known[digest] = bool(deleting)
    revived = [d for d, deleting in known.items() if deleting]
    kept = [d for d, deleting in known.items() if not deleting]
    for d in revived:
        s.execute(
            update(m.Blob)
            .where(m.Blob.digest == d)
            .values(
                pack_id=pack_id,
                pack_offset=at[d],
                size=sizes[d],
                deleting=False,
                condemned_at=None,
            )
        )
    for chunk in chunks(kept):
        s.execute(
            update(m.Blob)
            .where(among(s, m.Blob.digest, chunk), m.Blob.condemned_at.is_not(None))
            .values(condemned_at=None)
        )
    fresh = [
        {"digest": d, "size": sizes[d], "pack_id": pack_id, "pack_offset": at[d], "created_at": now}
        for d in digests
        if d not in known
    ]
    bulk_insert(s, m.Blob, fresh)
    live = len(fresh) + len(revived)
    if live == 0:
        row.retired_at = now  # every blob was already stored: nothing points here
    return live


# -- before answering with pack bytes ------------------------------------------------------------


def check_reach(store: BlobStore, where: Iterable[BlobLocation]) -> None:
    """Check that every pack these blobs lie in still reaches as far as the index says.

    A response streams blob bytes after its status line: a pack found damaged half-way could
    only break the connection, which a client cannot tell from a network fault. One byte read
    at the end of each pack's needed range (a ``stat``-like cost) lets the damage be answered
    as what it is, before the first byte goes out. Flipped bytes are for the reader's hash.

    Raises:
        IntegrityError: a pack is gone or shorter than its index says (``details["mismatched"]``
            names the blobs that cannot be read).
    """
    ends: dict[str, int] = {}
    held: dict[str, list[str]] = {}
    for loc in where:
        if loc.pack_id is not None and loc.size > 0:
            ends[loc.pack_id] = max(ends.get(loc.pack_id, 0), loc.offset + loc.size)
            held.setdefault(loc.pack_id, []).append(loc.digest)
    for pack_id, end in ends.items():
        try:
            store.read_pack(pack_id, end - 1, 1)
        except (BlobNotFoundError, IntegrityError) as exc:
            raise IntegrityError(
                f"the server's store is damaged: pack {pack_id} "
                f"{'is gone' if isinstance(exc, BlobNotFoundError) else 'is cut short'}, so "
                f"{len(held[pack_id])} blob(s) in it cannot be read",
                details={"pack": pack_id, "mismatched": held[pack_id][:1000]},
            ) from exc
