"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from the server's own copies of their scripts.

FastAPI's defaults load both from a CDN, which a machine without internet cannot reach; and
Swagger UI's page starts it with an inline script, which the pages' CSP forbids, so it starts
from ``static/js/swagger-init.js`` instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from starlette.responses import Response

from cairn.server.ui.render import page

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    return page(request, "docs.html", {"openapi_url": request.app.openapi_url})


@router.get("/redoc")
def redoc(request: Request) -> Response:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )
