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

import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Sequence, Set
from pathlib import Path

from cairn.cache.memo import ChecksumMemo
from cairn.errors import DigestMismatchError
from cairn.manifest.digest import copy_hashing, md5_file

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def unique_tmp(directory: Path, hint: str = "") -> Path:
    return directory / f".cairn-tmp-{os.getpid()}-{uuid.uuid4().hex}{hint}"


def check_file(path: Path | str, hexdigest: str) -> None:
    """Raise DigestMismatchError (and delete the file) unless its bytes hash to ``hexdigest``."""
    actual, _ = md5_file(path)
    if actual != hexdigest:
        os.unlink(path)
        raise DigestMismatchError(
            f"downloaded bytes for blob {hexdigest} hash to {actual}; discarded",
            details={"expected": hexdigest, "actual": actual},
        )


class ObjectCache:
    def __init__(self, root: Path, memo: ChecksumMemo | None = None) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._objects = os.path.join(root, "objects", "md5")
        self._made: set[str] = set()  # fan-out folders known to exist (saves a mkdir per file)
        self.memo = memo if memo is not None else ChecksumMemo(root / "memo.db")

    def path_for(self, hexdigest: str) -> Path:
        return Path(self.object_path(hexdigest))

    def object_path(self, hexdigest: str) -> str:
        return os.path.join(self._objects, hexdigest[:2], hexdigest[2:])

    def new_tmp(self) -> Path:
        return unique_tmp(self.tmp)

    def has(self, hexdigest: str) -> bool:
        return os.path.isfile(self.object_path(hexdigest))

    def _publish(self, tmp: Path | str, hexdigest: str, *, remember: bool = True) -> str:
        """Rename a verified, read-only temporary file into place; returns the object path."""
        fan = os.path.join(self._objects, hexdigest[:2])
        if fan not in self._made:
            os.makedirs(fan, exist_ok=True)
            self._made.add(fan)
        final = os.path.join(fan, hexdigest[2:])
        os.replace(tmp, final)
        if remember:
            self.memo.remember([(final, os.stat(final), hexdigest)])
        return final

    def ingest_file(self, src: Path | str, *, remember: bool = True) -> tuple[str, int, str]:
        """Copy a file into the cache while hashing it: (hex MD5, size, object path).

        With ``remember=False`` the caller memoises the object itself (in a batch).
        """
        tmp = os.path.join(self.tmp, f".cairn-tmp-{os.getpid()}-{uuid.uuid4().hex}")
        try:
            with open(src, "rb") as f:
                hexdigest, size = copy_hashing(f, tmp, READ_ONLY)
            return hexdigest, size, self._publish(tmp, hexdigest, remember=remember)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def admit(self, tmp: Path, hexdigest: str) -> Path:
        """Verify a fetched temporary file against its digest and move it into place."""
        return Path(self.admit_many([(tmp, hexdigest)])[0])

    def admit_many(
        self, fetched: Sequence[tuple[Path, str]], verified: Set[str] = frozenset()
    ) -> list[str]:
        """Move fetched temporary files into place, each checked against its digest unless it
        is in ``verified`` (its bytes were hashed in memory on arrival); one memo write for
        all. Returns the object paths.

        Raises:
            DigestMismatchError: a file's bytes hash otherwise (it is deleted; the ones before
                it stay admitted).
        """
        done: list[tuple[str, os.stat_result, str]] = []
        try:
            for tmp, hexdigest in fetched:
                if hexdigest not in verified:
                    check_file(tmp, hexdigest)
                os.chmod(tmp, READ_ONLY)
                final = self._publish(tmp, hexdigest, remember=False)
                done.append((final, os.stat(final), hexdigest))
        finally:
            self.memo.remember(done)
        return [path for path, _, _ in done]

    def valid(self, hexdigests: Iterable[str]) -> set[str]:
        """The objects present and intact; a changed object is evicted (and so not returned)."""
        stats: dict[str, os.stat_result] = {}
        by_path: dict[str, str] = {}
        for h in hexdigests:
            p = self.object_path(h)
            try:
                stats[p] = os.stat(p)
            except FileNotFoundError:
                continue
            by_path[p] = h
        known = self.memo.lookup(stats)
        good: set[str] = set()
        for path, h in by_path.items():
            if known.get(path) == h:
                good.add(h)
                continue
            actual, _ = md5_file(path)  # stat changed (or memo lost): check the bytes
            if actual == h:
                self.memo.remember([(path, stats[path], h)])
                good.add(h)
            else:
                Path(path).unlink(missing_ok=True)
        return good

    def materialize(self, hexdigest: str, dest: Path | str, *, link: bool = True) -> None:
        """Place the object at ``dest`` (hard link, else copy) via a temporary name.

        The destination's folder must exist.
        """
        src = self.object_path(hexdigest)
        if link:
            try:
                # Where nothing is in the way, the link itself appears atomically, whole.
                os.link(src, dest)
                return
            except FileExistsError:
                pass  # replace what is there, below, through a temporary name
            except OSError:
                link = False  # another filesystem, or no links here: copy
        parent = os.path.dirname(dest)
        tmp = os.path.join(parent, f".cairn-tmp-{os.getpid()}-{uuid.uuid4().hex}")
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
            if os.path.lexists(tmp):
                os.unlink(tmp)
