"""The content-addressed object cache.

Objects live at ``objects/md5/<hex[:2]>/<hex[2:]>``, read-only::

    <cache>/
        objects/md5/ab/
            cdef0123…                        ← an object
        tmp/.cairn-tmp-<pid>-<uuid>          ← one being written
        memo.db                              ← the checksum memo

Every object is written to a process-unique temporary name, hashed on the way, and renamed
into place only when its bytes match its name: a reader sees a whole, verified object or
none, and two processes fetching the same blob both succeed (a file lock would only save the
duplicated work, so there is none). A process killed mid-write leaves its temporary file; the
names carry the pid.

Downloads are materialised from here by hard link when the filesystem allows (else by copy):
a new name is linked in place at once, an existing one replaced through a temporary name.
Because a linked download shares its inode with the cache object, the object's (inode, size,
mtime) are memoised when it is written; an object whose stat no longer matches (someone wrote
through a linked download) is re-hashed before use and evicted if it changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from cairn.cache.memo import ChecksumMemo
from cairn.errors import DigestMismatchError
from cairn.manifest.digest import copy_hashing, md5_file

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
SMALL_FILE = 1 << 16  # read whole, in one call


@dataclass(frozen=True)
class Ingested:
    """A file snapshotted into the cache: its digest, the object, and the two stats the memo
    keeps (the source's after the read, the object's as written)."""

    hexdigest: str
    size: int
    path: str
    source: os.stat_result
    written: os.stat_result


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
        # Called once per file of every add (20,000 for W1); a format is ~3x os.path.join.
        return f"{self._objects}/{hexdigest[:2]}/{hexdigest[2:]}"

    def new_tmp(self) -> Path:
        """A fresh temporary name in ``tmp/``.

        Not beside its object: measured here on ext4, snapshotting W1 (20,000 files) with the
        temporary files in the fan-out folders took 12-26 s against 4-9 s in one folder.
        """
        return unique_tmp(self.tmp)

    def _fan(self, hexdigest: str) -> str:
        fan = os.path.join(self._objects, hexdigest[:2])
        if fan not in self._made:
            os.makedirs(fan, exist_ok=True)
            self._made.add(fan)
        return fan

    def has(self, hexdigest: str) -> bool:
        return os.path.isfile(self.object_path(hexdigest))

    def _publish(self, tmp: Path | str, hexdigest: str, *, remember: bool = True) -> str:
        """Rename a verified, read-only temporary file into place; returns the object path."""
        final = os.path.join(self._fan(hexdigest), hexdigest[2:])
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

    def ingest_small(self, src: str) -> Ingested | None:
        """:meth:`ingest_file` for a small file, in as few system calls as it takes.

        Most files of a dataset are small, and then the cost is the calls, not the bytes:
        one read, and the stats the memo needs taken from the open descriptors. Returns None
        (having written nothing) if the file is larger than :data:`SMALL_FILE` after all.
        """
        fd = os.open(src, os.O_RDONLY)
        try:
            data = os.read(fd, SMALL_FILE + 1)
            source = os.fstat(fd)
        finally:
            os.close(fd)
        if len(data) > SMALL_FILE:
            return None
        hexdigest = hashlib.md5(data).hexdigest()
        tmp = str(self.new_tmp())
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
        try:
            try:
                os.write(out, data)
                written = os.fstat(out)  # rename keeps inode, size and mtime: the memo's key
            finally:
                os.close(out)
            final = self._publish(tmp, hexdigest, remember=False)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return Ingested(hexdigest, len(data), final, source, written)

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
