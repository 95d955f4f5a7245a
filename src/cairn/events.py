"""Counted events the core reports without knowing who listens (the server's metrics do).

The core calls :func:`emit`; the server subscribes Prometheus counters at start. Nothing here
imports anything of Cairn's, so every layer may emit. A listener must be cheap and must not
raise: it runs inside the core's call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

BLOBS_STORED = "blobs_stored"
BLOB_BYTES_STORED = "blob_bytes_stored"
PACKS_STORED = "packs_stored"
GC_RUNS = "gc_runs"
GC_BLOBS_DELETED = "gc_blobs_deleted"
VERSIONS_EXPIRED = "versions_expired"

NAMES = (
    BLOBS_STORED,
    BLOB_BYTES_STORED,
    PACKS_STORED,
    GC_RUNS,
    GC_BLOBS_DELETED,
    VERSIONS_EXPIRED,
)

Listener = Callable[[int], None]
_listeners: dict[str, list[Listener]] = {}
_lock = threading.Lock()


def subscribe(name: str, listener: Listener) -> Callable[[], None]:
    """Call ``listener(amount)`` on every ``emit(name, amount)``; returns an unsubscribe."""
    if name not in NAMES:
        raise ValueError(f"unknown event {name!r}")
    with _lock:
        _listeners.setdefault(name, []).append(listener)

    def unsubscribe() -> None:
        with _lock:
            _listeners[name].remove(listener)

    return unsubscribe


def emit(name: str, amount: int = 1) -> None:
    """Report ``amount`` occurrences of event ``name`` (a no-op when nobody listens)."""
    for listener in _listeners.get(name, ()):
        listener(amount)
