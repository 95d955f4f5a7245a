"""Versions: the commit protocol (begin → entries → commit), reading and changing them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from cairn.faults import fault_point
from cairn.manifest import Manifest
from cairn.records import VersionSpec, VersionUpdate
from cairn.server.auth import Caller
from cairn.server.schemas import (
    CommitIn,
    CommitUnchangedIn,
    EntriesIn,
    FilesQueryIn,
    UpdateIn,
    VersionSpecIn,
)
from cairn.wire import MANIFEST_DIGEST_HEADER

router = APIRouter(prefix="/versions", tags=["versions"])

# A client's key for one commit: a retry with the same key answers with the version it made.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


@router.post("")
def begin_version(body: VersionSpecIn, svc: Caller) -> dict[str, Any]:
    """Create a PENDING version (or join the one of a ``distributed_id``); nothing is visible."""
    return {"id": svc.begin_version(VersionSpec(**body.model_dump()))}


@router.post("/{version_id}/entries")
def add_entries(version_id: str, body: EntriesIn, svc: Caller) -> dict[str, Any]:
    """Merge entries into a shared PENDING version (all or nothing)."""
    return {"added": svc.add_entries(version_id, Manifest.from_json(body.manifest))}


@router.post("/{version_id}/commit")
def commit_version(
    version_id: str, body: CommitIn, svc: Caller, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Make a PENDING version visible (every blob it names must be stored)."""
    manifest = Manifest.from_json(body.manifest) if body.manifest is not None else None
    record = svc.commit_version(
        version_id, manifest, aliases=body.aliases, tags=body.tags, token=key
    )
    fault_point("server.commit.committed")  # tests: the transaction is in, the answer is not
    return record.to_wire()


@router.post("/{version_id}/commit-unchanged")
def commit_if_unchanged(
    version_id: str, body: CommitUnchangedIn, svc: Caller, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Answer a PENDING version with the latest if that has this manifest digest.

    ``{"version": …}`` (that version, deduplicated; the pending one is gone), or
    ``{"version": null}`` with nothing changed: then commit the manifest as usual.
    """
    record = svc.commit_if_unchanged(
        version_id, body.digest, aliases=body.aliases, tags=body.tags, token=key
    )
    return {"version": record.to_wire() if record is not None else None}


@router.post("/{version_id}/abort")
def abort_version(version_id: str, svc: Caller) -> dict[str, Any]:
    svc.abort_version(version_id)
    return {"ok": True}


@router.get("/{version_id}")
def get_version(version_id: str, svc: Caller) -> dict[str, Any]:
    return svc.get_version(version_id).to_wire()


@router.patch("/{version_id}")
def update_version(version_id: str, body: UpdateIn, svc: Caller) -> dict[str, Any]:
    change = VersionUpdate(
        description=body.description,
        metadata=body.metadata,
        aliases=tuple(body.aliases) if body.aliases is not None else None,
        tags=tuple(body.tags) if body.tags is not None else None,
        clear_description=body.clear_description,
        ttl_seconds=body.ttl_seconds,
        latest=body.latest,
    )
    return svc.update_version(version_id, change).to_wire()


@router.delete("/{version_id}")
def delete_version(
    version_id: str, svc: Caller, delete_aliases: bool = False, delete_links: bool = False
) -> dict[str, Any]:
    svc.delete_version(version_id, delete_aliases=delete_aliases, delete_links=delete_links)
    return {"ok": True}


@router.get("/{version_id}/manifest")
def get_manifest(version_id: str, svc: Caller) -> Response:
    """The manifest JSON exactly as stored; its blob digest in a header."""
    digest, raw = svc.get_manifest(version_id)
    return Response(raw, media_type="application/json", headers={MANIFEST_DIGEST_HEADER: digest})


@router.get("/{version_id}/files")
def list_files(
    version_id: str,
    svc: Caller,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> dict[str, Any]:
    """One page of entries in path order; ``next`` is the ``after`` of the next page."""
    rows, nxt = svc.list_files(version_id, names=None, after=after, limit=limit)
    return {"files": rows, "next": nxt}


@router.post("/{version_id}/files/query")
def query_files(version_id: str, body: FilesQueryIn, svc: Caller) -> dict[str, Any]:
    """Like ``GET files``, restricted to the given paths (too many for a URL)."""
    rows, nxt = svc.list_files(version_id, names=body.names, after=body.after, limit=body.limit)
    return {"files": rows, "next": nxt}


@router.get("/{version_id}/producer")
def version_producer(version_id: str, svc: Caller) -> dict[str, Any]:
    run = svc.version_producer(version_id)
    return {"run": run.to_wire() if run is not None else None}


@router.get("/{version_id}/consumers")
def version_consumers(version_id: str, svc: Caller) -> dict[str, Any]:
    return {"runs": [r.to_wire() for r in svc.version_consumers(version_id)]}
