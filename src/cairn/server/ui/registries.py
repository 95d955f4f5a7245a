"""Registries and portfolios: the registries a user may see, a project's portfolios with their
members, promoting a version (linking it into a portfolio with aliases) and unlinking one.

Every rule (read on the source, write on the target portfolio's project) is the core's
(:mod:`cairn.core.links`); the forms are offered to those the entity lets write, and a refusal
is the core's error as a page. Writes carry the session's CSRF token (:mod:`.session`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cairn.core import permissions, registries
from cairn.server.ui.render import PageRoute, page, url_path
from cairn.server.ui.session import Reader, Writer, service_for
from cairn.server.ui.versions import version_url

router = APIRouter(route_class=PageRoute)

PORTFOLIOS = 100  # portfolios listed on a page
MEMBERS = 25  # members listed per portfolio (the collection page pages through the rest)
DEFAULT_TARGET = registries.PREFIX + "model"


def portfolios_url(entity: str, project: str) -> str:
    return "/projects/" + url_path(f"{entity}/{project}") + "/portfolios"


def _local(next_url: str, fallback: str) -> str:
    """A redirect target on this site only (a path, never ``//host`` or a URL)."""
    if next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return fallback


@router.get("/registries")
def registry_list(request: Request, viewer: Reader) -> Response:
    """Every registry the viewer may read."""
    svc = service_for(request, viewer)
    found = svc.list_registries()
    rows = [(r, portfolios_url(r.entity, r.project)) for r in found]
    return page(request, "registries.html", {"viewer": viewer, "registries": rows})


@router.get("/projects/{entity}/{project}/portfolios")
def portfolios(request: Request, viewer: Reader, entity: str, project: str) -> Response:
    """A project's portfolios (a registry's are all portfolios) and their newest members."""
    svc = service_for(request, viewer)
    project = registries.canonical_project(project)
    colls = [
        c for c in svc.list_collections(entity, project, limit=PORTFOLIOS) if c.kind == "portfolio"
    ]
    members = []
    for c in colls:
        page_, more = svc.list_versions(entity, project, c.name, limit=MEMBERS)
        members.append((c, page_, more is not None))
    context = {
        "viewer": viewer,
        "entity": entity,
        "project": project,
        "registry": registries.registry_name(project),
        "members": members,
        "may_write": permissions.allowed_in(viewer.principal, entity, "private", "write"),
        "here": portfolios_url(entity, project),
    }
    return page(request, "portfolios.html", context)


@router.get("/versions/{version_id}/promote")
def promote_form(request: Request, viewer: Reader, version_id: str) -> Response:
    """The form to link a version into a registry or portfolio."""
    svc = service_for(request, viewer)
    v = svc.get_version(version_id)
    targets = [r for r in svc.list_registries() if r.entity == v.entity]
    context = {
        "viewer": viewer,
        "v": v,
        "page_url": version_url(v),
        "targets": targets,
        "default_project": DEFAULT_TARGET,
        "links": svc.version_links(v.id),
    }
    return page(request, "promote.html", context)


@router.post("/versions/{version_id}/promote")
def promote(
    request: Request,
    viewer: Writer,
    version_id: str,
    entity: Annotated[str, Form(max_length=128)],
    project: Annotated[str, Form(max_length=128)],
    portfolio: Annotated[str, Form(max_length=128)],
    aliases: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Link the version into ``entity/project/portfolio`` (made on first use) with these
    comma-separated aliases; then show the portfolios of that project."""
    svc = service_for(request, viewer)
    names = [a.strip() for a in aliases.split(",") if a.strip()]
    record = svc.link_version(version_id, entity.strip(), project.strip(), portfolio.strip(), names)
    anchor = "#portfolio-" + url_path(record.collection)
    return RedirectResponse(portfolios_url(record.entity, record.project) + anchor, 303)


@router.post("/links/{link_id}/unlink")
def unlink(
    request: Request,
    viewer: Writer,
    link_id: str,
    next: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Remove a version from a portfolio (the version itself stays)."""
    service_for(request, viewer).unlink_version(link_id)
    return RedirectResponse(_local(next, "/registries"), status_code=303)
