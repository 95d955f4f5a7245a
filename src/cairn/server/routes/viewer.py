"""Who am I, what does this server offer, and admin maintenance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from cairn.core.transfer.direct import single_put_max
from cairn.server.auth import State, Who
from cairn.server.schemas import GcIn, ReclaimIn
from cairn.version import __version__
from cairn.wire import PackLimits, ServerInfo

router = APIRouter(tags=["server"])


@router.get("/server")
def server_info(state: State) -> dict[str, Any]:
    """What a client needs before it moves bytes (no API key needed)."""
    c = state.config
    packs = state.service.packs
    return ServerInfo(
        version=__version__,
        presigned=state.presigned,
        max_json_bytes=c.max_json_bytes,
        max_blob_bytes=c.max_blob_bytes,
        max_digests=c.max_digests,
        # None: send and fetch every blob on its own (a server started with no small blobs).
        packs=PackLimits(**packs.to_wire(), range_bytes=packs.range_bytes)
        if c.pack_threshold
        else None,
        commit_unchanged=True,
        single_put_max=single_put_max(state.store) if state.presigned else None,
    ).model_dump()


@router.get("/viewer")
def viewer(who: Who) -> dict[str, Any]:
    """The caller: their name (their default entity), admin flag and roles."""
    return {"name": who.name, "entity": who.name, "admin": who.is_superuser, "roles": who.roles}


@router.post("/gc/storage")
def reclaim_storage(body: ReclaimIn, state: State, who: Who) -> dict[str, Any]:
    """Free the space of blobs no version uses and of dead bytes in packs (a server admin)."""
    report = state.service.bind(who).reclaim_storage(
        grace=timedelta(seconds=body.grace_seconds), repack_below=body.repack_below
    )
    return report.to_wire()


@router.post("/gc")
def collect_garbage(body: GcIn, state: State, who: Who) -> dict[str, Any]:
    """Drop abandoned PENDING versions (an admin: all; others: in entities they write to)."""
    older = timedelta(seconds=body.pending_older_than_seconds)
    return {"dropped": state.service.bind(who).collect_garbage(pending_older_than=older)}
