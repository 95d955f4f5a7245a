"""The part of the s3, gs and azure handlers that does not depend on the store.

A bucket store answers three questions — what is at this key (``head``), what is under this
prefix (``list_prefix``), and give me these bytes if they are still the ones I recorded
(``fetch``) — and translates its SDK's exceptions at one boundary (``errors``).
:class:`ObjectStoreHandler` turns those into ``store``/``load`` with the prefix rules, the
``max_objects`` bound, the names and the error messages shared by every store::

    uri names an existing object      → that object (named by its last segment, or ``name``)
    otherwise                         → everything under ``key/`` (a folder; ``images`` never
                                        matches ``images2/x``), named by the path below it
    checksum=False                    → one entry whose digest is the URI itself; no listing

``load`` asks for the recorded version (``extra["versionID"]``) when there is one, so a
versioned bucket returns the logged bytes after an overwrite; otherwise the store must refuse,
or the handler detect, an object whose digest is no longer the recorded one.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from cairn.errors import DigestMismatchError, NotFoundError, ValidationError
from cairn.manifest import ManifestEntry
from cairn.references.entries import (
    dir_prefix,
    display_uri,
    member_name,
    object_limit,
    single_name,
    too_many,
)

CHUNK = 1 << 20


@dataclass(frozen=True)
class Location:
    """Where a URI points: ``account`` (Azure only), bucket or container, key, pinned version."""

    bucket: str
    key: str
    version: str | None = None
    account: str = ""


@dataclass(frozen=True)
class StoredObject:
    """One object as its store reports it; ``extra`` goes to the manifest entry as is."""

    key: str
    digest: str
    size: int
    extra: Mapping[str, Any] = field(default_factory=dict)


class ObjectMissing(Exception):
    """Raised by ``fetch`` when the object (or the asked-for version) is not there."""


class ObjectChanged(Exception):
    """Raised by ``fetch`` when the object's digest is no longer the expected one."""


class ObjectStoreHandler(ABC):
    """``store``/``load`` for a bucket-and-key store; subclasses speak to the store itself."""

    scheme: ClassVar[str]
    product: ClassVar[str]  # for messages: "S3", "GCS", "Azure Blob Storage"

    # -- what a store supplies ----------------------------------------------------------------
    @abstractmethod
    def parse(self, uri: str) -> Location:
        """Split ``uri``; raise ValidationError if it is not one of this store's URIs."""

    @abstractmethod
    def uri_of(self, loc: Location, key: str) -> str:
        """The reference URI recorded for ``key`` (no version: that goes to ``extra``)."""

    @abstractmethod
    def head(self, loc: Location) -> StoredObject | None:
        """The object at ``loc`` (its pinned version if any), or None when there is none."""

    @abstractmethod
    def list_prefix(self, loc: Location, prefix: str) -> Iterator[StoredObject]:
        """The objects under ``prefix`` in key order, folder placeholders left out."""

    @abstractmethod
    def fetch(self, loc: Location, digest: str | None, out: IO[bytes]) -> None:
        """Write the object's bytes to ``out``.

        With ``digest``, only if the store's digest for it is ``digest`` (else ObjectChanged);
        ``loc.version`` pins a version. Raises ObjectMissing when it is not there.
        """

    @abstractmethod
    def errors(self, what: str) -> AbstractContextManager[None]:
        """Translate the SDK's exceptions inside the block to cairn errors naming ``what``."""

    # -- the handler ----------------------------------------------------------------------------
    def store(
        self, uri: str, name: str | None, *, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """Entries for an object, or for every object under a prefix.

        Raises:
            NotFoundError: no object at ``uri`` and nothing under it (or no such bucket).
            ValidationError: the expansion exceeds ``max_objects``; a malformed URI.
            PermissionDeniedError: the store refused the credentials its SDK found.
            StorageError: the store could not be reached or failed.
        """
        loc = self.parse(uri)
        if not checksum:
            # Only the URI is recorded: no listing, and a new version only when the URI changes.
            entry_name = single_name(uri, name, loc.key or loc.bucket)
            return [ManifestEntry(path=entry_name, digest=uri, ref=uri)]
        limit = object_limit(max_objects)
        what = f"reference {display_uri(uri)!r}"
        with self.errors(what):
            found = self.head(loc) if loc.key and not loc.key.endswith("/") else None
            if found is not None:
                return [self._entry(loc, found, single_name(uri, name, loc.key))]
            if loc.version is not None:
                raise NotFoundError(f"{what}: no object {loc.key!r} at version {loc.version!r}")
            prefix = dir_prefix(loc.key)
            objects: list[StoredObject] = []
            for obj in self.list_prefix(loc, prefix):
                if len(objects) == limit:
                    raise too_many(uri, limit)
                objects.append(obj)
        if not objects:
            raise NotFoundError(
                f"{what}: no object {loc.key!r} and no objects under {prefix!r} "
                f"in {self.product} bucket {loc.bucket!r}"
            )
        return [self._entry(loc, o, member_name(name, o.key[len(prefix) :])) for o in objects]

    def load(self, entry: ManifestEntry, dest: str) -> None:
        """Write the referenced object to ``dest``, checking it is the one recorded.

        Raises:
            NotFoundError: the object (or its recorded version) is gone.
            DigestMismatchError: the object changed since it was logged.
            PermissionDeniedError, StorageError: as for :meth:`store`.
        """
        if entry.ref is None:
            raise ValidationError(f"entry {entry.path!r} is not a reference")
        loc = self.parse(entry.ref)
        what = f"entry {entry.path!r} ({display_uri(entry.ref)})"
        checked = entry.digest != entry.ref  # checksum=False recorded the URI alone
        version = entry.extra.get("versionID") if checked else None
        if version is not None:
            loc = Location(loc.bucket, loc.key, str(version), loc.account)
        try:
            with open(dest, "wb") as out, self.errors(what):
                self.fetch(loc, entry.digest if checked else None, out)
        except ObjectMissing:
            gone = f"version {version!r} of " if version is not None else ""
            raise NotFoundError(
                f"{what}: {gone}the referenced object is gone from {self.product}"
            ) from None
        except ObjectChanged:
            raise DigestMismatchError(
                f"{what}: the referenced object changed since it was logged"
            ) from None
        if checked and entry.size is not None and os.path.getsize(dest) != entry.size:
            raise DigestMismatchError(
                f"{what}: got {os.path.getsize(dest)} bytes, {entry.size} were recorded"
            )

    def _entry(self, loc: Location, obj: StoredObject, path: str) -> ManifestEntry:
        return ManifestEntry(
            path=path,
            digest=obj.digest,
            size=obj.size,
            ref=self.uri_of(loc, obj.key),
            extra=dict(obj.extra),
        )
