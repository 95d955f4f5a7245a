"""How version ``b`` differs from version ``a`` (:mod:`cairn.core.diff`): a summary, then the
differing entries a page at a time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cairn.core import diff
from cairn.server.auth import Caller

router = APIRouter(prefix="/versions/{a}/diff/{b}", tags=["diff"])


@router.get("")
def diff_summary(a: str, b: str, svc: Caller) -> dict[str, Any]:
    """Entries added, removed, changed and unchanged; metadata and field changes."""
    return diff.summary(svc, a, b).to_wire()


@router.get("/entries")
def diff_entries(
    a: str,
    b: str,
    svc: Caller,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=diff.MAX_PAGE)] = 1000,
) -> dict[str, Any]:
    """One page of differing entries in path order; ``next`` is the ``after`` of the next."""
    entries, nxt = diff.entries(svc, a, b, after=after, limit=limit)
    return {"entries": [e.to_wire() for e in entries], "next": nxt}
