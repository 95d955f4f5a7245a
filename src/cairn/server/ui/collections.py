"""A collection: its versions newest first (keyset pages), and its description and tags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cairn.core import browse, permissions
from cairn.server.ui.render import PageRoute, page, url_path
from cairn.server.ui.session import Reader, Writer, service_for
from cairn.validation import INT32_MAX

router = APIRouter(route_class=PageRoute)

PAGE = 50


def collection_url(entity: str, project: str, collection: str) -> str:
    return "/projects/" + url_path(f"{entity}/{project}/artifacts/{collection}")


@router.get("/projects/{entity}/{project}/artifacts/{collection}")
def collection(
    request: Request,
    viewer: Reader,
    entity: str,
    project: str,
    collection: str,
    before: Annotated[int | None, Query(ge=0, le=INT32_MAX)] = None,
) -> Response:
    """``before``: show versions below this index (a portfolio: above it, oldest first)."""
    svc = service_for(request, viewer)
    record, versions, nxt = browse.versions_newest_first(
        svc, entity, project, collection, before_index=before, limit=PAGE
    )
    return page(
        request,
        "collection.html",
        {
            "viewer": viewer,
            "entity": entity,
            "project": project,
            "collection": record,
            "versions": versions,
            "next": nxt,
            "paged": before is not None,
            # Only to decide whether to offer the form: the core checks again on submit.
            "may_write": permissions.allowed_in(viewer.principal, entity, "private", "write"),
        },
    )


@router.post("/projects/{entity}/{project}/artifacts/{collection}")
def update_collection(
    request: Request,
    viewer: Writer,
    entity: str,
    project: str,
    collection: str,
    description: Annotated[str, Form(max_length=65_536)] = "",
    tags: Annotated[str, Form(max_length=65_536)] = "",
) -> Response:
    """Set the description and tags (comma-separated) from the page's form."""
    names = [t.strip() for t in tags.split(",") if t.strip()]
    service_for(request, viewer).update_collection(
        entity, project, collection, description=description, tags=names
    )
    return RedirectResponse(collection_url(entity, project, collection), status_code=303)
