"""The app factory: ``create_app(config)`` opens the database and store and wires the routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cairn.core import stamp
from cairn.core.accounts import Accounts
from cairn.core.blobs import open_store
from cairn.core.commit_checks import CommitLimits
from cairn.core.databases import Database, shown_url
from cairn.core.gc import sweep_temporaries
from cairn.core.packs import PackPolicy
from cairn.core.service import Service
from cairn.errors import StorageError
from cairn.server import errors, maintenance, ui
from cairn.server.config import ServerConfig
from cairn.server.inputs import UrlText
from cairn.server.limits import BodyLimit
from cairn.server.logs import AccessLog
from cairn.server.metrics import Metrics, subscribe_core_events
from cairn.server.metrics import router as metrics_router
from cairn.server.request_id import RequestId
from cairn.server.routes import api_router, health, outside_router
from cairn.server.state import ServerState
from cairn.version import __version__


class SchemaError(RuntimeError):
    """The database schema is older than this server: run ``cairn server migrate``."""


def check_schema(db: Database, *, create: bool) -> None:
    """Create the schema on an empty database; refuse to serve an outdated one.

    Raises:
        SchemaError: the schema is at another revision than this server's.
    """
    current = db.current_revision()
    if current is None and create and not db.table_names():
        db.migrate()
        return
    if current != db.head_revision():
        raise SchemaError(
            f"the database schema is at revision {current or 'none'}, this server needs "
            f"{db.head_revision()}: run `cairn server migrate --db ...` first"
        )


def _open_database(config: ServerConfig) -> Database:
    """The database, its schema checked; a URL or server that will not do is a StorageError
    naming it (with any password hidden), not a driver's traceback."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        shown = shown_url(config.db_url)
    except ArgumentError:
        raise StorageError(
            f"{config.db_url!r} is not a database URL: use sqlite:///path or "
            "postgresql://user@host/db"
        ) from None
    try:
        db = Database(
            config.db_url, pool_size=config.db_pool_size, max_overflow=config.db_max_overflow
        )
        check_schema(db, create=config.create_schema)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StorageError(f"cannot open the database {shown}: {reason}") from None
    return db


def open_state(config: ServerConfig) -> ServerState:
    db = _open_database(config)
    store = open_store(config.store_uri, **config.store_options)
    stamp.pair(db, store, config.store_uri)  # a database and another installation's store: no
    sweep_temporaries(store)  # what a server killed mid-upload left behind (core/gc.py)
    policy = PackPolicy.for_store(
        store,
        enabled=config.packs if config.pack_threshold else False,
        threshold=config.pack_threshold or 1,
        target=config.pack_target,
        max_bytes=config.max_pack_bytes,
        max_blobs=config.max_digests,
    )
    return ServerState(
        config=config,
        db=db,
        store=store,
        service=Service(
            db,
            store,
            packs=policy,
            limits=CommitLimits(
                config.max_entries, config.max_path_length, config.max_manifest_bytes
            ),
        ),
        accounts=Accounts(db, cache_seconds=config.auth_cache_seconds),
    )


def create_app(config: ServerConfig, state: ServerState | None = None) -> FastAPI:
    """A FastAPI app serving one database and blob store (``state`` lets tests share one)."""
    state = state or open_state(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        interval = config.maintenance_interval
        task = asyncio.create_task(maintenance.run_forever(state, interval)) if interval else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        state.db.dispose()

    app = FastAPI(
        title="Cairn",
        version=__version__,
        description="Versioned datasets and models. Every error body is "
        '{"error": {"code", "message", "details"}}.',
        lifespan=lifespan,
        docs_url=None,  # served by the UI from local copies of their scripts (no CDN)
        redoc_url=None,
    )
    app.state.cairn = state
    generate = app.openapi
    app.openapi = lambda: errors.document_errors(generate())  # type: ignore[method-assign]
    errors.install(app)
    # Any URL can meet the middleware's 408/413/422, health checks included.
    app.include_router(health.router, responses=errors.responses(408, 413, 422, 500))
    app.include_router(metrics_router, responses=errors.responses(408, 413, 422, 500))
    subscribe_core_events()
    app.include_router(api_router())
    app.include_router(outside_router())  # the W&B client's paths (cairn.server.graphql)
    ui.install(app)
    app.add_middleware(
        BodyLimit,
        max_json=config.max_json_bytes,
        max_blob=config.max_blob_bytes,
        max_pack=config.max_pack_bytes,
        read_timeout=config.read_timeout,
    )
    app.add_middleware(UrlText)
    app.add_middleware(Metrics)
    app.add_middleware(AccessLog)  # inside RequestId, so its record carries the request's id
    app.add_middleware(RequestId)  # the outermost: every answer, even a 413, carries the id
    return app
