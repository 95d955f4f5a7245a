"""Prometheus metrics at ``/metrics``, with the official client library.

Requests, latencies and bytes in and out are counted by an ASGI middleware (by route template,
so ``/api/v1/projects/{entity}/{project}`` is one series, not one per project); blobs and packs
stored, GC runs and expired versions come from the core's :mod:`cairn.events`.

With ``cairn server --workers N`` each worker is its own process: the parent points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before starting them, and ``/metrics`` then
adds up every worker's series (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn import events
from cairn.server.route_template import route_template

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("cairn_http_requests", "HTTP requests answered.", ["method", "route", "status"])
LATENCY = Histogram(
    "cairn_http_request_duration_seconds",
    "Time from a request's start to the end of its response.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
BYTES_IN = Counter("cairn_http_request_bytes", "Request body bytes received.", ["route"])
BYTES_OUT = Counter("cairn_http_response_bytes", "Response body bytes sent.", ["route"])
CORE = {
    events.BLOBS_STORED: Counter("cairn_blobs_stored", "Blobs written to the store."),
    events.BLOB_BYTES_STORED: Counter("cairn_blob_bytes_stored", "Bytes of blobs stored."),
    events.PACKS_STORED: Counter("cairn_packs_stored", "Packs written to the store."),
    events.GC_RUNS: Counter("cairn_gc_runs", "Storage reclamation runs."),
    events.GC_BLOBS_DELETED: Counter("cairn_gc_blobs_deleted", "Blobs reclaimed by GC."),
    events.VERSIONS_EXPIRED: Counter("cairn_versions_expired", "Versions deleted by TTL."),
}

_subscribed = False


def subscribe_core_events() -> None:
    """Count the core's events (once per process, however many apps it creates)."""
    global _subscribed
    if _subscribed:
        return
    for name, counter in CORE.items():
        events.subscribe(name, counter.inc)
    _subscribed = True


class Metrics:
    """ASGI middleware: counts each HTTP request, its latency and its body bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        counted: dict[str, Any] = {"in": 0, "out": 0, "status": 500}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counted["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counted["status"] = message["status"]
            elif message["type"] == "http.response.body":
                counted["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            route, method = route_template(scope), scope["method"]
            REQUESTS.labels(method, route, str(counted["status"])).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - start)
            BYTES_IN.labels(route).inc(counted["in"])
            BYTES_OUT.labels(route).inc(counted["out"])


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus metrics in the text exposition format (no API key, like ``/healthz``)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
