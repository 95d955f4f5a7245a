"""Several server processes on one host: ``cairn server --workers N``.

The server keeps no state between requests (everything lives in the database and the store),
so uvicorn may run N copies of the app, each in its own process with its own connection pool,
sharing the listening socket. uvicorn starts workers by importing an app factory by name, so
the parent hands the :class:`~cairn.server.config.ServerConfig` down in one environment
variable; the parent has already created the schema and the first admin, so a worker only
opens what is there.
"""

from __future__ import annotations

import dataclasses
import json
import os

from fastapi import FastAPI

from cairn.server.app import create_app
from cairn.server.config import ServerConfig

CONFIG_ENV = "CAIRN_SERVER_CONFIG_JSON"
FACTORY = "cairn.server.workers:app_from_environment"


def export_config(config: ServerConfig) -> None:
    """Put ``config`` where the workers' :func:`app_from_environment` finds it."""
    os.environ[CONFIG_ENV] = json.dumps(dataclasses.asdict(config))


def app_from_environment() -> FastAPI:
    """The app of one worker process (uvicorn calls this, ``factory=True``)."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{CONFIG_ENV} is not set: start workers with `cairn server --workers`")
    return create_app(ServerConfig(**json.loads(raw)))
