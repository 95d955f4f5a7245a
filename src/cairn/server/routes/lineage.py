"""The lineage graph around a version or a run (:mod:`cairn.core.lineage`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cairn.core import lineage
from cairn.server.auth import Caller

router = APIRouter(tags=["lineage"])

Direction = Annotated[str, Query(pattern="^(upstream|downstream|both)$")]
Depth = Annotated[int, Query(ge=1, le=lineage.MAX_DEPTH)]


@router.get("/versions/{version_id}/lineage")
def version_lineage(
    version_id: str,
    svc: Caller,
    direction: Direction = "both",
    depth: Depth = lineage.DEFAULT_DEPTH,
) -> dict[str, Any]:
    """Runs and versions ``depth`` edges up and/or down from a version; unreadable ones as
    placeholders."""
    return lineage.of_version(svc, version_id, direction=direction, depth=depth).to_wire()


@router.get("/projects/{entity}/{project}/runs/{run_id}/lineage")
def run_lineage(
    entity: str,
    project: str,
    run_id: str,
    svc: Caller,
    direction: Direction = "both",
    depth: Depth = lineage.DEFAULT_DEPTH,
) -> dict[str, Any]:
    """Runs and versions ``depth`` edges up and/or down from a run."""
    graph = lineage.of_run(svc, entity, project, run_id, direction=direction, depth=depth)
    return graph.to_wire()
