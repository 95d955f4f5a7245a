"""The team backend: the Backend protocol over HTTP to a Cairn server (httpx).

Modules, by what they hold: :mod:`.sending` (clients, retries, the one error boundary),
:mod:`.errors` (error answers to :mod:`cairn.errors`), :mod:`.uploads`, :mod:`.downloads`,
:mod:`.backend` (:class:`HttpBackend`, every other call).
"""

from __future__ import annotations

from cairn.backend.http.backend import HttpBackend
from cairn.backend.http.errors import error_from as _error_from
from cairn.wire import IDEMPOTENCY_HEADER, MANIFEST_DIGEST_HEADER, REQUEST_ID_HEADER

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MANIFEST_DIGEST_HEADER",
    "REQUEST_ID_HEADER",
    "HttpBackend",
    "_error_from",
]
