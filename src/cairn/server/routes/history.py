"""The audit trail of a version or a collection (:mod:`cairn.core.history`), oldest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cairn.core import history
from cairn.records import HistoryEvent
from cairn.server.auth import Caller

router = APIRouter(tags=["history"])

After = Annotated[int | None, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _page(events: list[HistoryEvent], nxt: int | None) -> dict[str, Any]:
    return {"events": [e.to_wire() for e in events], "next": nxt}


@router.get("/versions/{version_id}/history")
def version_history(
    version_id: str, svc: Caller, after: After = None, limit: Limit = 100
) -> dict[str, Any]:
    """One page of a version's events; ``next`` is the ``after`` of the next page."""
    return _page(*history.of_version(svc, version_id, after=after, limit=limit))


@router.get("/projects/{entity}/{project}/collections/{collection}/history")
def collection_history(
    entity: str, project: str, collection: str, svc: Caller, after: After = None, limit: Limit = 100
) -> dict[str, Any]:
    """One page of a collection's events, deleted versions' included."""
    return _page(*history.of_collection(svc, entity, project, collection, after=after, limit=limit))
