"""Process-wide handles: resolved settings and the shared cache and memo per cache folder.

Resolved lazily (never at import). Tests and long-lived programs can call :func:`reset`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cairn.backend import Backend, close_backends, open_backend
from cairn.cache import ChecksumMemo, ObjectCache
from cairn.config import Settings

_lock = threading.Lock()
_caches: dict[Path, ObjectCache] = {}


def settings(**overrides: Any) -> Settings:
    return Settings.resolve(**overrides)


def cache_for(s: Settings) -> ObjectCache:
    root = s.cache_dir.resolve()
    with _lock:
        cache = _caches.get(root)
        if cache is None:
            cache = ObjectCache(root, ChecksumMemo(root / "memo.db"))
            _caches[root] = cache
        return cache


def backend_for(s: Settings) -> Backend:
    return open_backend(s)


def reset() -> None:
    """Forget open backends and caches (their files stay)."""
    with _lock:
        for c in _caches.values():
            c.memo.close()
        _caches.clear()
    close_backends()
