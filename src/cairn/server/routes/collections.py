"""Collections of a project, their versions, and resolving ``name:alias``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cairn.server.auth import Caller
from cairn.server.schemas import CollectionUpdateIn
from cairn.validation import INT32_MAX

router = APIRouter(prefix="/projects/{entity}/{project}", tags=["collections"])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/collections")
def list_collections(
    entity: str,
    project: str,
    svc: Caller,
    type: str | None = None,
    after: str | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """One page of collections in name order; ``next`` is the ``after`` of the next page."""
    records = svc.list_collections(entity, project, type, after=after, limit=limit + 1)
    page = records[:limit]
    nxt = page[-1].name if len(records) > limit else None
    return {"collections": [r.to_wire() for r in page], "next": nxt}


@router.get("/types")
def list_types(entity: str, project: str, svc: Caller) -> dict[str, Any]:
    return {"types": [t.to_wire() for t in svc.list_types(entity, project)]}


@router.get("/collections/{collection}")
def get_collection(entity: str, project: str, collection: str, svc: Caller) -> dict[str, Any]:
    return svc.get_collection(entity, project, collection).to_wire()


@router.patch("/collections/{collection}")
def update_collection(
    entity: str, project: str, collection: str, body: CollectionUpdateIn, svc: Caller
) -> dict[str, Any]:
    """Set the collection's description and tags (null leaves one as it is)."""
    record = svc.update_collection(
        entity, project, collection, description=body.description, tags=body.tags
    )
    return record.to_wire()


@router.delete("/collections/{collection}")
def delete_collection(entity: str, project: str, collection: str, svc: Caller) -> dict[str, Any]:
    """Delete the collection (a portfolio: its memberships; a sequence: its versions)."""
    svc.delete_collection(entity, project, collection)
    return {"ok": True}


@router.get("/collections/{collection}/versions")
def list_versions(
    entity: str,
    project: str,
    collection: str,
    svc: Caller,
    after_index: Annotated[int | None, Query(ge=-1, le=INT32_MAX)] = None,
    limit: Limit = 50,
    tag: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """One page of committed versions in index order."""
    records, nxt = svc.list_versions(
        entity, project, collection, after_index=after_index, limit=limit, tags=tag
    )
    return {"versions": [r.to_wire() for r in records], "next": nxt}


@router.get("/collections/{collection}/versions/{alias}")
def resolve(entity: str, project: str, collection: str, alias: str, svc: Caller) -> dict[str, Any]:
    """The version ``latest``, ``vN`` or a custom alias names."""
    return svc.resolve(entity, project, collection, alias).to_wire()
