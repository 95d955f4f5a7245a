"""Which blobs the store holds and where: admitting uploads, reading blobs back.

The half of the core service that deals in bytes rather than versions. Every method names
blobs by digest only; whether one is an object of its own or a range of a pack
(:mod:`cairn.core.packs`) is decided here and nowhere above. What GC may take and when is in
:mod:`cairn.core.gc`; the lock both sides hold is :mod:`cairn.core.db.locks`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cairn import events
from cairn.core import packs, possession
from cairn.core.access import Principal
from cairn.core.blobs.base import CHUNK, BlobStore
from cairn.core.db import models as m
from cairn.core.db.bulk import among
from cairn.core.db.bulk import bulk_insert as _bulk_insert
from cairn.core.db.bulk import chunks as _chunks
from cairn.core.db.engine import Database
from cairn.core.db.locks import hold_blob_use
from cairn.core.packs import BlobLocation, PackPolicy
from cairn.core.transfer import ingest
from cairn.errors import BlobNotFoundError, ConflictError, ValidationError
from cairn.manifest.digest import is_hex_md5

T = TypeVar("T")


class Storage:
    """Blobs in a store, as the database knows them (a base of the core service)."""

    db: Database
    blobs: BlobStore
    packs: PackPolicy
    principal: Principal

    def _write(self, fn: Callable[[Session], T], attempts: int = 4) -> T:
        """Run ``fn`` in a write transaction, again if a concurrent writer created the same row.

        Two replicas creating the same entity, project or collection at once: one insert wins
        and the other violates a unique constraint; its retry then finds the row.
        """
        for attempt in range(attempts):
            try:
                with self.db.write() as s:
                    return fn(s)
            except sa_exc.IntegrityError:
                if attempt == attempts - 1:
                    raise ConflictError("a concurrent change conflicted; try again") from None
        raise AssertionError("unreachable")

    def missing_blobs(self, digests: Iterable[str]) -> list[str]:
        """Which of these hex digests the caller must upload (answered from the database).

        Missing is what the store does not hold *or* the caller does not hold
        (:mod:`cairn.core.possession`): a blob of another team's private project is missing to
        this caller exactly like one nobody has. A blob GC has marked counts as missing, so the
        client sends it again instead of committing a version that GC might take the bytes from.

        Raises:
            ValidationError: a digest is not a hex MD5.
        """
        wanted = list(dict.fromkeys(digests))
        bad = next((d for d in wanted if not is_hex_md5(d)), None)
        if bad is not None:
            raise ValidationError(f"{bad!r} is not a hex MD5 digest")
        present: set[str] = set()
        with self.db.read() as s:
            for chunk in _chunks(wanted):
                present.update(
                    s.scalars(
                        select(m.Blob.digest).where(
                            among(s, m.Blob.digest, chunk),
                            m.Blob.condemned_at.is_(None),
                            m.Blob.deleting.is_(False),
                        )
                    )
                )
            # Asked for every digest, stored or not: the answer's timing must not tell them
            # apart.
            mine = possession.held(s, self.principal, wanted)
        return [d for d in wanted if d not in present or d not in mine]

    def readable_blobs(self, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` the caller may download: those a version it may read holds."""
        with self.db.read() as s:
            return possession.readable(s, self.principal, digests)

    def stored_blobs(self, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` have a row that is not being deleted (their bytes are stored).

        Whoever holds them: for deciding whether an upload's bytes need storing, never for an
        answer to a caller (that is :meth:`missing_blobs`).
        """
        with self.db.read() as s:
            return set(packs.locate(s, digests))

    def record_blobs(self, blobs: Iterable[tuple[str, int]]) -> None:
        """Admit blobs the store now holds as objects of their own (their bytes were verified
        on the caller's upload), and record that the caller holds them.

        Raises:
            BlobNotFoundError: a blob is not in the store after all (GC removed it while it was
                being uploaded again); nothing is admitted, and sending it again will do.
        """
        items = list(dict(blobs).items())
        if items:

            def admit(s: Session) -> list[tuple[str, int]]:
                new = self._admit(s, items)
                possession.record(s, self.principal, (d for d, _ in items))
                return new

            # Two clients uploading the same blob at once race to admit it; the retry sees it.
            new = self._write(admit)
            # Counted once committed, so a retried transaction is not counted twice.
            if new:
                events.emit(events.BLOBS_STORED, len(new))
                events.emit(events.BLOB_BYTES_STORED, sum(n for _, n in new))

    def _admit(self, s: Session, items: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """Admit uploaded objects in the write transaction ``s``; return those that were not
        stored before (new rows, or rows GC was deleting).

        GC removes objects only while it holds the blob-use lock exclusively (mark the row
        ``deleting``, remove the object, then the row), so an object found here, under that
        lock, stays.
        """
        hold_blob_use(s)
        rows: dict[str, tuple[bool, bool]] = {}  # digest → (condemned, deleting)
        for chunk in _chunks([d for d, _ in items]):
            for digest, condemned_at, deleting in s.execute(
                select(m.Blob.digest, m.Blob.condemned_at, m.Blob.deleting).where(
                    among(s, m.Blob.digest, chunk)
                )
            ).all():
                rows[digest] = (condemned_at is not None, bool(deleting))
        fresh = [(d, n) for d, n in items if d not in rows]
        revived = [(d, n) for d, n in items if d in rows and rows[d][1]]
        unmarked = [d for d, (condemned, deleting) in rows.items() if condemned and not deleting]
        check = [d for d, _ in fresh] + [d for d, _ in revived]
        if check:
            absent = set(check) - self.blobs.has_many(check)
            if absent:
                shown = ", ".join(sorted(absent)[:5])
                raise BlobNotFoundError(
                    f"{len(absent)} blob(s) are not in the store ({shown}): they were not "
                    "uploaded, or GC removed them while they were being uploaded again; "
                    "upload them again",
                    details={"missing": sorted(absent)[:1000]},
                )
        now = m.utcnow()
        _bulk_insert(s, m.Blob, ({"digest": d, "size": n, "created_at": now} for d, n in fresh))
        for d, n in revived:
            s.execute(
                update(m.Blob)
                .where(m.Blob.digest == d)
                .values(size=n, pack_id=None, pack_offset=None, deleting=False, condemned_at=None)
            )
        for chunk in _chunks(unmarked):
            s.execute(
                update(m.Blob).where(among(s, m.Blob.digest, chunk)).values(condemned_at=None)
            )
        return fresh + revived

    def store_blob_stream(self, digest: str, stream: Any, size: int | None = None) -> int:
        """Verify one blob from a stream, store it unless the store holds it already, admit it,
        and record that the caller holds it (:func:`cairn.core.transfer.ingest.blob_stream`).

        Raises:
            DigestMismatchError: the bytes hash otherwise, or are not ``size`` long.
        """
        return ingest.blob_stream(self, digest, stream, size)

    def store_pack_stream(self, stream: IO[bytes]) -> dict[str, Any]:
        """Verify and store every blob of a pack stream
        (:func:`cairn.core.transfer.ingest.pack_stream`).

        Raises:
            ValidationError: a malformed, oversized or truncated stream.
            DigestMismatchError: a blob hashes otherwise; nothing was stored.
        """
        return ingest.pack_stream(self, stream)

    # -- reading blobs (wherever they lie) -----------------------------------------------------
    def locate_blobs(self, digests: Sequence[str]) -> dict[str, BlobLocation]:
        """Where each stored blob lies (absent ones are left out)."""
        with self.db.read() as s:
            return packs.locate(s, digests)

    def open_blob(self, digest: str) -> IO[bytes]:
        """A blob's bytes as a stream, from its own object or its pack.

        Raises:
            BlobNotFoundError: the store does not hold it.
        """
        loc = self.locate_blobs([digest]).get(digest)
        if loc is None or loc.pack_id is None:
            return self.blobs.open(digest)
        return io.BytesIO(self.blobs.read_pack(loc.pack_id, loc.offset, loc.size))

    def blob_to_file(self, digest: str, dest: str, where: BlobLocation | None = None) -> None:
        """Write a blob to ``dest`` (a fresh temporary path the caller verifies and renames).

        ``where`` is its location if the caller looked it up already (for many blobs at once).

        Raises:
            BlobNotFoundError: the store does not hold it.
        """
        loc = where or self.locate_blobs([digest]).get(digest)
        if loc is None or loc.pack_id is None:
            self.blobs.get_file(digest, dest)
            return
        data = self.blobs.read_pack(loc.pack_id, loc.offset, loc.size)
        with open(dest, "wb") as f:
            f.write(data)

    def iter_blob_bytes(
        self, digests: Sequence[str], where: dict[str, BlobLocation] | None = None
    ) -> Iterator[bytes]:
        """The bytes of ``digests`` back to back, in order, read a few large pieces at a time:
        neighbours in one pack with one ranged read, other objects streamed.

        ``where`` is what :meth:`locate_blobs` answered, if the caller asked already.

        Raises (at the call, before anything is yielded, so a server can still answer them):
            BlobNotFoundError: one of them is not stored.
            IntegrityError: a pack one of them lies in is gone or cut short.
        """
        where = where if where is not None else self.locate_blobs(digests)
        absent = [d for d in digests if d not in where]
        if absent:
            raise BlobNotFoundError(
                f"blob {absent[0]} is not in the store", details={"missing": absent[:1000]}
            )
        packs.check_reach(self.blobs, (where[d] for d in digests))
        return self._blob_bytes(digests, where)

    def _blob_bytes(
        self, digests: Sequence[str], where: dict[str, BlobLocation]
    ) -> Iterator[bytes]:
        i = 0
        while i < len(digests):
            loc = where[digests[i]]
            if loc.pack_id is None:
                with self.blobs.open(loc.digest) as f:
                    while chunk := f.read(CHUNK):
                        yield chunk
                i += 1
                continue
            # The longest run of blobs that lie back to back in this pack, in this order.
            j, end = i + 1, loc.offset + loc.size
            while j < len(digests):
                nxt = where[digests[j]]
                if nxt.pack_id != loc.pack_id or nxt.offset != end:
                    break
                if end - loc.offset + nxt.size > self.packs.range_bytes:
                    break
                end += nxt.size
                j += 1
            yield self.blobs.read_pack(loc.pack_id, loc.offset, end - loc.offset)
            i = j
