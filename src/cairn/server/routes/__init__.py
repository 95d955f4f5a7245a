"""Routes, one module per noun; each is a thin call into :mod:`cairn.core`."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.server.routes import (
    blobs,
    collections,
    health,
    links,
    presigned,
    projects,
    registries,
    runs,
    ttl,
    versions,
    viewer,
)

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    modules = (viewer, projects, runs, collections, versions, presigned, blobs)
    for module in (*modules, links, registries, ttl):
        api.include_router(module.router)
    return api


__all__ = ["API_PREFIX", "api_router", "health"]
