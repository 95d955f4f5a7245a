"""Reference handlers: entries that point at data which stays where it is.

A handler is chosen by URI scheme from a lazy registry. Each has two jobs: turn a URI into
manifest entries (``store``), and fetch an entry's bytes back, checking they are still the ones
recorded (``load``). ``file://`` is built in; the other schemes are added by the references work.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlparse

from cairn.cache.memo import ChecksumMemo
from cairn.errors import NotImplementedFeatureError
from cairn.manifest import ManifestEntry


class ReferenceHandler(Protocol):
    def store(
        self, uri: str, name: str | None, *, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """Manifest entries for a URI (a prefix or directory expands to many)."""

    def load(self, entry: ManifestEntry, dest: str) -> None:
        """Write the referenced bytes to ``dest``; raise if they are not the recorded ones."""


def scheme_of(uri: str) -> str:
    return urlparse(uri).scheme.lower()


def handler_for(uri: str, memo: ChecksumMemo) -> ReferenceHandler:
    scheme = scheme_of(uri)
    if scheme == "file":
        from cairn.references.file import FileHandler

        return FileHandler(memo)
    raise NotImplementedFeatureError(
        f"references with the {scheme or 'no'!r} scheme are not supported yet (only file:// "
        "references are); s3, gs, azure, http(s) and artifact-entry references are planned"
    )
