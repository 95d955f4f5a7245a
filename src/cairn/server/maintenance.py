"""The server's background maintenance: expiring versions whose TTL has passed.

It runs in the app's lifespan, every ``ServerConfig.maintenance_interval`` seconds, on every
replica; the core takes an advisory lock for it (:func:`cairn.core.db.locks.try_hold_maintenance`),
so one replica at a time does the work. Blobs of expired versions are left to ``cairn gc``'s
two-phase reclamation.
"""

from __future__ import annotations

import asyncio
import logging

import anyio

from cairn.core.access import Principal
from cairn.records import VersionRecord
from cairn.server.state import ServerState

log = logging.getLogger("cairn.server.maintenance")
MAINTAINER = Principal(name="maintenance", is_superuser=True)


def run_once(state: ServerState) -> list[VersionRecord]:
    """Expire what is due now; return the versions that went."""
    gone = state.service.bind(MAINTAINER).expire_versions()
    if gone:
        log.info("expired %d version(s) whose TTL had passed", len(gone))
    return gone


async def run_forever(state: ServerState, interval: float) -> None:
    """Run :func:`run_once` every ``interval`` seconds until cancelled; a failed run is logged
    and the next one tried (a database restart must not end maintenance for good)."""
    while True:
        try:
            await anyio.to_thread.run_sync(run_once, state)
        except Exception:
            # A database error of any kind (a restart, a lost connection): log it and keep
            # the loop, or one outage would end maintenance until the server restarts.
            log.exception("maintenance failed, will retry")
        await asyncio.sleep(interval)
