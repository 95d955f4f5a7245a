"""The Backend protocol: what the SDK may ask of a store, local or remote.

Shaped after the commit protocol: begin a version → ask which blobs are missing → upload them →
commit; plus reading versions, manifests and files, alias/tag/metadata updates, runs and
lineage. Every method raises only :mod:`cairn.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from cairn.manifest import Manifest
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

Progress = Callable[[int], None]  # called with a number of bytes done


@dataclass(frozen=True)
class BlobUpload:
    """A blob to send: its hex MD5, where its bytes are, and how big it is.

    ``trusted`` marks a read-only snapshot (cache object or staged copy) whose digest this
    process computed from the very same bytes: the embedded store writes it without hashing
    (:func:`cairn.core.transfer.ingest.local_files`). Otherwise the file may have changed since
    it was hashed, and its bytes are verified on the way.
    """

    digest: str
    path: str
    size: int
    trusted: bool = False


@dataclass(frozen=True)
class BlobDownload:
    """A blob to fetch into ``dest``, a fresh temporary path the caller verifies and renames."""

    digest: str
    dest: str
    size: int | None = None


class Backend(Protocol):
    def default_entity(self) -> str: ...

    # runs and lineage
    def create_run(
        self,
        entity: str,
        project: str,
        *,
        run_id: str | None,
        name: str | None,
        job_type: str | None,
        group: str | None,
        config: dict[str, Any] | None,
    ) -> RunRecord: ...
    def finish_run(self, entity: str, project: str, run_id: str, state: str) -> None: ...
    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord: ...
    def use_version(
        self,
        entity: str,
        project: str,
        run_id: str,
        version_id: str,
        use_as: str | None,
        link_id: str | None = None,
    ) -> None: ...
    def version_producer(self, version_id: str) -> RunRecord | None: ...
    def version_consumers(self, version_id: str) -> list[RunRecord]: ...
    def run_versions(
        self, entity: str, project: str, run_id: str, *, used: bool
    ) -> list[VersionRecord]: ...

    # what a run records (history, summary, config, tags, notes, exit code)
    def update_run(self, entity: str, project: str, run_id: str, change: RunUpdate) -> int: ...
    def run_history(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        min_step: int,
        max_step: int | None,
        limit: int,
    ) -> list[dict[str, Any]]: ...
    def list_runs(
        self,
        entity: str,
        project: str,
        *,
        filters: dict[str, Any] | None,
        newest_first: bool,
        after: int | None,
        limit: int,
    ) -> tuple[list[RunRecord], int | None]: ...

    # the commit protocol
    def begin_version(self, spec: VersionSpec) -> str: ...
    def missing_blobs(self, digests: Sequence[str]) -> list[str]: ...
    def upload_blobs(
        self, blobs: Sequence[BlobUpload], progress: Progress | None = None
    ) -> None: ...
    def add_entries(self, version_id: str, manifest: Manifest) -> int: ...
    def commit_version(
        self,
        version_id: str,
        manifest: Manifest | None,
        *,
        aliases: Sequence[str],
        tags: Sequence[str],
    ) -> VersionRecord: ...
    def commit_if_unchanged(
        self,
        version_id: str,
        digest: str,
        *,
        aliases: Sequence[str],
        tags: Sequence[str],
    ) -> VersionRecord | None: ...
    def abort_version(self, version_id: str) -> None: ...

    # reading
    def get_version(self, version_id: str) -> VersionRecord: ...
    def resolve(self, entity: str, project: str, collection: str, alias: str) -> VersionRecord: ...
    def get_manifest(self, version_id: str) -> tuple[str, bytes]: ...
    def list_files(
        self, version_id: str, *, names: Sequence[str] | None, after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def fetch_blobs(
        self, blobs: Sequence[BlobDownload], progress: Progress | None = None
    ) -> set[str]:
        """Fill each ``dest``; returns the digests whose bytes were hashed on arrival and
        matched (the caller checks the others itself)."""
        ...

    def list_versions(
        self,
        entity: str,
        project: str,
        collection: str,
        *,
        after_index: int | None,
        limit: int,
        tags: Sequence[str] | None = None,
    ) -> tuple[list[VersionRecord], int | None]: ...
    def get_collection(self, entity: str, project: str, name: str) -> CollectionRecord: ...
    def list_collections(
        self, entity: str, project: str, type_name: str | None
    ) -> list[CollectionRecord]: ...
    def list_types(self, entity: str, project: str) -> list[TypeRecord]: ...

    # changing
    def update_version(self, version_id: str, change: VersionUpdate) -> VersionRecord: ...
    def delete_version(
        self, version_id: str, *, delete_aliases: bool, delete_links: bool = False
    ) -> None: ...

    # portfolios, registries, collections and TTL
    def link_version(
        self, version_id: str, entity: str, project: str, portfolio: str, aliases: Sequence[str]
    ) -> VersionRecord: ...
    def unlink_version(self, link_id: str) -> None: ...
    def set_link_aliases(self, link_id: str, aliases: Sequence[str]) -> VersionRecord: ...
    def version_links(self, version_id: str) -> list[VersionRecord]: ...
    def update_collection(
        self,
        entity: str,
        project: str,
        name: str,
        *,
        description: str | None,
        tags: Sequence[str] | None,
    ) -> CollectionRecord: ...
    def delete_collection(self, entity: str, project: str, name: str) -> None: ...
    def list_registries(self, entity: str | None = None) -> list[RegistryRecord]: ...
    def set_default_ttl(self, entity: str, seconds: int | None) -> None: ...
    def get_default_ttl(self, entity: str) -> int | None: ...

    # lineage, history and diffs
    def version_lineage(self, version_id: str, *, direction: str, depth: int) -> LineageRecord: ...
    def run_lineage(
        self, entity: str, project: str, run_id: str, *, direction: str, depth: int
    ) -> LineageRecord: ...
    def version_history(
        self, version_id: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]: ...
    def collection_history(
        self, entity: str, project: str, collection: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]: ...
    def diff_summary(self, a: str, b: str) -> DiffSummary: ...
    def diff_entries(
        self, a: str, b: str, *, after: str | None, limit: int
    ) -> tuple[list[DiffEntry], str | None]: ...

    # maintenance
    def collect_garbage(self, *, pending_older_than: timedelta) -> int: ...
    def reclaim_storage(self, *, grace: timedelta, repack_below: float) -> StorageReport: ...
    def expire_versions(self, *, dry_run: bool = False) -> list[VersionRecord]: ...

    def close(self) -> None: ...
