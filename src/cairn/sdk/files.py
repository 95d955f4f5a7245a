"""Paging through a logged version's files without loading its whole manifest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cairn.manifest import ManifestEntry, normalize_entry_path

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact


class File:
    """One file of a logged artifact version."""

    def __init__(self, artifact: Artifact, entry: ManifestEntry) -> None:
        self._artifact = artifact
        self._entry = entry

    @property
    def name(self) -> str:
        return self._entry.path

    path = name

    @property
    def size(self) -> int | None:
        return self._entry.size

    @property
    def digest(self) -> str:
        return self._entry.digest

    md5 = digest

    @property
    def ref(self) -> str | None:
        return self._entry.ref

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        replace: bool = False,
        exist_ok: bool = False,
    ) -> str:
        """Download this file under ``root``; returns its local path."""
        return self._artifact._download_entries([self._entry.path], root=root, skip_cache=None)[
            self._entry.path
        ]

    def __repr__(self) -> str:
        return f"<File {self.name!r} ({self.size} bytes)>"


class ArtifactFiles:
    """An iterable over a version's files, ``per_page`` at a time, in path order."""

    def __init__(self, artifact: Artifact, *, names: list[str] | None, per_page: int) -> None:
        self._artifact = artifact
        self._names = [normalize_entry_path(n) for n in names] if names is not None else None
        self._per_page = max(1, int(per_page))

    def pages(self) -> Iterator[list[File]]:
        record = self._artifact._ensure_logged("files")
        backend = self._artifact._backend
        assert backend is not None
        cursor: str | None = None
        while True:
            rows, cursor = backend.list_files(
                record.id, names=self._names, after=cursor, limit=self._per_page
            )
            yield [File(self._artifact, _entry(r)) for r in rows]
            if cursor is None:
                return

    def __iter__(self) -> Iterator[File]:
        for page in self.pages():
            yield from page

    def __len__(self) -> int:
        if self._names is not None:
            return sum(1 for _ in self)
        return self._artifact.file_count


def _entry(row: dict[str, Any]) -> ManifestEntry:
    return ManifestEntry.from_json(row["path"], row)
