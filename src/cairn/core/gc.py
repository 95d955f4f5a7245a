"""Reclaiming storage: blobs no version uses any more, and the dead space inside packs.

A blob is *referenced* while a version that is not deleted lists it (a ``version_files`` row,
committed or upserted into a pending version) or is its manifest. GC takes the others in steps
a grace period apart, so it never takes bytes that a client is about to commit:

1. **condemn**: unreferenced blobs admitted more than ``grace`` ago get ``condemned_at``. From
   then on clients are told they are missing (so they send them again); whatever starts to
   use one — a commit, an upsert, a new upload — clears the mark, under the row's lock.
2. **delete**, in a run at least ``grace`` later, blobs still condemned and unreferenced:

   * packed ones lose their row (their bytes stay in the pack until step 3 rewrites it);
   * objects of their own are first marked ``deleting`` — from then on they count as absent
     everywhere — and then, a batch at a time, the objects are removed and after them the
     rows. A crash in between leaves ``deleting`` rows, which the next run finishes; an upload
     of the same blob meanwhile waits for the lock and then finds out whether the object is
     still there (``Service._admit``).
3. **repack**: a pack whose live bytes fall under ``repack_below`` of its size has its live
   blobs copied (each verified) into new packs, and their rows repointed in one transaction.
   A pack that no row points into any more is *retired*.
4. **drop packs** retired more than ``grace`` ago — a reader that located a blob in one just
   before retirement has had that long to read it — and pack objects that no row knows (an
   upload or rewrite that crashed before registering its pack), once they are old enough.
5. **sweep temporaries**: files a killed writer left in the store's ``tmp/`` (or, for a store
   that is sent files, pack spools in the system's temporary folder), once they are as old as
   orphaned packs must be (:func:`sweep_temporaries`; a starting server sweeps too). A live
   writer's file is younger than that: no write takes an hour between create and rename.

Steps 1 and 2 hold the blob-use lock exclusively (:mod:`cairn.core.db.locks`), so no commit,
upsert or upload is in flight while GC decides what is unreferenced or removes an object.
Every step keeps the invariant of :mod:`cairn.core.packs`: each row's location holds its
bytes. So a crash anywhere leaves every committed version readable.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select, update
from sqlalchemy.orm import Session

from cairn import events, layout
from cairn.core import packs
from cairn.core.blobs.base import BlobStore, LocalSpool
from cairn.core.db import models as m
from cairn.core.db.bulk import among, chunks
from cairn.core.db.engine import Database
from cairn.core.db.locks import hold_blob_use
from cairn.core.packs import BlobLocation, PackPolicy, SpooledPack
from cairn.errors import StorageError, ValidationError
from cairn.records import DELETED, StorageReport

BATCH = 1000
# Objects removed per transaction: commits wait for the lock meanwhile, so keep it short.
OBJECT_BATCH = 100


def _unreferenced() -> ColumnElement[bool]:
    used_by_file = exists().where(m.VersionFile.blob == m.Blob.digest)
    is_manifest = exists().where(
        m.Version.manifest_digest == m.Blob.digest, m.Version.state != DELETED
    )
    return ~used_by_file & ~is_manifest


class Reclaimer:
    """One GC pass over a database and its blob store (see the module docstring)."""

    def __init__(self, db: Database, store: BlobStore, policy: PackPolicy) -> None:
        self.db = db
        self.store = store
        self.policy = policy

    def run(
        self,
        *,
        grace: timedelta,
        repack_below: float = 0.5,
        orphans_older_than: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> StorageReport:
        """Condemn, delete, repack and drop, as the module docstring says.

        Raises:
            ValidationError: a negative grace or age, or ``repack_below`` outside 0..1.
            StorageError: the store failed (what was done before stays done and consistent).
        """
        if grace < timedelta(0) or orphans_older_than < timedelta(0):
            raise ValidationError("grace periods must not be negative")
        if not 0.0 <= repack_below <= 1.0:
            raise ValidationError("repack_below is a fraction between 0 and 1")
        now = now or m.utcnow()
        cutoff = now - grace
        report: dict[str, int] = dict.fromkeys(StorageReport.__dataclass_fields__, 0)
        report["condemned"] = self._condemn(now, cutoff)
        self._delete(cutoff, report)
        self._repack(repack_below, now, report)
        self._drop_packs(cutoff, now - orphans_older_than, report)
        report["temporaries_deleted"] = sweep_temporaries(self.store, orphans_older_than)
        events.emit(events.GC_RUNS)
        events.emit(events.GC_BLOBS_DELETED, report["blobs_deleted"])
        return StorageReport(**report)

    # -- 1. condemn ----------------------------------------------------------------------------
    def _condemn(self, now: datetime, cutoff: datetime) -> int:
        with self.db.write() as s:
            hold_blob_use(s, exclusive=True)
            result: Any = s.execute(
                update(m.Blob)
                .where(
                    m.Blob.condemned_at.is_(None),
                    m.Blob.deleting.is_(False),
                    m.Blob.created_at <= cutoff,
                    _unreferenced(),
                )
                .values(condemned_at=now)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)

    # -- 2. delete -----------------------------------------------------------------------------
    def _delete(self, cutoff: datetime, report: dict[str, int]) -> None:
        while True:
            with self.db.write() as s:
                hold_blob_use(s, exclusive=True)
                rows = s.execute(
                    select(m.Blob.digest, m.Blob.pack_id)
                    .where(
                        m.Blob.condemned_at <= cutoff,
                        m.Blob.deleting.is_(False),
                        _unreferenced(),
                    )
                    .limit(BATCH)
                ).all()
                if not rows:
                    break
                packed = [d for d, pack_id in rows if pack_id is not None]
                own = [d for d, pack_id in rows if pack_id is None]
                if packed:
                    s.execute(delete(m.Blob).where(among(s, m.Blob.digest, packed)))
                if own:
                    s.execute(
                        update(m.Blob).where(among(s, m.Blob.digest, own)).values(deleting=True)
                    )
                report["blobs_deleted"] += len(rows)
        self._finish_deleting(report)

    def _finish_deleting(self, report: dict[str, int]) -> None:
        """Remove the objects of ``deleting`` rows, then the rows (also after a crash)."""
        while True:
            with self.db.write() as s:
                hold_blob_use(s, exclusive=True)  # no upload finds an object going: _admit
                rows = s.execute(
                    select(m.Blob.digest, m.Blob.size)
                    .where(m.Blob.deleting.is_(True), m.Blob.pack_id.is_(None))
                    .limit(OBJECT_BATCH)
                ).all()
                if not rows:
                    return
                for digest, _ in rows:
                    self.store.delete(digest)
                s.execute(
                    delete(m.Blob).where(
                        among(s, m.Blob.digest, [d for d, _ in rows]), m.Blob.deleting.is_(True)
                    )
                )
                report["objects_deleted"] += len(rows)
                report["bytes_freed"] += sum(int(n) for _, n in rows)

    # -- 3. repack -----------------------------------------------------------------------------
    def _repack(self, below: float, now: datetime, report: dict[str, int]) -> None:
        live = (m.Blob.condemned_at.is_(None)) & (m.Blob.deleting.is_(False))
        with self.db.read() as s:
            stats = s.execute(
                select(
                    m.Pack.id,
                    m.Pack.size,
                    func.count(m.Blob.digest),
                    func.coalesce(func.sum(m.Blob.size).filter(live), 0),
                )
                .outerjoin(m.Blob, m.Blob.pack_id == m.Pack.id)
                .where(m.Pack.retired_at.is_(None))
                .group_by(m.Pack.id, m.Pack.size)
            ).all()
        empty = [pid for pid, _, rows, _ in stats if rows == 0]
        sparse = [
            pid
            for pid, size, rows, live_bytes in stats
            if rows > 0 and live_bytes > 0 and live_bytes < below * size
        ]
        if empty:
            with self.db.write() as s:
                self._retire_if_empty(s, empty, now)
        if not sparse:
            return
        with self.db.read() as s:
            moving = [
                BlobLocation(d, n, p, o or 0)
                for d, n, p, o in s.execute(
                    select(m.Blob.digest, m.Blob.size, m.Blob.pack_id, m.Blob.pack_offset)
                    .where(among(s, m.Blob.pack_id, sparse), live)
                    .order_by(m.Blob.pack_id, m.Blob.pack_offset)
                ).all()
            ]
        group: list[BlobLocation] = []
        for loc in moving:
            if group and sum(g.size for g in group) + loc.size > self.policy.target:
                self._rewrite(group, report)
                group = []
            group.append(loc)
        if group:
            self._rewrite(group, report)
        with self.db.write() as s:
            self._retire_if_empty(s, sparse, now)
        report["packs_rewritten"] += len(sparse)

    def _rewrite(self, locs: list[BlobLocation], report: dict[str, int]) -> None:
        """Copy these packed blobs into one new pack and repoint the rows still at the old."""
        _, ranges = packs.plan_ranges(locs, self.policy.range_bytes)
        local = self.store if isinstance(self.store, LocalSpool) else None
        # Spooled where a local store renames it from; every blob is verified as it is read,
        # so only a store that is sent the file needs the whole pack's MD5.
        folder = str(local.tmp_dir()) if local is not None else tempfile.gettempdir()
        path = os.path.join(folder, layout.tmp_name(".repack"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            whole = hashlib.md5() if local is None else None
            blobs: list[tuple[str, int]] = []
            offsets: list[int] = []
            old: dict[str, str] = {}
            pos = 0
            with open(fd, "wb") as out:
                for r in ranges:
                    for digest, data in packs.read_range(self.store, r):  # each blob verified
                        out.write(data)
                        if whole is not None:
                            whole.update(data)
                        blobs.append((digest, len(data)))
                        offsets.append(pos)
                        old[digest] = r.pack_id
                        pos += len(data)
            pack_id = packs.new_pack_id()
            md5 = whole.hexdigest() if whole is not None else ""
            if local is not None:
                local.adopt_pack(pack_id, Path(path))
            else:
                self.store.put_pack(pack_id, path, md5)
            spooled = SpooledPack(path, md5, pos, tuple(blobs), tuple(offsets))
            with self.db.write() as s:
                s.add(m.Pack(id=pack_id, size=pos, md5=spooled.md5, blob_count=len(blobs)))
                s.flush()
                moved = 0
                for (digest, _), offset in zip(blobs, offsets, strict=True):
                    result: Any = s.execute(
                        update(m.Blob)
                        .where(m.Blob.digest == digest, m.Blob.pack_id == old[digest])
                        .values(pack_id=pack_id, pack_offset=offset)
                    )
                    moved += int(result.rowcount or 0)
                if moved == 0:  # every blob went elsewhere meanwhile: nothing uses this pack
                    s.get_one(m.Pack, pack_id).retired_at = m.utcnow()
            report["bytes_rewritten"] += pos
        finally:
            if os.path.lexists(path):
                os.unlink(path)

    @staticmethod
    def _retire_if_empty(s: Session, pack_ids: list[str], now: datetime) -> None:
        for pack_id in pack_ids:
            pack = s.get(m.Pack, pack_id, with_for_update=True)
            if pack is None or pack.retired_at is not None:
                continue
            pointing = s.scalar(
                select(func.count()).select_from(m.Blob).where(m.Blob.pack_id == pack_id)
            )
            if not pointing:
                pack.retired_at = now

    # -- 4. drop packs -------------------------------------------------------------------------
    def _drop_packs(
        self, retired_before: datetime, orphaned_before: datetime, report: dict[str, int]
    ) -> None:
        with self.db.read() as s:
            retired = s.execute(
                select(m.Pack.id, m.Pack.size).where(m.Pack.retired_at <= retired_before)
            ).all()
        for pack_id, size in retired:
            with self.db.write() as s:
                pack = s.get(m.Pack, pack_id, with_for_update=True)
                if pack is None:
                    continue
                still = s.scalar(
                    select(func.count()).select_from(m.Blob).where(m.Blob.pack_id == pack_id)
                )
                if still:  # cannot happen while the invariant holds; never break it here
                    raise StorageError(
                        f"retired pack {pack_id} still holds {still} blob(s); not deleted"
                    )
                self.store.delete_pack(pack_id)  # object first: a crash leaves a row to retry
                s.delete(pack)
            report["packs_deleted"] += 1
            report["bytes_freed"] += int(size)
        self._drop_orphans(orphaned_before.timestamp(), report)

    def _drop_orphans(self, before: float, report: dict[str, int]) -> None:
        old = [pid for pid, t in self.store.iter_packs() if t <= before]
        known: set[str] = set()
        with self.db.read() as s:
            for chunk in chunks(old):
                known.update(s.scalars(select(m.Pack.id).where(m.Pack.id.in_(chunk))))
        for pack_id in old:
            if pack_id not in known:
                self.store.delete_pack(pack_id)
                report["packs_deleted"] += 1


TMP_GRACE = timedelta(seconds=layout.DEFAULT_TMP_GRACE_SECONDS)


def sweep_temporaries(store: BlobStore, older_than: timedelta = TMP_GRACE) -> int:
    """Remove temporary files killed writers left: in a local store's ``tmp/``, and pack
    spools in the system's temporary folder (where ingest spools for a store it sends files
    to, such as S3). Returns how many went.

    Only files named by :func:`cairn.layout.tmp_name` and not modified for ``older_than`` are
    touched: a live writer's file is younger, and other programs' files have other names.

    Raises:
        ValidationError: a negative age.
    """
    if older_than < timedelta(0):
        raise ValidationError("grace periods must not be negative")
    seconds = older_than.total_seconds()
    removed = 0
    if isinstance(store, LocalSpool):
        removed += store.sweep_tmp(seconds)
    else:
        removed += layout.sweep_temporaries(tempfile.gettempdir(), seconds)
    return removed
