"""The one interface the SDK calls: :class:`~cairn.backend.base.Backend`.

``local`` runs the core in-process on the embedded store; ``http`` (the team server) talks to a
Cairn server. :func:`open_backend` picks one from :class:`~cairn.config.Settings`.
"""

from __future__ import annotations

import threading

from cairn.backend.base import Backend, BlobDownload, BlobUpload
from cairn.config import Settings

_lock = threading.Lock()
_open: dict[tuple[str, str], Backend] = {}


def open_backend(settings: Settings) -> Backend:
    """The backend for these settings, shared within the process."""
    if settings.base_url:
        key = ("http", f"{settings.base_url}|{settings.api_key}")
    else:
        key = ("local", str(settings.data_dir.resolve()))
    with _lock:
        backend = _open.get(key)
        if backend is None:
            if settings.base_url:
                try:
                    from cairn.backend.http import HttpBackend
                except ImportError as exc:  # pragma: no cover - the server issue adds it
                    raise ImportError(
                        f"talking to a Cairn server needs {exc.name}: pip install 'cairn'"
                    ) from exc
                backend = HttpBackend(settings)
            else:
                from cairn.backend.local import LocalBackend

                backend = LocalBackend(settings.data_dir, workers=settings.transfer_workers)
            _open[key] = backend
        return backend


def close_backends() -> None:
    with _lock:
        for b in _open.values():
            b.close()
        _open.clear()


__all__ = ["Backend", "BlobDownload", "BlobUpload", "close_backends", "open_backend"]
