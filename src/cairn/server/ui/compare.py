"""Comparing two versions: files added, removed and changed (the core's diff,
:mod:`cairn.core.diff`, a page at a time), metadata and field differences, a text diff of a
small text file (Python's difflib, escaped by the template) and changed images side by side.

``/versions/A/compare/B`` reads "from A to B", as the API's ``/versions/A/diff/B`` does.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cairn.core import blob_ranges, diff
from cairn.core.service import Service
from cairn.errors import EntryNotFoundError
from cairn.server.ui.previews import IMAGE, decode_text
from cairn.server.ui.raw import FileReader, FileRoute, blob_of, suffix
from cairn.server.ui.render import page
from cairn.server.ui.session import service_for
from cairn.server.ui.versions import version_url

router = APIRouter(route_class=FileRoute)

PAGE = 200
SIDE_BY_SIDE = 12  # changed images shown on a page of the comparison
TEXT_DIFF_LIMIT = 256 * 1024  # a text diff reads both files whole: only below this size
Cursor = Annotated[str | None, Query(max_length=4096)]


@router.get("/versions/{version_id}/compare")
def choose(
    request: Request,
    viewer: FileReader,
    version_id: str,
    other: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Pick the version to compare with (another of the same collection, or any id)."""
    svc = service_for(request, viewer)
    v = svc.get_version(version_id)
    if other:
        return RedirectResponse(f"/versions/{v.id}/compare/{other.strip()}", status_code=303)
    versions, _ = svc.list_versions(v.entity, v.project, v.collection, limit=100)
    context = {
        "viewer": viewer,
        "v": v,
        "page_url": version_url(v),
        "others": [o for o in versions if o.id != v.id],
    }
    return page(request, "compare_choose.html", context)


@router.get("/versions/{version_id}/compare/{other_id}")
def compare(
    request: Request, viewer: FileReader, version_id: str, other_id: str, after: Cursor = None
) -> Response:
    """How ``other_id`` differs from ``version_id``: counts, values, and a page of files."""
    svc = service_for(request, viewer)
    a, b = svc.get_version(version_id), svc.get_version(other_id)
    summary = diff.summary(svc, a.id, b.id)
    entries, nxt = diff.entries(svc, a.id, b.id, after=after, limit=PAGE)
    images = [e for e in entries if e.status == diff.CHANGED and suffix(e.path) in IMAGE]
    context = {
        "viewer": viewer,
        "a": a,
        "b": b,
        "a_url": version_url(a),
        "b_url": version_url(b),
        "summary": summary,
        "entries": entries,
        "next": nxt,
        "after": after,
        "rows": [(e, suffix(e.path) in IMAGE) for e in entries],
        "images": images[:SIDE_BY_SIDE],
    }
    return page(request, "compare.html", context)


def _entry(svc: Service, version_id: str, path: str) -> dict[str, Any] | None:
    rows, _ = svc.list_files(version_id, names=[path], limit=1)
    return rows[0] if rows and rows[0]["path"] == path and not rows[0]["ref"] else None


def _text(svc: Service, entry: dict[str, Any] | None) -> str | None:
    if entry is None:
        return ""
    if (entry["size"] or 0) > TEXT_DIFF_LIMIT:
        return None
    return decode_text(blob_ranges.read_range(svc, blob_of(entry), 0, TEXT_DIFF_LIMIT))


def text_diff(old: str, new: str, old_name: str, new_name: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line): kind is ``add``, ``del``, ``hunk``, ``head`` or ``same``."""
    out = []
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, n=3, lineterm=""
    )
    for line in lines:
        if line.startswith(("+++", "---")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append((kind, line))
    return out


@router.get("/versions/{version_id}/compare/{other_id}/file/{path:path}")
def compare_file(
    request: Request, viewer: FileReader, version_id: str, other_id: str, path: str
) -> Response:
    """One file in both versions: a text diff, or two images side by side.

    Raises:
        EntryNotFoundError: the file is in neither version.
    """
    svc = service_for(request, viewer)
    a, b = svc.get_version(version_id), svc.get_version(other_id)
    old, new = _entry(svc, a.id, path), _entry(svc, b.id, path)
    if old is None and new is None:
        raise EntryNotFoundError(f"no file {path!r} in either version")
    is_image = suffix(path) in IMAGE
    lines: list[tuple[str, str]] | None = None
    note = ""
    if not is_image:
        old_text, new_text = _text(svc, old), _text(svc, new)
        if old_text is None or new_text is None:
            note = "Too large or not text: no line-by-line diff; download both to compare."
        else:
            lines = text_diff(old_text, new_text, f"{a.version}/{path}", f"{b.version}/{path}")
    context = {
        "viewer": viewer,
        "a": a,
        "b": b,
        "path": path,
        "old": old,
        "new": new,
        "is_image": is_image,
        "lines": lines,
        "note": note,
    }
    return page(request, "compare_file.html", context)
