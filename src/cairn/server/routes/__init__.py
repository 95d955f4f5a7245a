"""Routes, one module per noun; each is a thin call into :mod:`cairn.core`."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.server.routes import (
    blobs,
    collections,
    diff,
    health,
    history,
    lineage,
    presigned,
    projects,
    runs,
    versions,
    viewer,
)

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    for module in (viewer, projects, runs, collections, versions, presigned, blobs):
        api.include_router(module.router)
    for module in (lineage, history, diff):
        api.include_router(module.router)
    return api


__all__ = ["API_PREFIX", "api_router", "health"]
