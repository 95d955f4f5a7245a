"""The route template a request matched (``/api/v1/projects/{entity}/{project}``), for metrics
and logs: one series per route, never one per project or version."""

from __future__ import annotations

from starlette.types import Scope

UNMATCHED = "unmatched"  # a path no route serves


def route_template(scope: Scope) -> str:
    """The matched route's full path template, or ``unmatched``; read after the app ran."""
    # FastAPI keeps an included router's routes with their own (prefix-less) path and records
    # the full one on the scope; an app without that context has prefix-free routes.
    context = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else UNMATCHED
