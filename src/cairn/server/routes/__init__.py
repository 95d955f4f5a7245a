"""Routes, one module per noun; each is a thin call into :mod:`cairn.core`."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.server.errors import responses
from cairn.server.graphql import endpoint as graphql_endpoint
from cairn.server.routes import (
    admin,
    blobs,
    collections,
    diff,
    file_stream,
    health,
    history,
    lineage,
    links,
    presigned,
    projects,
    registries,
    runs,
    signed,
    ttl,
    versions,
    viewer,
)

API_PREFIX = "/api/v1"


# Error statuses each group of routes can answer, on top of those every API route can
# (OpenAPI; the body is always ErrorOut). 409: a state conflict; 501: no presigned URLs on
# this store; 502: the blob store failed.
EVERY_ROUTE = (401, 403, 404, 408, 413, 422, 500)
MORE = {
    viewer: (409, 502),
    projects: (),
    runs: (409,),
    collections: (),
    versions: (409, 502),
    presigned: (409, 501, 502),
    blobs: (409, 502),
    links: (409,),
    registries: (),
    ttl: (409,),
    lineage: (),
    history: (),
    diff: (),
    admin: (409,),
    signed: (409, 502),
}


# Routes outside /api/v1, at the paths the W&B client uses: its GraphQL endpoint.
OUTSIDE_API = {
    graphql_endpoint: (409, 502),
    file_stream: (409,),
}


def outside_router() -> APIRouter:
    root = APIRouter(responses=responses(*EVERY_ROUTE))
    for module, more in OUTSIDE_API.items():
        root.include_router(module.router, responses=responses(*more))
    return root


def api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX, responses=responses(*EVERY_ROUTE))
    for module, more in MORE.items():
        api.include_router(module.router, responses=responses(*more))
    return api


__all__ = ["API_PREFIX", "api_router", "health", "outside_router"]
