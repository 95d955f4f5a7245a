"""Runs and lineage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cairn.server.auth import Caller
from cairn.server.schemas import FinishRunIn, RunIn, UseIn

router = APIRouter(prefix="/projects/{entity}/{project}/runs", tags=["runs"])


@router.post("")
def create_run(entity: str, project: str, body: RunIn, svc: Caller) -> dict[str, Any]:
    """Start a run, or return the run with that id (runs can be resumed)."""
    return svc.create_run(
        entity,
        project,
        run_id=body.run_id,
        name=body.name,
        job_type=body.job_type,
        group=body.group,
        config=body.config,
    ).to_wire()


@router.get("/{run_id}")
def get_run(entity: str, project: str, run_id: str, svc: Caller) -> dict[str, Any]:
    return svc.get_run(entity, project, run_id).to_wire()


@router.post("/{run_id}/finish")
def finish_run(
    entity: str, project: str, run_id: str, body: FinishRunIn, svc: Caller
) -> dict[str, Any]:
    svc.finish_run(entity, project, run_id, body.state)
    return {"ok": True}


@router.post("/{run_id}/inputs")
def use_version(entity: str, project: str, run_id: str, body: UseIn, svc: Caller) -> dict[str, Any]:
    """Record that the run consumed a version."""
    svc.use_version(entity, project, run_id, body.version_id, body.use_as, body.link_id)
    return {"ok": True}


@router.get("/{run_id}/versions")
def run_versions(
    entity: str, project: str, run_id: str, svc: Caller, used: bool = False
) -> dict[str, Any]:
    """Versions the run logged (``used=false``) or used (``used=true``)."""
    records = svc.run_versions(entity, project, run_id, used=used)
    return {"versions": [r.to_wire() for r in records]}
