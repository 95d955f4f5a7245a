"""The process-wide objects every request shares: the core service, accounts, the store."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from cairn.core.accounts import Accounts
from cairn.core.blobs.base import BlobStore
from cairn.core.databases import Database
from cairn.core.service import Service
from cairn.server.config import ServerConfig


@dataclass
class ServerState:
    config: ServerConfig
    db: Database
    store: BlobStore
    service: Service  # acting for nobody: bind a principal per request
    accounts: Accounts

    @property
    def presigned(self) -> bool:
        """Whether clients move bytes straight to the store (an S3 store, presign enabled)."""
        return self.config.presign and hasattr(self.store, "presign_put")


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.cairn
    return state
