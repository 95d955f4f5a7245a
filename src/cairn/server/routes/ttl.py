"""Time to live: an entity's default TTL, and expiring versions whose TTL has passed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import Caller
from cairn.server.schemas import DefaultTTLIn, ExpireIn

router = APIRouter(tags=["ttl"])


@router.get("/entities/{entity}/ttl")
def get_default_ttl(entity: str, svc: Caller) -> dict[str, Any]:
    """The TTL in seconds that the entity's versions inherit (null: they never expire)."""
    return {"seconds": svc.get_default_ttl(entity)}


@router.put("/entities/{entity}/ttl")
def set_default_ttl(entity: str, body: DefaultTTLIn, svc: Caller) -> dict[str, Any]:
    """Set the entity's default TTL (an admin of the entity)."""
    svc.set_default_ttl(entity, body.seconds)
    return {"seconds": body.seconds}


@router.post("/gc/expire")
def expire_versions(body: ExpireIn, svc: Caller) -> dict[str, Any]:
    """Delete the versions whose TTL has passed (a server admin); ``dry_run`` only lists them."""
    return {"versions": [r.to_wire() for r in svc.expire_versions(dry_run=body.dry_run)]}
