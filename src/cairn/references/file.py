"""``file://`` references: files on mounted volumes (NFS and the like), tracked in place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from cairn.cache.hashing import hash_files, walk_files
from cairn.cache.memo import ChecksumMemo
from cairn.errors import DigestMismatchError, ReferenceNotFoundError, ValidationError
from cairn.manifest import ManifestEntry, normalize_entry_path
from cairn.manifest.digest import hash_file
from cairn.references.entries import member_name, object_limit, too_many


def file_uri(path: str) -> str:
    return "file://" + quote(os.path.abspath(path))


def local_path_of(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise ValidationError(f"file URI {uri!r} names host {parsed.netloc!r}; use file:///path")
    return unquote(parsed.path)


class FileHandler:
    def __init__(self, memo: ChecksumMemo) -> None:
        self.memo = memo

    @classmethod
    def create(cls, memo: ChecksumMemo, env: Mapping[str, str]) -> FileHandler:
        return cls(memo)

    def store(
        self, uri: str, name: str | None, *, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """Entries for a file, or for every file under a directory (symlinks followed).

        Raises:
            ReferenceNotFoundError: nothing at the path (a ValueError, as in W&B, and a
                LookupError).
            ValidationError: the directory holds more than ``max_objects`` files; a file URI
                that names a host.
        """
        path = local_path_of(uri)
        limit = object_limit(max_objects)
        base = os.path.basename(path.rstrip("/"))
        if not checksum:
            # Only the URI is recorded: a directory is not walked, and a new version appears
            # only when the URI itself changes.
            entry_name = normalize_entry_path(name if name is not None else base)
            return [ManifestEntry(path=entry_name, digest=uri, ref=uri)]
        if os.path.isfile(path):
            entry_name = normalize_entry_path(name if name is not None else base)
            (fd,) = hash_files([path], self.memo)
            return [
                ManifestEntry(path=entry_name, digest=fd.digest, size=fd.size, ref=file_uri(path))
            ]
        if not os.path.isdir(path):
            raise ReferenceNotFoundError(f"reference {uri!r}: no file or directory at {path}")
        files = walk_files(Path(path))
        if len(files) > limit:
            raise too_many(uri, limit)
        digests = hash_files([f for f, _ in files], self.memo)
        out = []
        for (full, rel), fd in zip(files, digests, strict=True):
            entry_name = member_name(name, rel)
            out.append(
                ManifestEntry(path=entry_name, digest=fd.digest, size=fd.size, ref=file_uri(full))
            )
        return out

    def load(self, entry: ManifestEntry, dest: str) -> None:
        """Copy the referenced file to ``dest`` if it still hashes to the recorded digest.

        Raises:
            ReferenceNotFoundError: the file is gone.
            DigestMismatchError: the file changed since it was logged.
        """
        if entry.ref is None:
            raise ValidationError(f"entry {entry.path!r} is not a reference")
        path = local_path_of(entry.ref)
        if not os.path.isfile(path):
            raise ReferenceNotFoundError(f"entry {entry.path!r}: referenced file {path} is missing")
        if entry.digest == entry.ref:  # recorded without a checksum: nothing to compare
            shutil.copyfile(path, dest)
            return
        shutil.copyfile(path, dest)
        if hash_file(dest)[0] != entry.digest:
            os.unlink(dest)
            raise DigestMismatchError(
                f"entry {entry.path!r}: referenced file {path} changed since it was logged"
            )
