"""The content-addressed object cache.

Objects live at ``objects/md5/<hex[:2]>/<hex[2:]>``, read-only. Every object is written to a
process-unique temporary name, hashed on the way, and renamed into place only when its bytes
match its name: a reader sees a whole, verified object or none, and two processes fetching the
same blob both succeed (a file lock would only save the duplicated work, so there is none).

Downloads are materialised from here by hard link when the filesystem allows (else by copy),
through a temporary name and a rename. Because a linked download shares its inode with the
cache object, the object's (inode, size, mtime) are memoised when it is written; an object whose
stat no longer matches (someone wrote through a linked download) is re-hashed before use and
evicted if it changed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from cairn.cache.memo import ChecksumMemo
from cairn.errors import DigestMismatchError
from cairn.manifest.digest import CHUNK

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def unique_tmp(directory: Path, hint: str = "") -> Path:
    return directory / f".cairn-tmp-{os.getpid()}-{uuid.uuid4().hex}{hint}"


def copy_hashing(src: IO[bytes], dest: Path) -> tuple[str, int]:
    """Copy a stream into a new file, returning (hex MD5, size) of what was written."""
    h = hashlib.md5()
    size = 0
    with open(dest, "xb") as out:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def hash_path(path: Path | str) -> tuple[str, int]:
    h = hashlib.md5()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


class ObjectCache:
    def __init__(self, root: Path, memo: ChecksumMemo | None = None) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.memo = memo if memo is not None else ChecksumMemo(root / "memo.db")

    def path_for(self, hexdigest: str) -> Path:
        return self.root / "objects" / "md5" / hexdigest[:2] / hexdigest[2:]

    def new_tmp(self) -> Path:
        return unique_tmp(self.tmp)

    def has(self, hexdigest: str) -> bool:
        return self.path_for(hexdigest).is_file()

    def _publish(self, tmp: Path, hexdigest: str) -> Path:
        final = self.path_for(hexdigest)
        os.chmod(tmp, READ_ONLY)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        self.memo.remember([(str(final), final.stat(), hexdigest)])
        return final

    def ingest_file(self, src: Path | str) -> tuple[str, int, Path]:
        """Copy a file into the cache while hashing it: (hex MD5, size, object path)."""
        tmp = self.new_tmp()
        try:
            with open(src, "rb") as f:
                hexdigest, size = copy_hashing(f, tmp)
            return hexdigest, size, self._publish(tmp, hexdigest)
        finally:
            tmp.unlink(missing_ok=True)

    def admit(self, tmp: Path, hexdigest: str) -> Path:
        """Verify a fetched temporary file against its digest and move it into place."""
        actual, _ = hash_path(tmp)
        if actual != hexdigest:
            tmp.unlink(missing_ok=True)
            raise DigestMismatchError(
                f"downloaded bytes for blob {hexdigest} hash to {actual}; discarded",
                details={"expected": hexdigest, "actual": actual},
            )
        return self._publish(tmp, hexdigest)

    def valid(self, hexdigests: Iterable[str]) -> set[str]:
        """The objects present and intact; a changed object is evicted (and so not returned)."""
        stats: dict[str, os.stat_result] = {}
        by_path: dict[str, str] = {}
        for h in hexdigests:
            p = self.path_for(h)
            try:
                stats[str(p)] = p.stat()
            except FileNotFoundError:
                continue
            by_path[str(p)] = h
        known = self.memo.lookup(stats)
        good: set[str] = set()
        for path, h in by_path.items():
            if known.get(path) == h:
                good.add(h)
                continue
            actual, _ = hash_path(path)  # stat changed (or memo lost): check the bytes
            if actual == h:
                self.memo.remember([(path, stats[path], h)])
                good.add(h)
            else:
                Path(path).unlink(missing_ok=True)
        return good

    def materialize(self, hexdigest: str, dest: Path, *, link: bool = True) -> None:
        """Place the object at ``dest`` (hard link, else copy) via a temporary name."""
        src = self.path_for(hexdigest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = unique_tmp(dest.parent)
        try:
            linked = False
            if link:
                try:
                    os.link(src, tmp)
                    linked = True
                except OSError:
                    linked = False
            if not linked:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def b64(hexdigest: str) -> str:
        return base64.b64encode(bytes.fromhex(hexdigest)).decode("ascii")
