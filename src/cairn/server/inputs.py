"""URL text is checked once, before routing: no control character in the path or the query.

Path and query parameters (entity, project, collection, alias, run and version ids, ``after``,
``tag``...) all come from here, so one check covers every route, today's and later ones. An
alias of ``%00`` never reaches a route or PostgreSQL. Request bodies are checked by the
schemas' one validator (:mod:`cairn.server.schemas`), with the same rule
(:mod:`cairn.validation`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from cairn.server.errors import error_response
from cairn.validation import text_problem


def url_problem(scope: Scope) -> str | None:
    """What is wrong with the request's decoded path or query text, or None."""
    problem = text_problem(scope["path"])
    if problem is not None:
        return f"the URL path holds a {problem}"
    # Decoded as Starlette decodes it for the routes (latin-1, then percent-decoding as UTF-8).
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        for text in (key, value):
            problem = text_problem(text)
            if problem is not None:
                return f"query parameter {key!r} holds a {problem}"
    return None


class UrlText:
    """ASGI middleware answering 422 (``invalid``) to a URL with control characters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = url_problem(scope)
            if problem is not None:
                response = error_response(422, "invalid", f"invalid request: {problem}")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
