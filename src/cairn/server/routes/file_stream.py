"""The W&B client's run stream: ``POST /files/{entity}/{project}/{run}/file_stream``.

Parsed here, stored by :mod:`cairn.core.run_stream` on the run Cairn's own SDK writes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from cairn.core import run_stream
from cairn.server.auth import Caller

router = APIRouter(tags=["wandb"])


@router.post("/files/{entity}/{project}/{run_id}/file_stream")
def file_stream(
    entity: str,
    project: str,
    run_id: str,
    body: Annotated[dict[str, Any], Body()],
    svc: Caller,
) -> dict[str, Any]:
    """History lines, the summary, console output and system metrics of a running W&B run;
    ``complete`` with ``exitcode`` finishes it. A resent request stores nothing twice."""
    request = run_stream.parse_body(body)
    result = run_stream.apply(svc, entity, project, run_id, request)
    # The client reads nothing it needs from the answer; W&B's carries these two fields.
    return {"exitcode": None, "limits": {}, "stored": result.stored_rows, "state": result.state}
