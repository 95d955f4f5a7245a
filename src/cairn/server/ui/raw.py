"""A version's file as the browser shows it: images, audio and video players, and HTML in a
sandboxed frame, with ``Range`` support so a player seeks without fetching the whole file.

The same permission path as the download (:mod:`.files`): the version's file list, read as the
signed-in user, names the file, and the core reads its bytes (:mod:`cairn.core.blob_ranges`).
Every answer carries :data:`RAW_POLICY`: a CSP ``sandbox`` without scripts or same-origin, so an
HTML or SVG file opened here runs nothing and reaches nothing of the site, even when opened as
a page of its own; only this site's pages may frame it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from cairn.core import blob_ranges
from cairn.core.service import Service
from cairn.errors import AuthenticationError, EntryNotFoundError
from cairn.manifest.digest import stored_blob
from cairn.server.ui.render import PageRoute
from cairn.server.ui.session import Viewer, current_viewer, service_for
from cairn.server.ui.signin import signin_form


class FileRoute(PageRoute):
    """A page about one file: not signed in, the sign-in form leads back to the start page,
    not to this URL, so the form does not repeat a file's name (a file name is data)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                await anyio.to_thread.run_sync(
                    current_viewer, request
                )  # the database, off the loop
            except AuthenticationError as exc:
                return signin_form(request, status=401, error=exc.message or None, next_url="/")
            return await handler(request)

        return run


def _signed_in(request: Request) -> Viewer:
    """The viewer :class:`FileRoute` found already (else found here)."""
    seen = getattr(request.state, "ui_viewer", None)
    return seen if isinstance(seen, Viewer) else current_viewer(request)


FileReader = Annotated[Viewer, Depends(_signed_in)]
router = APIRouter(route_class=FileRoute)

RAW_POLICY = (
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self'; frame-ancestors 'self'"
)
# Types shown inline; anything else is sent as bytes to save (never sniffed: nosniff is set).
INLINE = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mov": "video/quicktime",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def media_type(path: str) -> str:
    return INLINE.get(suffix(path), "application/octet-stream")


def file_of(svc: Service, version_id: str, path: str) -> dict[str, Any]:
    """The entry of one stored file of a version (the caller must be able to read it).

    Raises:
        ArtifactNotFoundError: no such version, or one the caller may not read.
        EntryNotFoundError: no such file, or a reference (its bytes are not in Cairn's store).
    """
    rows, _ = svc.list_files(version_id, names=[path], limit=1)
    if not rows or rows[0]["path"] != path:
        raise EntryNotFoundError(f"no file {path!r} in this version")
    if rows[0]["ref"]:
        raise EntryNotFoundError(
            f"{path!r} is a reference to {rows[0]['ref']}: its bytes are not stored in Cairn"
        )
    return rows[0]


def blob_of(entry: dict[str, Any]) -> str:
    return stored_blob(entry["digest"], entry["extra"])


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single ``Range: bytes=…`` header, None for the
    whole file (no header, or one this server does not honour, such as several ranges);
    ``(size, size)`` for a range that starts past the end (answered 416)."""
    found = _RANGE.match((header or "").strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":  # the last n bytes
        return max(0, size - int(last)), size
    start = int(first)
    if start >= size:
        return size, size
    end = size if last == "" else min(size, int(last) + 1)
    return (start, end) if end > start else None


@router.get("/versions/{version_id}/raw/{path:path}")
def raw(request: Request, viewer: FileReader, version_id: str, path: str) -> Response:
    """One file's bytes to show in the page (an image, a player, a sandboxed frame).

    Raises:
        EntryNotFoundError: no such stored file in this version.
    """
    svc = service_for(request, viewer)
    digest = blob_of(file_of(svc, version_id, path))
    size = blob_ranges.blob_size(svc, digest)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=0",
        "Content-Security-Policy": RAW_POLICY,
        "X-Frame-Options": "SAMEORIGIN",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    wanted = byte_range(request.headers.get("range"), size)
    if wanted is not None and wanted[0] >= size:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    start, end = wanted if wanted is not None else (0, size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(
        blob_ranges.iter_range(svc, digest, start, end),
        status_code=status,
        media_type=media_type(path),
        headers=headers,
    )
