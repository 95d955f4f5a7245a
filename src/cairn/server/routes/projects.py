"""Projects: the ones a caller may read, and their visibility."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.core.projects import readable_projects
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


@router.get("/projects")
def list_projects(state: State, who: Who, entity: str | None = None) -> dict[str, Any]:
    """The projects the caller may read (of ``entity`` only, if given)."""
    return {"projects": [p.to_wire() for p in readable_projects(state.db, who, entity)]}
