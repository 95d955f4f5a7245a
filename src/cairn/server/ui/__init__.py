"""The web UI served by ``cairn server`` at ``/``: server-rendered pages with htmx.

Each module in :data:`PAGES` holds the routes of one part of the UI as ``router`` (an
``APIRouter`` with :class:`~cairn.server.ui.render.PageRoute`, so errors become pages); to add
a part, write its module and list it here. Handlers are thin: they parse the request, call the
same core service the REST routes call (bound to the signed-in user, so every permission rule
is the core's), and render a template from ``templates/``. Scripts, styles and the vendored
htmx, Swagger UI and ReDoc are in ``static/`` (``static/VENDORED.md``) and ship in the wheel.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from cairn.server.ui import (
    account,
    collections,
    compare,
    docs,
    files,
    lineage,
    previews,
    projects,
    raw,
    registries,
    runs,
    signin,
    versions,
)
from cairn.server.ui.headers import SecurityHeaders
from cairn.server.ui.render import HERE

PAGES = [signin, account, projects, collections, versions, files]
PAGES += [raw, previews, compare, lineage, registries, runs]


def install(app: FastAPI) -> None:
    """Serve the UI, its static files and the API docs pages on ``app``."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(docs.router)
    for module in PAGES:
        app.include_router(module.router, include_in_schema=False)
    app.add_middleware(SecurityHeaders)


__all__ = ["PAGES", "install"]
