"""Rendering pages: the Jinja2 templates, their filters, and errors as pages.

Templates autoescape everything (names, descriptions, metadata, paths are all user-supplied);
nothing is marked safe. A core error raised by a page's handler becomes an HTML page with the
status the API would answer (:class:`PageRoute`); not being signed in shows the sign-in form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from cairn.errors import AuthenticationError, CairnError

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ttl(seconds: int | None) -> str:
    if seconds is None:
        return "never expires"
    days, rest = divmod(seconds, 86_400)
    return (
        f"{days} d" if not rest else f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds} s"
    )


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def url_path(value: str) -> str:
    """A path segment (or several, with their slashes) for a URL."""
    return quote(value, safe="/")


templates.env.filters.update(size=human_size, when=when, ttl=ttl, json=as_json, urlpath=url_path)
templates.env.tests["mapping"] = lambda v: isinstance(v, dict)
templates.env.tests["sequence"] = lambda v: isinstance(v, list | tuple)


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a template; ``context`` should hold ``viewer`` (None on the sign-in page)."""
    context.setdefault("viewer", None)
    response = templates.TemplateResponse(request, name, context, status_code=status)
    # Pages hold private names and the session's CSRF token: no shared or disk cache keeps them.
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    viewer = getattr(request.state, "ui_viewer", None)
    return page(
        request,
        "error.html",
        {"viewer": viewer, "status": status, "title": title, "message": message},
        status,
    )


class PageRoute(APIRoute):
    """A route whose errors are pages: a core error answers its HTTP status with a page
    saying what went wrong; a request that is not signed in gets the sign-in form (401)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthenticationError as exc:
                from cairn.server.ui.signin import signin_form

                return signin_form(request, status=401, error=exc.message or None)
            except CairnError as exc:
                return error_page(request, exc.http_status, _titles(exc.http_status), exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return error_page(
                    request, 422, "Invalid request", f"{where}: {first.get('msg', 'invalid')}"
                )

        return run


def _titles(status: int) -> str:
    return {
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Invalid input",
    }.get(status, "Error" if status < 500 else "Server error")
