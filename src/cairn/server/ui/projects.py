"""The projects one may see (with search), and a project's collections grouped by type."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from cairn.core import browse
from cairn.server.ui.render import PageRoute, page
from cairn.server.ui.session import Reader, service_for

router = APIRouter(route_class=PageRoute)

Name = Annotated[str | None, Query(max_length=128)]


@router.get("/")
def projects(
    request: Request,
    viewer: Reader,
    q: Annotated[str | None, Query(max_length=200)] = None,
    after_entity: Name = None,
    after_project: Name = None,
) -> Response:
    after = (after_entity, after_project) if after_entity and after_project else None
    svc = service_for(request, viewer)
    rows, nxt = browse.list_projects(svc, search=q or None, after=after, limit=50)
    return page(
        request,
        "projects.html",
        {"viewer": viewer, "projects": rows, "q": q or "", "next": nxt},
    )


@router.get("/projects/{entity}/{project}")
def project(request: Request, viewer: Reader, entity: str, project: str) -> Response:
    rows = browse.collections_overview(service_for(request, viewer), entity, project)
    rows.sort(key=lambda r: (r.record.type, r.record.name))
    groups = [(t, list(g)) for t, g in groupby(rows, key=lambda r: r.record.type)]
    return page(
        request,
        "project.html",
        {"viewer": viewer, "entity": entity, "project": project, "groups": groups},
    )
