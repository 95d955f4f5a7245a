"""The embedded backend: the core service in-process, on SQLite and a local blob folder.

Layout of ``CAIRN_DIR``::

    cairn.db            SQLite (WAL) — entities, projects, collections, versions, runs
    cairn.db.lock       held only while migrating
    blobs/objects/md5/  the blob store: blobs of 1 MiB and more, one file each (cairn.core.blobs)
    blobs/packs/        smaller blobs, many to a file (cairn.core.packs)
"""

from __future__ import annotations

import getpass
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cairn.backend import packing
from cairn.backend.base import BlobDownload, BlobUpload, Progress
from cairn.concurrency import map_by_size
from cairn.core import diff, history, lineage
from cairn.core.access import Principal
from cairn.core.blobs.local import LocalBlobStore
from cairn.core.db.engine import Database, ensure_migrated
from cairn.core.run_data import RunData
from cairn.core.service import Service
from cairn.errors import DigestMismatchError
from cairn.manifest.hashcopy import write_bytes_verified, write_verified
from cairn.records import DiffEntry, DiffSummary, HistoryEvent, LineageRecord, RunRecord, RunUpdate


def local_user_entity() -> str:
    """The embedded store's default entity: the OS user name, made a valid name."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers); any name will do
        user = ""
    user = re.sub(r"[^A-Za-z0-9_.-]", "-", user)[:128].strip(".")
    return user or "local"


class LocalBackend(Service):
    """The core service itself, plus the transfers the SDK asks a backend for."""

    def __init__(self, data_dir: Path, *, workers: int = 8) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(f"sqlite:///{data_dir / 'cairn.db'}")
        ensure_migrated(db, data_dir / "cairn.db.lock")
        # The store's one user, named as the OS knows them: what the history records as actor.
        who = Principal(name=local_user_entity(), is_superuser=True)
        super().__init__(db, LocalBlobStore(data_dir / "blobs"), who)
        self.workers = workers

    def default_entity(self) -> str:
        return local_user_entity()

    def upload_blobs(self, blobs: Sequence[BlobUpload], progress: Progress | None = None) -> None:
        if self.packs.enabled:
            small = [b for b in blobs if b.size < self.packs.threshold]
            self._store_packs(small, progress)
            blobs = [b for b in blobs if b.size >= self.packs.threshold]

        def put(b: BlobUpload) -> tuple[str, int]:
            size = self.blobs.put_file(b.digest, b.path, trusted=b.trusted)
            if progress is not None:
                progress(size)
            return b.digest, size

        self.record_blobs(map_by_size(put, blobs, lambda b: b.size, self.workers))

    def _store_packs(self, blobs: Sequence[BlobUpload], progress: Progress | None) -> None:
        """Small blobs as packs of about the policy's target size, through the same verified
        path a server's pack streams take (every blob hashed; one bad blob stores nothing)."""
        policy = self.packs
        for group in packing.group(
            blobs, lambda b: b.size, target=policy.target, max_items=policy.max_blobs
        ):
            chunks, length = packing.pack_body(group)
            stream = io.BufferedReader(packing.ChunkReader(iter(chunks)))
            try:
                self.store_pack_stream(stream)
            except DigestMismatchError as exc:
                raise packing.name_changed_files(exc, group) from None
            if progress is not None:
                progress(length)

    def fetch_blobs(
        self, blobs: Sequence[BlobDownload], progress: Progress | None = None
    ) -> set[str]:
        where = self.locate_blobs([b.digest for b in blobs])

        def get(b: BlobDownload) -> None:
            loc = where.get(b.digest)
            if loc is not None and loc.pack_id is not None:
                write_bytes_verified(
                    self.blobs.read_pack(loc.pack_id, loc.offset, loc.size), b.dest, b.digest
                )
                if progress is not None:
                    progress(loc.size)
                return
            with self.blobs.open(b.digest) as f:  # hashed as it is copied: never read back
                write_verified(f, b.dest, b.digest, progress)

        map_by_size(get, blobs, lambda b: b.size, self.workers)
        return {b.digest for b in blobs}

    # -- what a run records: the rules are cairn.core.run_data's ----------------------------
    def update_run(self, entity: str, project: str, run_id: str, change: RunUpdate) -> int:
        return RunData(self).update(entity, project, run_id, change)

    def run_history(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        min_step: int = 0,
        max_step: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        return RunData(self).history(
            entity, project, run_id, min_step=min_step, max_step=max_step, limit=limit
        )

    def list_runs(
        self,
        entity: str,
        project: str,
        *,
        filters: dict[str, Any] | None = None,
        newest_first: bool = True,
        after: int | None = None,
        limit: int = 50,
    ) -> tuple[list[RunRecord], int | None]:
        return RunData(self).list_runs(
            entity, project, filters=filters, newest_first=newest_first, after=after, limit=limit
        )

    # -- lineage, history and diffs (the core modules, in-process) ---------------------------
    def version_lineage(self, version_id: str, *, direction: str, depth: int) -> LineageRecord:
        return lineage.of_version(self, version_id, direction=direction, depth=depth)

    def run_lineage(
        self, entity: str, project: str, run_id: str, *, direction: str, depth: int
    ) -> LineageRecord:
        return lineage.of_run(self, entity, project, run_id, direction=direction, depth=depth)

    def version_history(
        self, version_id: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        return history.of_version(self, version_id, after=after, limit=limit)

    def collection_history(
        self, entity: str, project: str, collection: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        return history.of_collection(self, entity, project, collection, after=after, limit=limit)

    def diff_summary(self, a: str, b: str) -> DiffSummary:
        return diff.summary(self, a, b)

    def diff_entries(
        self, a: str, b: str, *, after: str | None, limit: int
    ) -> tuple[list[DiffEntry], str | None]:
        return diff.entries(self, a, b, after=after, limit=limit)

    def close(self) -> None:
        self.db.dispose()
