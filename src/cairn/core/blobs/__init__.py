"""Blob stores, chosen by URI scheme from a lazy registry.

Every store lays blobs out the same way, named by the hex MD5 of their bytes::

    <root>/objects/md5/
        d4/
            1d8cd98f00b204e9800998ecf8427e      ← the empty blob
        ab/
            cdef0123...

``file:///path`` (or a plain path) opens :class:`~cairn.core.blobs.local.LocalBlobStore`;
``s3://bucket/prefix`` opens the S3 store, which needs ``pip install 'cairn[s3]'``.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlparse

from cairn.core.blobs.base import BlobStore, blob_key
from cairn.errors import ValidationError

# scheme → (module, class, pip extra). Modules are imported only when a store is opened.
_REGISTRY: dict[str, tuple[str, str, str | None]] = {
    "file": ("cairn.core.blobs.local", "LocalBlobStore", None),
    "s3": ("cairn.core.blobs.s3", "S3BlobStore", "s3"),
}


def open_store(uri: str, **options: Any) -> BlobStore:
    """Open the blob store a URI names (``file:///srv/blobs``, ``s3://bucket/prefix``)."""
    parsed = urlparse(uri)
    scheme = parsed.scheme or "file"
    if len(scheme) == 1:  # a Windows drive letter, not a scheme
        scheme = "file"
    try:
        module_name, cls_name, extra = _REGISTRY[scheme]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValidationError(f"no blob store for {scheme!r} URIs (known: {known})") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f"; install it with: pip install 'cairn[{extra}]'" if extra else ""
        raise ImportError(f"the {scheme!r} blob store needs {exc.name}{hint}") from exc
    store: BlobStore = getattr(module, cls_name).from_uri(uri, **options)
    return store


__all__ = ["BlobStore", "blob_key", "open_store"]
