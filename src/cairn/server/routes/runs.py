"""Runs and lineage."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from cairn.core.run_data import RunData
from cairn.errors import ValidationError
from cairn.records import RunUpdate
from cairn.server.auth import Caller
from cairn.server.schemas import FinishRunIn, RunIn, RunUpdateIn, UseIn

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


@router.get("")
def list_runs(
    entity: str,
    project: str,
    svc: Caller,
    filters: str | None = None,
    newest_first: bool = True,
    after: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Runs of the project passing W&B-style ``filters`` (a JSON object), a page at a time."""
    try:
        parsed = json.loads(filters) if filters else None
    except ValueError:
        raise ValidationError("filters must be a JSON object") from None
    runs, nxt = RunData(svc).list_runs(
        entity, project, filters=parsed, newest_first=newest_first, after=after, limit=limit
    )
    return {"runs": [r.to_wire() for r in runs], "next": nxt}


@router.patch("/{run_id}")
def update_run(
    entity: str, project: str, run_id: str, body: RunUpdateIn, svc: Caller
) -> dict[str, Any]:
    """Append a batch of history rows and set summary, config, tags, notes or exit code."""
    change = RunUpdate(
        history=tuple(body.history),
        summary=body.summary,
        config=body.config,
        tags=tuple(body.tags) if body.tags is not None else None,
        notes=body.notes,
        exit_code=body.exit_code,
        state=body.state,
    )
    return {"stored": RunData(svc).update(entity, project, run_id, change)}


@router.get("/{run_id}/history")
def run_history(
    entity: str,
    project: str,
    run_id: str,
    svc: Caller,
    min_step: Annotated[int, Query(ge=0)] = 0,
    max_step: int | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """History rows in step order. Sent as stored (JSON text): rows may hold NaN, which a
    JSON response would refuse, and there is no need to decode them here."""
    rows = RunData(svc).history_text(
        entity, project, run_id, min_step=min_step, max_step=max_step, limit=limit
    )
    return Response('{"rows":[' + ",".join(rows) + "]}", media_type="application/json")
