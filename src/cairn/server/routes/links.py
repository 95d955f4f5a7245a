"""Portfolio memberships: linking a version into a portfolio or registry, and unlinking it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import Caller
from cairn.server.schemas import AliasesIn, LinkIn

router = APIRouter(tags=["links"])


@router.post("/versions/{version_id}/links")
def link_version(version_id: str, body: LinkIn, svc: Caller) -> dict[str, Any]:
    """Link the version into a portfolio (made on first use); answer the linked version."""
    record = svc.link_version(version_id, body.entity, body.project, body.portfolio, body.aliases)
    return record.to_wire()


@router.get("/versions/{version_id}/links")
def version_links(version_id: str, svc: Caller) -> dict[str, Any]:
    """The version as each portfolio the caller may read holds it."""
    return {"versions": [r.to_wire() for r in svc.version_links(version_id)]}


@router.put("/links/{link_id}/aliases")
def set_link_aliases(link_id: str, body: AliasesIn, svc: Caller) -> dict[str, Any]:
    """Make these the membership's custom portfolio aliases."""
    return svc.set_link_aliases(link_id, body.aliases).to_wire()


@router.delete("/links/{link_id}")
def unlink(link_id: str, svc: Caller) -> dict[str, Any]:
    """Remove the membership; the source version stays."""
    svc.unlink_version(link_id)
    return {"ok": True}
