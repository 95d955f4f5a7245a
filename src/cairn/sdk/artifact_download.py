"""Reading a logged version: its entries, rich objects and files, downloaded into a folder.

The functions here are methods of :class:`~cairn.sdk.artifact.Artifact`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import (
    EntryNotFoundError,
    ValidationError,
)
from cairn.manifest import ManifestEntry, normalize_entry_path
from cairn.sdk import context, transfer
from cairn.sdk.entry import ArtifactManifestEntry

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact
    from cairn.sdk.files import ArtifactFiles


def get(self: Artifact, name: str) -> Any:
    """Rebuild the rich object stored at ``name`` by :meth:`add`.

    Raises ArtifactNotLoggedError on a draft and KeyError if nothing is stored there.
    """
    self._ensure_logged("get")
    from cairn import media

    manifest = self._loaded_manifest()

    def read(path: str) -> Path | None:
        if path not in manifest:
            return None
        return Path(self._download_entries([path], root=None, skip_cache=None)[path])

    def list_paths(prefix: str) -> list[str]:
        return manifest.paths_under(normalize_entry_path(prefix))

    return media.deserialize(name, read, list_paths)


def getitem(self: Artifact, name: str) -> Any:
    return self.get(name)


def get_entry(self: Artifact, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
    """The entry at ``name`` of a logged version.

    Raises ArtifactNotLoggedError on a draft (as W&B) and KeyError (EntryNotFoundError) if
    there is no such entry.
    """
    self._ensure_logged("get_entry")
    path = normalize_entry_path(name)
    if self._manifest is None and self._record is not None:
        assert self._backend is not None
        rows, _ = self._backend.list_files(self._record.id, names=[path], after=None, limit=1)
        if rows:
            row = rows[0]
            return ArtifactManifestEntry(ManifestEntry.from_json(row["path"], row), self)
    else:
        entry = self._loaded_manifest().get(path)
        if entry is not None:
            return ArtifactManifestEntry(entry, self)
    raise EntryNotFoundError(f"no entry {path!r} in artifact {self.name}")


def get_path(self: Artifact, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
    """Deprecated: use :meth:`get_entry`."""
    warnings.warn(
        "Artifact.get_path is deprecated; use get_entry", DeprecationWarning, stacklevel=2
    )
    return self.get_entry(name)


def _default_root(self: Artifact, include_version: bool = True) -> Path:
    """``<artifact_dir>/<collection>:vN`` (``-`` for ``:`` on Windows), absolute; without
    the version for ``checkout()``, whose one working copy follows the collection."""
    settings = self._settings or self._local_settings()
    name = self.name if include_version else self._name
    if os.name == "nt":
        name = name.replace(":", "-")
    return (settings.artifact_dir / name).absolute()


def _download_entries(
    self: Artifact,
    paths: Sequence[str],
    *,
    root: str | os.PathLike[str] | None,
    skip_cache: bool | None,
    allow_missing_references: bool = False,
) -> dict[str, str]:
    record = self._ensure_logged("download")
    assert self._backend is not None and self._settings is not None
    # Absolute, as W&B returns them: a later chdir cannot make the answer point elsewhere.
    target = Path(root).absolute() if root is not None else self._default_root()
    return transfer.download(
        self._loaded_manifest(),
        paths,
        target,
        backend=self._backend,
        cache=context.cache_for(self._settings),
        settings=self._settings,
        skip_cache=bool(skip_cache),
        allow_missing_references=allow_missing_references,
        artifact=f"{record.entity}/{record.project}/{record.collection}:{record.version}",
    )


def download(
    self: Artifact,
    root: str | os.PathLike[str] | None = None,
    allow_missing_references: bool = False,
    skip_cache: bool | None = None,
    path_prefix: str | os.PathLike[str] | None = None,
) -> str:
    """Download the files (under ``path_prefix``, if given) into ``root``; returns the
    absolute path of root (default ``<artifact_dir>/<collection>:vN``)."""
    self._ensure_logged("download")
    target = Path(root).absolute() if root is not None else self._default_root()
    manifest = self._loaded_manifest()
    prefix = os.fspath(path_prefix) if path_prefix is not None else ""
    paths = [p for p in manifest.entries if p.startswith(prefix)]
    self._download_entries(
        paths,
        root=target,
        skip_cache=skip_cache,
        allow_missing_references=allow_missing_references,
    )
    return str(target)


def checkout(self: Artifact, root: str | None = None) -> str:
    """Make ``root`` hold exactly this artifact's files (others are deleted); returns its
    absolute path (default ``<artifact_dir>/<collection>``: one working copy)."""
    self._ensure_logged("checkout")
    target = Path(root).absolute() if root is not None else self._default_root(False)
    self.download(root=target)
    transfer.remove_extra(self._loaded_manifest(), target)
    return str(target)


def verify(self: Artifact, root: str | None = None) -> None:
    """Raise ValueError naming every file under ``root`` that differs from the manifest."""
    self._ensure_logged("verify")
    assert self._settings is not None
    target = Path(root) if root is not None else self._default_root()
    transfer.verify(
        self._loaded_manifest(),
        target,
        context.cache_for(self._settings),
        self._settings.hash_workers,
    )


def file(self: Artifact, root: str | None = None) -> str:
    """Download a single-file artifact; returns the file's absolute path."""
    record = self._ensure_logged("file")
    if record.file_count != 1:
        raise ValidationError(
            f"file() needs an artifact with exactly one file; {self.name} has {record.file_count}"
        )
    (path,) = self._loaded_manifest().entries
    return self._download_entries([path], root=root, skip_cache=None)[path]


def files(self: Artifact, names: list[str] | None = None, per_page: int = 50) -> ArtifactFiles:
    """Iterate over the version's files, fetched a page at a time."""
    self._ensure_logged("files")
    from cairn.sdk.files import ArtifactFiles

    return ArtifactFiles(self, names=names, per_page=per_page)
