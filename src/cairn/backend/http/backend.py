"""The team backend: the Backend protocol over HTTP to a Cairn server.

Every request, to the server or to a presigned store URL, goes through
:meth:`~cairn.backend.http.sending.Sender._send`: the one place where httpx exceptions and
error bodies become :mod:`cairn.errors`, so SDK code sees the same exceptions it would see from
the embedded store. Transfers (docs/architecture.md, "Making a version") are in :mod:`.uploads` and
:mod:`.downloads`; they ask in batches of what the server announces (``max_digests``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from cairn.backend.base import BlobDownload, BlobUpload, Progress
from cairn.backend.http import downloads, uploads
from cairn.backend.http.sending import Sender, seg
from cairn.faults import fault_point
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
from cairn.wire import IDEMPOTENCY_HEADER, MANIFEST_DIGEST_HEADER


class HttpBackend(Sender):
    """The SDK's backend for a Cairn server at ``settings.base_url``."""

    # -- runs and lineage --------------------------------------------------------------------
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
        body = {
            "run_id": run_id,
            "name": name,
            "job_type": job_type,
            "group": group,
            "config": config,
        }
        return RunRecord.from_wire(
            self._json("POST", f"{self._project(entity, project)}/runs", json=body)
        )

    def _run(self, entity: str, project: str, run_id: str) -> str:
        return f"{self._project(entity, project)}/runs/{seg(run_id)}"

    def finish_run(self, entity: str, project: str, run_id: str, state: str = "finished") -> None:
        url = f"{self._run(entity, project, run_id)}/finish"
        self._send("POST", url, json={"state": state}, idempotent=True)

    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord:
        return RunRecord.from_wire(self._json("GET", self._run(entity, project, run_id)))

    def use_version(
        self,
        entity: str,
        project: str,
        run_id: str,
        version_id: str,
        use_as: str | None = None,
        link_id: str | None = None,
    ) -> None:
        self._send(
            "POST",
            f"{self._run(entity, project, run_id)}/inputs",
            json={"version_id": version_id, "use_as": use_as, "link_id": link_id},
        )

    def version_producer(self, version_id: str) -> RunRecord | None:
        run = self._json("GET", f"/versions/{seg(version_id)}/producer")["run"]
        return RunRecord.from_wire(run) if run is not None else None

    def version_consumers(self, version_id: str) -> list[RunRecord]:
        runs = self._json("GET", f"/versions/{seg(version_id)}/consumers")["runs"]
        return [RunRecord.from_wire(r) for r in runs]

    def run_versions(
        self, entity: str, project: str, run_id: str, *, used: bool
    ) -> list[VersionRecord]:
        out = self._json(
            "GET",
            f"{self._run(entity, project, run_id)}/versions",
            params={"used": "true" if used else "false"},
        )
        return [VersionRecord.from_wire(v) for v in out["versions"]]

    # -- what a run records --------------------------------------------------------------------
    def update_run(self, entity: str, project: str, run_id: str, change: RunUpdate) -> int:
        # Encoded here, not by httpx: history keeps NaN and infinities, as W&B's does.
        body = json.dumps(change.to_wire(), allow_nan=True, separators=(",", ":"))
        out = self._json(
            "PATCH",
            self._run(entity, project, run_id),
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        return int(out["stored"])

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
        params: dict[str, Any] = {"min_step": min_step, "limit": limit}
        if max_step is not None:
            params["max_step"] = max_step
        out = self._json("GET", f"{self._run(entity, project, run_id)}/history", params=params)
        return list(out["rows"])

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
        params: dict[str, Any] = {"newest_first": str(newest_first).lower(), "limit": limit}
        if filters:
            params["filters"] = json.dumps(filters)
        if after is not None:
            params["after"] = after
        out = self._json("GET", f"{self._project(entity, project)}/runs", params=params)
        return [RunRecord.from_wire(r) for r in out["runs"]], out["next"]

    # -- the commit protocol -----------------------------------------------------------------
    def begin_version(self, spec: VersionSpec) -> str:
        # Repeating a begin whose answer was lost leaves one more PENDING version: invisible,
        # and collected with the other abandoned ones.
        return str(self._json("POST", "/versions", json=spec.to_wire(), idempotent=True)["id"])

    def missing_blobs(self, digests: Sequence[str]) -> list[str]:
        return uploads.missing_blobs(self, digests)

    def add_entries(self, version_id: str, manifest: Manifest) -> int:
        url = f"/versions/{seg(version_id)}/entries"
        # Entries merge: the same entries again add nothing.
        return int(
            self._json("POST", url, idempotent=True, **_streamed_json({}, manifest))["added"]
        )

    def commit_version(
        self,
        version_id: str,
        manifest: Manifest | None,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> VersionRecord:
        fields = {"aliases": list(aliases), "tags": list(tags)}
        url = f"/versions/{seg(version_id)}/commit"
        key = _idempotency_key()
        if manifest is None:
            out = self._json("POST", url, json=fields, headers=key, idempotent=True)
            return VersionRecord.from_wire(out)
        request = _streamed_json(fields, manifest)
        request["headers"].update(key)
        return VersionRecord.from_wire(self._json("POST", url, idempotent=True, **request))

    def commit_if_unchanged(
        self,
        version_id: str,
        digest: str,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> VersionRecord | None:
        if not self.server_info().commit_unchanged:
            return None  # an older server: the caller commits the manifest
        url = f"/versions/{seg(version_id)}/commit-unchanged"
        body = {"digest": digest, "aliases": list(aliases), "tags": list(tags)}
        out = self._json("POST", url, json=body, headers=_idempotency_key(), idempotent=True)
        found = out["version"]
        return VersionRecord.from_wire(found) if found is not None else None

    def abort_version(self, version_id: str) -> None:
        self._send("POST", f"/versions/{seg(version_id)}/abort", idempotent=True)

    def upload_blobs(self, blobs: Sequence[BlobUpload], progress: Progress | None = None) -> None:
        uploads.upload_blobs(self, blobs, progress)

    # -- reading -----------------------------------------------------------------------------
    def get_version(self, version_id: str) -> VersionRecord:
        return VersionRecord.from_wire(self._json("GET", f"/versions/{seg(version_id)}"))

    def resolve(self, entity: str, project: str, collection: str, alias: str) -> VersionRecord:
        coll = f"{self._project(entity, project)}/collections/{seg(collection)}"
        url = f"{coll}/versions/{seg(alias)}"
        return VersionRecord.from_wire(self._json("GET", url))

    def get_manifest(self, version_id: str) -> tuple[str, bytes]:
        response = self._send("GET", f"/versions/{seg(version_id)}/manifest")
        return response.headers.get(MANIFEST_DIGEST_HEADER, ""), response.content

    def list_files(
        self,
        version_id: str,
        *,
        names: Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        limit = max(1, min(int(limit), 10_000))
        url = f"/versions/{seg(version_id)}/files"
        if names is None:
            params: dict[str, Any] = {"limit": limit}
            if after is not None:
                params["after"] = after
            out = self._json("GET", url, params=params)
        else:
            body = {"names": list(names), "after": after, "limit": limit}
            out = self._json("POST", f"{url}/query", json=body, idempotent=True)
        return list(out["files"]), out["next"]

    def fetch_blobs(
        self, blobs: Sequence[BlobDownload], progress: Progress | None = None
    ) -> set[str]:
        """Small blobs come many to a request and are hashed on arrival (the digests
        returned); large ones stream to their files, for the cache to check."""
        return downloads.fetch_blobs(self, blobs, progress)

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
        params: dict[str, Any] = {"limit": max(1, min(int(limit), 1000))}
        if after_index is not None:
            params["after_index"] = after_index
        if tags:
            params["tag"] = list(tags)
        url = f"{self._project(entity, project)}/collections/{seg(collection)}/versions"
        out = self._json("GET", url, params=params)
        return [VersionRecord.from_wire(v) for v in out["versions"]], out["next"]

    def get_collection(self, entity: str, project: str, name: str) -> CollectionRecord:
        url = f"{self._project(entity, project)}/collections/{seg(name)}"
        return CollectionRecord.from_wire(self._json("GET", url))

    def list_collections(
        self, entity: str, project: str, type_name: str | None = None
    ) -> list[CollectionRecord]:
        out: list[CollectionRecord] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if type_name is not None:
                params["type"] = type_name
            if after is not None:
                params["after"] = after
            page = self._json("GET", f"{self._project(entity, project)}/collections", params=params)
            out.extend(CollectionRecord.from_wire(c) for c in page["collections"])
            after = page["next"]
            if after is None:
                return out

    def list_types(self, entity: str, project: str) -> list[TypeRecord]:
        out = self._json("GET", f"{self._project(entity, project)}/types")
        return [TypeRecord.from_wire(t) for t in out["types"]]

    # -- changing ----------------------------------------------------------------------------
    def update_version(self, version_id: str, change: VersionUpdate) -> VersionRecord:
        body = {
            "description": change.description,
            "metadata": change.metadata,
            "aliases": list(change.aliases) if change.aliases is not None else None,
            "tags": list(change.tags) if change.tags is not None else None,
            "clear_description": change.clear_description,
            "ttl_seconds": change.ttl_seconds,
        }
        if change.latest is not None:  # sent only when set: a server before it refuses the key
            body["latest"] = change.latest
        return VersionRecord.from_wire(
            self._json("PATCH", f"/versions/{seg(version_id)}", json=body)
        )

    def delete_version(
        self, version_id: str, *, delete_aliases: bool = False, delete_links: bool = False
    ) -> None:
        self._send(
            "DELETE",
            f"/versions/{seg(version_id)}",
            params={
                "delete_aliases": "true" if delete_aliases else "false",
                "delete_links": "true" if delete_links else "false",
            },
        )

    # -- portfolios, registries, collections, TTL --------------------------------------------
    def link_version(
        self, version_id: str, entity: str, project: str, portfolio: str, aliases: Sequence[str]
    ) -> VersionRecord:
        body: dict[str, Any] = {"entity": entity, "project": project, "portfolio": portfolio}
        body["aliases"] = list(aliases)
        url = f"/versions/{seg(version_id)}/links"
        return VersionRecord.from_wire(self._json("POST", url, json=body))

    def unlink_version(self, link_id: str) -> None:
        self._send("DELETE", f"/links/{seg(link_id)}")

    def set_link_aliases(self, link_id: str, aliases: Sequence[str]) -> VersionRecord:
        url = f"/links/{seg(link_id)}/aliases"
        return VersionRecord.from_wire(self._json("PUT", url, json={"aliases": list(aliases)}))

    def version_links(self, version_id: str) -> list[VersionRecord]:
        out = self._json("GET", f"/versions/{seg(version_id)}/links")
        return [VersionRecord.from_wire(v) for v in out["versions"]]

    def update_collection(
        self,
        entity: str,
        project: str,
        name: str,
        *,
        description: str | None,
        tags: Sequence[str] | None,
    ) -> CollectionRecord:
        url = f"{self._project(entity, project)}/collections/{seg(name)}"
        body = {"description": description, "tags": list(tags) if tags is not None else None}
        return CollectionRecord.from_wire(self._json("PATCH", url, json=body))

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        self._send("DELETE", f"{self._project(entity, project)}/collections/{seg(name)}")

    def list_registries(self, entity: str | None = None) -> list[RegistryRecord]:
        params = {"entity": entity} if entity is not None else None
        out = self._json("GET", "/registries", params=params)
        return [RegistryRecord.from_wire(r) for r in out["registries"]]

    def expire_versions(self, *, dry_run: bool = False) -> list[VersionRecord]:
        out = self._json("POST", "/gc/expire", json={"dry_run": dry_run})
        return [VersionRecord.from_wire(v) for v in out["versions"]]

    def set_default_ttl(self, entity: str, seconds: int | None) -> None:
        self._send("PUT", f"/entities/{seg(entity)}/ttl", json={"seconds": seconds})

    def get_default_ttl(self, entity: str) -> int | None:
        seconds = self._json("GET", f"/entities/{seg(entity)}/ttl")["seconds"]
        return int(seconds) if seconds is not None else None

    # -- lineage, history and diffs ----------------------------------------------------------
    def version_lineage(self, version_id: str, *, direction: str, depth: int) -> LineageRecord:
        out = self._json(
            "GET",
            f"/versions/{seg(version_id)}/lineage",
            params={"direction": direction, "depth": depth},
        )
        return LineageRecord.from_wire(out)

    def run_lineage(
        self, entity: str, project: str, run_id: str, *, direction: str, depth: int
    ) -> LineageRecord:
        out = self._json(
            "GET",
            f"{self._run(entity, project, run_id)}/lineage",
            params={"direction": direction, "depth": depth},
        )
        return LineageRecord.from_wire(out)

    def _history(
        self, url: str, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        out = self._json("GET", url, params=params)
        return [HistoryEvent.from_wire(e) for e in out["events"]], out["next"]

    def version_history(
        self, version_id: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        return self._history(f"/versions/{seg(version_id)}/history", after, limit)

    def collection_history(
        self, entity: str, project: str, collection: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        url = f"{self._project(entity, project)}/collections/{seg(collection)}/history"
        return self._history(url, after, limit)

    def diff_summary(self, a: str, b: str) -> DiffSummary:
        return DiffSummary.from_wire(self._json("GET", f"/versions/{seg(a)}/diff/{seg(b)}"))

    def diff_entries(
        self, a: str, b: str, *, after: str | None, limit: int
    ) -> tuple[list[DiffEntry], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        out = self._json("GET", f"/versions/{seg(a)}/diff/{seg(b)}/entries", params=params)
        return [DiffEntry.from_wire(e) for e in out["entries"]], out["next"]

    # -- maintenance -------------------------------------------------------------------------
    def collect_garbage(self, *, pending_older_than: timedelta = timedelta(hours=24)) -> int:
        body = {"pending_older_than_seconds": pending_older_than.total_seconds()}
        return int(self._json("POST", "/gc", json=body)["dropped"])

    def reclaim_storage(
        self, *, grace: timedelta = timedelta(hours=24), repack_below: float = 0.5
    ) -> StorageReport:
        body = {"grace_seconds": grace.total_seconds(), "repack_below": repack_below}
        return StorageReport.from_wire(self._json("POST", "/gc/storage", json=body))


def _idempotency_key() -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: uuid.uuid4().hex}


def _streamed_json(fields: dict[str, Any], manifest: Manifest) -> dict[str, Any]:
    """Request arguments for ``{**fields, "manifest": manifest}`` as JSON, streamed a thousand
    entries at a time: a manifest of a million entries is never one document in memory. The
    body is a function, so a retry streams it again."""

    def body() -> Iterator[bytes]:
        head = json.dumps(fields, separators=(",", ":"))[:-1]
        yield (head + ("," if fields else "") + '"manifest":').encode()
        yield from manifest.iter_canonical()
        fault_point("log.mid_commit")  # the server has the manifest but not the body's end
        yield b"}"

    return {"content": body, "headers": {"Content-Type": "application/json"}}
