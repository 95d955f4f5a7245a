"""A version: its record, metadata tree, aliases and tags (editable by members), lineage
neighbours, portfolio links, history, and its files (:mod:`.files`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cairn import naming
from cairn.core import browse, history, permissions
from cairn.core.service import Service
from cairn.records import VersionRecord, VersionUpdate
from cairn.server.ui.render import PageRoute, page, url_path
from cairn.server.ui.session import Reader, Writer, service_for

router = APIRouter(route_class=PageRoute)

FILES_PAGE = 100
HISTORY_PAGE = 50
Path = Annotated[str, Query(max_length=4096)]


def version_url(v: VersionRecord) -> str:
    return "/projects/" + url_path(f"{v.entity}/{v.project}/artifacts/{v.collection}/{v.version}")


def custom_aliases(v: VersionRecord) -> list[str]:
    """The aliases a person chose (not ``latest``, not ``vN``): what an update replaces."""
    return [a for a in v.aliases if a != "latest" and not naming.is_version_alias(a)]


def files_context(
    svc: Service, v: VersionRecord, folder: str, after: str | None
) -> dict[str, object]:
    folder = folder.strip("/") + "/" if folder.strip("/") else ""
    entries, nxt = browse.list_dir(svc, v.id, folder, after=after, limit=FILES_PAGE)
    parts = folder.rstrip("/").split("/") if folder else []
    crumbs = [(p, "/".join(parts[: i + 1]) + "/") for i, p in enumerate(parts)]
    return {
        "version": v,
        "page_url": version_url(v),
        "folder": folder,
        "entries": entries,
        "next": nxt,
        "after": after,
        "crumbs": crumbs,
    }


@router.get("/projects/{entity}/{project}/artifacts/{collection}/{alias}")
def version(
    request: Request,
    viewer: Reader,
    entity: str,
    project: str,
    collection: str,
    alias: str,
    dir: Path = "",
    after: Annotated[str | None, Query(max_length=4096)] = None,
    history_after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """``dir``/``after``: the folder of files shown and where its page starts;
    ``history_after``: where the page of the version's history (oldest first) starts."""
    svc = service_for(request, viewer)
    v = svc.resolve(entity, project, collection, alias)
    events, more = history.of_version(svc, v.id, after=history_after, limit=HISTORY_PAGE)
    context = {
        "viewer": viewer,
        "v": v,
        "custom_aliases": custom_aliases(v),
        "producer": svc.version_producer(v.id),
        "consumers": svc.version_consumers(v.id),
        "links": svc.version_links(v.id),
        "events": events,
        "more_events": more,
        "may_write": permissions.allowed_in(viewer.principal, v.entity, "private", "write"),
    }
    context.update(files_context(svc, v, dir, after))
    return page(request, "version.html", context)


@router.get("/versions/{version_id}/files")
def files(
    request: Request, viewer: Reader, version_id: str, dir: Path = "", after: Path | None = None
) -> Response:
    """One page of one folder of a version's files, as the HTML fragment the page swaps in."""
    svc = service_for(request, viewer)
    v = svc.get_version(version_id)
    context = files_context(svc, v, dir, after)
    context["viewer"] = viewer
    return page(request, "_files.html", context)


@router.post("/versions/{version_id}/aliases")
def change_aliases(
    request: Request,
    viewer: Writer,
    version_id: str,
    add: Annotated[str, Form(max_length=128)] = "",
    remove: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Add one alias or remove one (the core moves an alias that named another version)."""
    svc = service_for(request, viewer)
    v = svc.get_version(version_id)
    aliases = [a for a in custom_aliases(v) if a != remove.strip()]
    if add.strip() and add.strip() not in aliases:
        aliases.append(add.strip())
    v = svc.update_version(version_id, VersionUpdate(aliases=tuple(aliases)))
    return RedirectResponse(version_url(v), status_code=303)


@router.post("/versions/{version_id}/tags")
def change_tags(
    request: Request,
    viewer: Writer,
    version_id: str,
    tags: Annotated[str, Form(max_length=65_536)] = "",
) -> Response:
    """Replace the version's tags with these (comma-separated)."""
    names = tuple(t.strip() for t in tags.split(",") if t.strip())
    v = service_for(request, viewer).update_version(version_id, VersionUpdate(tags=names))
    return RedirectResponse(version_url(v), status_code=303)
