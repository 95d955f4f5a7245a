"""Registries the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import Caller

router = APIRouter(tags=["registries"])


@router.get("/registries")
def list_registries(svc: Caller, entity: str | None = None) -> dict[str, Any]:
    """Registries (of one entity, or all) the caller may read."""
    return {"registries": [r.to_wire() for r in svc.list_registries(entity)]}
