"""Project settings: visibility."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import State, Who
from cairn.server.schemas import VisibilityIn

router = APIRouter(tags=["projects"])


@router.patch("/projects/{entity}/{project}")
def update_project(
    entity: str, project: str, body: VisibilityIn, state: State, who: Who
) -> dict[str, Any]:
    """Make a project public (readable by every signed-in user) or private (the default)."""
    state.accounts.set_visibility(who, entity, project, body.visibility)
    return {"entity": entity, "project": project, "visibility": body.visibility}
