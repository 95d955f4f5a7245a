"""The team server: a FastAPI app of thin routes over :mod:`cairn.core`.

``create_app(ServerConfig(db_url=..., store_uri=...))`` builds it; ``cairn server`` runs it
under uvicorn. Every failure leaves as one JSON body, ``{"error": {"code", "message",
"details"}}``, whose ``code`` the HTTP backend maps back to the same :mod:`cairn.errors` class
the embedded store raises.
"""

from __future__ import annotations

from cairn.server.app import create_app
from cairn.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
