"""References with a scheme Cairn cannot read (``ftp://``, ``hdfs://``, ``azure://``, …).

The URI is tracked as is: it is the digest (so a new version appears only when the URI changes),
the size is unknown, and nothing is listed or fetched. Downloading such an entry raises
:class:`~cairn.errors.NotImplementedFeatureError`, which ``download(allow_missing_references=True)``
skips like any other reference it cannot fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from cairn.cache.memo import ChecksumMemo
from cairn.errors import NotImplementedFeatureError, ValidationError
from cairn.manifest import ManifestEntry, normalize_entry_path
from cairn.references.entries import display_uri


class TrackingHandler:
    @classmethod
    def create(cls, memo: ChecksumMemo, env: Mapping[str, str]) -> TrackingHandler:
        return cls()

    def store(
        self, uri: str, name: str | None, *, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """One entry named ``name``: as in W&B, nothing is inferred from an unknown scheme.

        Raises:
            ValidationError: no ``name`` was given.
            InvalidPathError: the name is not a valid entry path.
        """
        if name is None:
            raise ValidationError(
                f"reference {display_uri(uri)!r} has a scheme Cairn cannot read: pass "
                'name="<entry name>" to track it'
            )
        return [ManifestEntry(path=normalize_entry_path(name), digest=uri, ref=uri)]

    def load(self, entry: ManifestEntry, dest: str) -> None:
        """Always raises NotImplementedFeatureError: these references are tracked only."""
        scheme = urlparse(entry.ref or "").scheme
        raise NotImplementedFeatureError(
            f"entry {entry.path!r} ({display_uri(entry.ref or '')}): {scheme}:// references are "
            "tracked, not downloadable; Cairn reads file, http(s), s3, gs and Azure Blob URIs"
        )
