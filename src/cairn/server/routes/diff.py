"""How version ``other_id`` differs from version ``version_id`` (:mod:`cairn.core.diff`):
a summary, then the differing entries a page at a time (``GET /versions/A/diff/B`` reads
"from A to B")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cairn.core import diff
from cairn.server.auth import Caller

router = APIRouter(prefix="/versions/{version_id}/diff/{other_id}", tags=["diff"])


@router.get("")
def diff_summary(version_id: str, other_id: str, svc: Caller) -> dict[str, Any]:
    """Entries added, removed, changed and unchanged; metadata and field changes."""
    return diff.summary(svc, version_id, other_id).to_wire()


@router.get("/entries")
def diff_entries(
    version_id: str,
    other_id: str,
    svc: Caller,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=diff.MAX_PAGE)] = 1000,
) -> dict[str, Any]:
    """One page of differing entries in path order; ``next`` is the ``after`` of the next."""
    entries, nxt = diff.entries(svc, version_id, other_id, after=after, limit=limit)
    return {"entries": [e.to_wire() for e in entries], "next": nxt}
