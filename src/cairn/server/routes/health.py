"""Liveness and readiness, for load balancers and orchestrators (no API key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import State
from cairn.server.errors import error_response, responses

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=responses(503))
def readyz(state: State) -> Any:
    """The database answers and its schema is current: the replica can take traffic."""
    try:
        current = state.db.is_current()
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        return error_response(503, "not_ready", f"database unavailable: {type(exc).__name__}")
    if not current:
        return error_response(503, "not_ready", "database schema is not current")
    return {"status": "ready"}
