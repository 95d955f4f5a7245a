"""Reference handlers: entries that point at data which stays where it is.

A handler is chosen by URI from a lazy registry: a handler's module (and the cloud SDK it needs)
is imported only when a URI of its kind is first seen, and a kind whose SDK is not installed fails
with an :class:`ImportError` that names the pip extra, never at ``import cairn``. Each handler has
two jobs: turn a URI into manifest entries (``store``), and fetch an entry's bytes back, checking
they are still the ones recorded (``load``)::

    kind       chosen when                                   digest (size)          needs
    file       file://                                       MD5 of the bytes       -
    http       http://, https:// (not Azure)                 ETag, else the URI     -
    s3         s3://bucket/key-or-prefix                     ETag (+ versionID)     cairn[s3]
    gs         gs://bucket/key-or-prefix                     MD5 (+ versionID)      cairn[gcs]
    azure      https://<account>.blob.core.windows.net/...   ETag (+ versionID)     cairn[azure]
    tracking   any other scheme                              the URI (no size)      -

Credentials and endpoints come from each cloud SDK's usual places (its environment variables and
config files), never from Cairn's own store; the module of each kind says which. They never reach a
manifest or an error message.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

from cairn.cache.memo import ChecksumMemo
from cairn.manifest import ManifestEntry

AZURE_BLOB_HOST_SUFFIX = ".blob.core.windows.net"


class ReferenceHandler(Protocol):
    def store(
        self, uri: str, name: str | None, *, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """Manifest entries for a URI (a prefix or directory expands to many)."""

    def load(self, entry: ManifestEntry, dest: str) -> None:
        """Write the referenced bytes to ``dest``; raise if they are not the recorded ones."""


class HandlerFactory(Protocol):
    def __call__(self, memo: ChecksumMemo, env: Mapping[str, str]) -> ReferenceHandler: ...


@dataclass(frozen=True)
class HandlerSpec:
    """Where a kind's handler lives, and what must be installed for it."""

    module: str
    factory: str  # a callable in ``module``: (memo, env) -> handler
    requires: str | None = None  # the module the cloud SDK provides
    package: str | None = None  # the distribution that provides it
    extra: str | None = None  # the pip extra that installs it


REGISTRY: dict[str, HandlerSpec] = {
    "file": HandlerSpec("cairn.references.file", "FileHandler.create"),
    "http": HandlerSpec("cairn.references.http", "HttpHandler.create"),
    "s3": HandlerSpec("cairn.references.s3", "S3Handler.create", "boto3", "boto3", "s3"),
    "gs": HandlerSpec(
        "cairn.references.gcs",
        "GCSHandler.create",
        "google.cloud.storage",
        "google-cloud-storage",
        "gcs",
    ),
    "azure": HandlerSpec(
        "cairn.references.azure",
        "AzureHandler.create",
        "azure.storage.blob",
        "azure-storage-blob",
        "azure",
    ),
    "tracking": HandlerSpec("cairn.references.tracking", "TrackingHandler.create"),
}


def scheme_of(uri: str) -> str:
    return urlparse(uri).scheme.lower()


def kind_of(uri: str) -> str:
    """The registry key for ``uri``: its scheme, except Azure Blob URLs and unknown schemes."""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "https" and (parsed.hostname or "").endswith(AZURE_BLOB_HOST_SUFFIX):
        return "azure"
    if scheme == "https":
        return "http"
    if scheme in REGISTRY and scheme not in ("azure", "tracking"):
        return scheme
    return "tracking"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package (``google``, ``azure``) is missing
        return False


def _factory(spec: HandlerSpec) -> HandlerFactory:
    obj: object = importlib.import_module(spec.module)
    for attr in spec.factory.split("."):
        obj = getattr(obj, attr)
    factory: HandlerFactory = obj  # type: ignore[assignment]
    return factory


def handler_for(
    uri: str, memo: ChecksumMemo, env: Mapping[str, str] | None = None
) -> ReferenceHandler:
    """The handler for ``uri``'s kind, configured from ``env`` (default: the process environment).

    Raises:
        ImportError: the kind's cloud SDK is not installed; the message names the pip extra.
    """
    kind = kind_of(uri)
    spec = REGISTRY[kind]
    if spec.requires is not None and not _installed(spec.requires):
        raise ImportError(
            f"{kind} references ({scheme_of(uri)}://...) need {spec.package}: "
            f"pip install 'cairn[{spec.extra}]'"
        )
    return _factory(spec)(memo, os.environ if env is None else env)
