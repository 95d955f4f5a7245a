"""Downloading one file of a version through the browser (the session's permissions)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from cairn.core.blobs.base import CHUNK
from cairn.errors import EntryNotFoundError
from cairn.manifest.digest import stored_blob
from cairn.server.ui.render import PageRoute
from cairn.server.ui.session import Reader, service_for

router = APIRouter(route_class=PageRoute)


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


@router.get("/versions/{version_id}/download/{path:path}")
def download(request: Request, viewer: Reader, version_id: str, path: str) -> Response:
    """The bytes of one file, as an attachment (never rendered by the browser here).

    Raises:
        EntryNotFoundError: no such file, or a reference (its bytes are not in Cairn's store).
    """
    svc = service_for(request, viewer)
    rows, _ = svc.list_files(version_id, names=[path], limit=1)  # checks read access
    if not rows or rows[0]["path"] != path:
        raise EntryNotFoundError(f"no file {path!r} in this version")
    entry = rows[0]
    if entry["ref"]:
        raise EntryNotFoundError(
            f"{path!r} is a reference to {entry['ref']}: its bytes are not stored in Cairn"
        )
    name = path.rsplit("/", 1)[-1]
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "Cache-Control": "private, max-age=0",
    }
    if entry["size"] is not None:
        headers["Content-Length"] = str(entry["size"])
    return StreamingResponse(
        _chunks(svc.open_blob(stored_blob(entry["digest"], entry["extra"]))),
        media_type="application/octet-stream",
        headers=headers,
    )
