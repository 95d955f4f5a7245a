"""The embedded backend: the core service in-process, on SQLite and a local blob folder.

Layout of ``CAIRN_DIR``::

    cairn.db            SQLite (WAL) — entities, projects, collections, versions, runs
    cairn.db.lock       held only while migrating
    blobs/objects/md5/  the blob store: blobs of 1 MiB and more, one file each (cairn.core.blobs)
    blobs/packs/        smaller blobs, many to a file (cairn.core.packs)
    blobs/tmp/          writes in progress (swept by ``cairn gc`` once stale: cairn.layout)

The backend *holds* a :class:`~cairn.core.service.Service` and hands each call to it. Bytes go
in through :func:`cairn.core.transfer.ingest.local_files`: this process hashed them when they
were added, so they are written (packs spooled in the store's ``tmp/`` and renamed) without
being hashed again; there is no second side to verify for.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from cairn.backend.base import BlobDownload, BlobUpload, Progress
from cairn.concurrency import map_by_size
from cairn.core import diff, history, lineage
from cairn.core.access import Principal
from cairn.core.blobs.local import LocalBlobStore
from cairn.core.db.engine import Database, ensure_migrated
from cairn.core.run_data import RunData
from cairn.core.service import Service
from cairn.core.transfer import ingest
from cairn.manifest import Manifest
from cairn.manifest.hashcopy import write_bytes_verified, write_verified
from cairn.records import (
    CollectionRecord,
    DiffEntry,
    DiffSummary,
    HistoryEvent,
    LineageRecord,
    RegistryRecord,
    RunRecord,
    RunUpdate,
    StorageReport,
    TypeRecord,
    VersionRecord,
    VersionSpec,
    VersionUpdate,
)


def local_user_entity() -> str:
    """The embedded store's default entity: the OS user name, made a valid name."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers); any name will do
        user = ""
    user = re.sub(r"[^A-Za-z0-9_.-]", "-", user)[:128].strip(".")
    return user or "local"


class LocalBackend:
    """The core service in this process, plus the transfers the SDK asks a backend for."""

    def __init__(self, data_dir: Path, *, workers: int = 8) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(f"sqlite:///{data_dir / 'cairn.db'}")
        ensure_migrated(db, data_dir / "cairn.db.lock")
        # The store's one user, named as the OS knows them: what the history records as actor.
        who = Principal(name=local_user_entity(), is_superuser=True)
        self.service = Service(db, LocalBlobStore(data_dir / "blobs"), who)
        self.workers = workers

    def default_entity(self) -> str:
        return local_user_entity()

    # -- bytes in and out ----------------------------------------------------------------------
    def upload_blobs(self, blobs: Sequence[BlobUpload], progress: Progress | None = None) -> None:
        ingest.local_files(self.service, blobs, workers=self.workers, progress=progress)

    def fetch_blobs(
        self, blobs: Sequence[BlobDownload], progress: Progress | None = None
    ) -> set[str]:
        svc = self.service
        where = svc.locate_blobs([b.digest for b in blobs])

        def get(b: BlobDownload) -> None:
            loc = where.get(b.digest)
            if loc is not None and loc.pack_id is not None:
                write_bytes_verified(
                    svc.blobs.read_pack(loc.pack_id, loc.offset, loc.size), b.dest, b.digest
                )
                if progress is not None:
                    progress(loc.size)
                return
            with svc.blobs.open(b.digest) as f:  # hashed as it is copied: never read back
                write_verified(f, b.dest, b.digest, progress)

        map_by_size(get, blobs, lambda b: b.size, self.workers)
        return {b.digest for b in blobs}

    # -- the core service's own calls ----------------------------------------------------------
    def create_run(
        self,
        entity: str,
        project: str,
        *,
        run_id: str | None = None,
        name: str | None = None,
        job_type: str | None = None,
        group: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> RunRecord:
        return self.service.create_run(
            entity, project, run_id=run_id, name=name, job_type=job_type, group=group, config=config
        )

    def finish_run(self, entity: str, project: str, run_id: str, state: str = "finished") -> None:
        self.service.finish_run(entity, project, run_id, state)

    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord:
        return self.service.get_run(entity, project, run_id)

    def use_version(
        self,
        entity: str,
        project: str,
        run_id: str,
        version_id: str,
        use_as: str | None = None,
        link_id: str | None = None,
    ) -> None:
        self.service.use_version(entity, project, run_id, version_id, use_as, link_id)

    def version_producer(self, version_id: str) -> RunRecord | None:
        return self.service.version_producer(version_id)

    def version_consumers(self, version_id: str) -> list[RunRecord]:
        return self.service.version_consumers(version_id)

    def run_versions(
        self, entity: str, project: str, run_id: str, *, used: bool
    ) -> list[VersionRecord]:
        return self.service.run_versions(entity, project, run_id, used=used)

    def begin_version(self, spec: VersionSpec) -> str:
        return self.service.begin_version(spec)

    def missing_blobs(self, digests: Iterable[str]) -> list[str]:
        return self.service.missing_blobs(digests)

    def add_entries(self, version_id: str, manifest: Manifest) -> int:
        return self.service.add_entries(version_id, manifest)

    def commit_version(
        self,
        version_id: str,
        manifest: Manifest | None,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
        token: str | None = None,
    ) -> VersionRecord:
        return self.service.commit_version(
            version_id, manifest, aliases=aliases, tags=tags, token=token
        )

    def commit_if_unchanged(
        self,
        version_id: str,
        digest: str,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
        token: str | None = None,
    ) -> VersionRecord | None:
        return self.service.commit_if_unchanged(
            version_id, digest, aliases=aliases, tags=tags, token=token
        )

    def abort_version(self, version_id: str) -> None:
        self.service.abort_version(version_id)

    def get_version(self, version_id: str) -> VersionRecord:
        return self.service.get_version(version_id)

    def resolve(self, entity: str, project: str, collection: str, alias: str) -> VersionRecord:
        return self.service.resolve(entity, project, collection, alias)

    def get_manifest(self, version_id: str) -> tuple[str, bytes]:
        return self.service.get_manifest(version_id)

    def list_files(
        self,
        version_id: str,
        *,
        names: Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self.service.list_files(version_id, names=names, after=after, limit=limit)

    def list_versions(
        self,
        entity: str,
        project: str,
        collection: str,
        *,
        after_index: int | None = None,
        limit: int = 50,
        tags: Sequence[str] | None = None,
    ) -> tuple[list[VersionRecord], int | None]:
        return self.service.list_versions(
            entity, project, collection, after_index=after_index, limit=limit, tags=tags
        )

    def get_collection(self, entity: str, project: str, name: str) -> CollectionRecord:
        return self.service.get_collection(entity, project, name)

    def list_collections(
        self,
        entity: str,
        project: str,
        type_name: str | None = None,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[CollectionRecord]:
        return self.service.list_collections(entity, project, type_name, after=after, limit=limit)

    def list_types(self, entity: str, project: str) -> list[TypeRecord]:
        return self.service.list_types(entity, project)

    def update_version(self, version_id: str, change: VersionUpdate) -> VersionRecord:
        return self.service.update_version(version_id, change)

    def delete_version(
        self, version_id: str, *, delete_aliases: bool = False, delete_links: bool = False
    ) -> None:
        self.service.delete_version(
            version_id, delete_aliases=delete_aliases, delete_links=delete_links
        )

    def link_version(
        self, version_id: str, entity: str, project: str, portfolio: str, aliases: Sequence[str]
    ) -> VersionRecord:
        return self.service.link_version(version_id, entity, project, portfolio, aliases)

    def unlink_version(self, link_id: str) -> None:
        self.service.unlink_version(link_id)

    def set_link_aliases(self, link_id: str, aliases: Sequence[str]) -> VersionRecord:
        return self.service.set_link_aliases(link_id, aliases)

    def version_links(self, version_id: str) -> list[VersionRecord]:
        return self.service.version_links(version_id)

    def update_collection(
        self,
        entity: str,
        project: str,
        name: str,
        *,
        description: str | None,
        tags: Sequence[str] | None,
    ) -> CollectionRecord:
        return self.service.update_collection(
            entity, project, name, description=description, tags=tags
        )

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        self.service.delete_collection(entity, project, name)

    def list_registries(self, entity: str | None = None) -> list[RegistryRecord]:
        return self.service.list_registries(entity)

    def set_default_ttl(self, entity: str, seconds: int | None) -> None:
        self.service.set_default_ttl(entity, seconds)

    def get_default_ttl(self, entity: str) -> int | None:
        return self.service.get_default_ttl(entity)

    def collect_garbage(self, *, pending_older_than: timedelta = timedelta(hours=24)) -> int:
        return self.service.collect_garbage(pending_older_than=pending_older_than)

    def reclaim_storage(
        self,
        *,
        grace: timedelta = timedelta(hours=24),
        repack_below: float = 0.5,
        orphans_older_than: timedelta = timedelta(hours=1),
    ) -> StorageReport:
        return self.service.reclaim_storage(
            grace=grace, repack_below=repack_below, orphans_older_than=orphans_older_than
        )

    def expire_versions(self, *, dry_run: bool = False) -> list[VersionRecord]:
        return self.service.expire_versions(dry_run=dry_run)

    # -- what a run records: the rules are cairn.core.run_data's ----------------------------
    def update_run(self, entity: str, project: str, run_id: str, change: RunUpdate) -> int:
        return RunData(self.service).update(entity, project, run_id, change)

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
        return RunData(self.service).history(
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
        return RunData(self.service).list_runs(
            entity, project, filters=filters, newest_first=newest_first, after=after, limit=limit
        )

    # -- lineage, history and diffs (the core modules, in-process) ---------------------------
    def version_lineage(self, version_id: str, *, direction: str, depth: int) -> LineageRecord:
        return lineage.of_version(self.service, version_id, direction=direction, depth=depth)

    def run_lineage(
        self, entity: str, project: str, run_id: str, *, direction: str, depth: int
    ) -> LineageRecord:
        return lineage.of_run(
            self.service, entity, project, run_id, direction=direction, depth=depth
        )

    def version_history(
        self, version_id: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        return history.of_version(self.service, version_id, after=after, limit=limit)

    def collection_history(
        self, entity: str, project: str, collection: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        return history.of_collection(
            self.service, entity, project, collection, after=after, limit=limit
        )

    def diff_summary(self, a: str, b: str) -> DiffSummary:
        return diff.summary(self.service, a, b)

    def diff_entries(
        self, a: str, b: str, *, after: str | None, limit: int
    ) -> tuple[list[DiffEntry], str | None]:
        return diff.entries(self.service, a, b, after=after, limit=limit)

    def close(self) -> None:
        self.service.db.dispose()
