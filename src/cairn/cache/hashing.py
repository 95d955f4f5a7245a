"""Hashing files: one hashing reader and writer, and many files at once, memoised.

:class:`HashingReader` and :class:`HashingWriter` hash what passes through them, and
:func:`copy_hashing` copies a stream into a new file that way: every copy made while adding
files hashes on the same pass, so a byte is read once.

``hash_files`` stats every file, asks the memo for the ones unchanged since they were last
hashed, and reads only the rest. With ``cache`` given (``policy="mutable"``), each file's bytes
are snapshotted on that same read: a file smaller than :data:`~cairn.cache.staging.STAGE_BELOW`
into a staging pack (:mod:`cairn.cache.staging`), a larger one into its own cache object (in a
thread pool, since hashlib releases the GIL while it hashes and the reads overlap). An
unchanged file whose snapshot is still there is not read at all: the memo knows both.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import IO

from cairn.cache.memo import ChecksumMemo, now_ns
from cairn.cache.objects import READ_ONLY, ObjectCache
from cairn.cache.staging import BATCH_BYTES, STAGE_BELOW, packs_for
from cairn.concurrency import map_by_size
from cairn.manifest.digest import CHUNK, hex_to_b64, md5_file
from cairn.snapshots import StagedRange


class HashingReader:
    """A binary stream that MD5s every byte read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._md5 = hashlib.md5()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._md5.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self._md5.hexdigest()


class HashingWriter:
    """A binary stream that MD5s every byte written through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self._md5.update(data)
        self.size += len(data)
        return self._raw.write(data)

    def hexdigest(self) -> str:
        return self._md5.hexdigest()


def copy_hashing(
    src: IO[bytes], dest: str | os.PathLike[str], mode: int = 0o644
) -> tuple[str, int]:
    """Copy a stream into a new file (created with ``mode``) while hashing it: (hex MD5, size).

    Raises FileExistsError if ``dest`` exists: callers write to fresh temporary names.
    """
    # The mode applies to the name only: the descriptor we write through stays writable.
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with open(fd, "wb") as out:
        writer = HashingWriter(out)
        while chunk := src.read(CHUNK):
            writer.write(chunk)
    return writer.hexdigest(), writer.size


@dataclass(frozen=True, slots=True)
class FileDigest:
    path: str  # the absolute path that was hashed
    digest: str  # base64 MD5
    hexdigest: str
    size: int
    # The snapshot, when one was asked for: a cache object's path or a staged locator (both
    # are what cairn.snapshots.open_snapshot reads).
    cached: str | None


# Files handled per round: stats, memo rows and results of one round are freed before the next,
# so a million files never need a million of each at once.
ROUND = 10_000


def hash_files(
    paths: Sequence[str],
    memo: ChecksumMemo,
    *,
    cache: ObjectCache | None = None,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
) -> list[FileDigest]:
    """Digest each path (absolute), snapshotting it into ``cache`` if given.

    Raises OSError for a path that is not a readable file.
    """
    out: list[FileDigest] = []
    for i in range(0, len(paths), ROUND):
        chunk = paths[i : i + ROUND]
        if cache is None:
            out.extend(_hash_round(chunk, memo, workers, progress))
        else:
            out.extend(_snapshot_round(chunk, memo, cache, workers, progress))
    return out


def _hash_round(
    paths: Sequence[str],
    memo: ChecksumMemo,
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[FileDigest]:
    stats = {p: os.stat(p) for p in paths}
    known = memo.lookup(stats)
    started = now_ns()
    results: dict[str, FileDigest] = {}
    for p, h in known.items():
        results[p] = FileDigest(p, hex_to_b64(h), h, stats[p].st_size, None)
        if progress is not None:
            progress(stats[p].st_size)

    def work(p: str) -> FileDigest:
        h, size = md5_file(p)
        if progress is not None:
            progress(size)
        return FileDigest(p, hex_to_b64(h), h, size, None)

    todo = [p for p in paths if p not in results]
    fresh = map_by_size(work, todo, lambda p: stats[p].st_size, workers)
    for fd in fresh:
        results[fd.path] = fd
    memo.remember(_unchanged(fresh, stats, {}), read_started_ns=started)
    return [results[p] for p in paths]


def _snapshot_round(
    paths: Sequence[str],
    memo: ChecksumMemo,
    cache: ObjectCache,
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[FileDigest]:
    stats = {p: os.stat(p) for p in paths}
    known = memo.lookup_snapshots(stats)
    started = now_ns()
    packs = packs_for(cache.root)
    pack_sizes: dict[str, int] = {}
    results: dict[str, FileDigest] = {}
    todo: list[str] = []
    for p in paths:
        h, staged = known.get(p, (None, None))
        snap = None
        if h is not None and staged is None:
            staged = packs.pending(h)  # staged by this process, not yet told to the memo
        if h is None:
            pass
        elif staged is not None:
            # One stat per pack, not per file: (20,000 files of W1 share a pack or two.)
            if (held := pack_sizes.get(staged.pack)) is None:
                held = pack_sizes[staged.pack] = _size_or_minus_one(staged.pack)
            if held >= staged.offset + staged.length:
                snap = staged.locator
        if snap is None and h is not None and os.path.isfile(obj := cache.object_path(h)):
            snap = obj
        if snap is None:
            todo.append(p)  # never hashed, changed, or its snapshot is gone: read it
            continue
        assert h is not None
        size = stats[p].st_size
        results[p] = FileDigest(p, hex_to_b64(h), h, size, snap)
        if progress is not None:
            progress(size)

    after: dict[str, os.stat_result] = {}  # the sources' stats, taken from open descriptors
    small = [p for p in todo if stats[p].st_size < STAGE_BELOW]
    large = [p for p in todo if stats[p].st_size >= STAGE_BELOW]
    fresh = _stage_small(small, cache, memo, after, progress)
    grown = [p for p in small if p not in fresh]  # grew past the limit since the stat

    def snapshot_large(p: str) -> FileDigest:
        with open(p, "rb") as f:
            tmp = cache.new_tmp()
            try:
                h, size = copy_hashing(f, tmp, READ_ONLY)
                after[p] = os.fstat(f.fileno())
                (obj,) = cache.admit_many([(tmp, h)], frozenset((h,)))
            finally:
                tmp.unlink(missing_ok=True)
        if progress is not None:
            progress(size)
        return FileDigest(p, hex_to_b64(h), h, size, obj)

    for fd in map_by_size(snapshot_large, large + grown, lambda p: stats[p].st_size, workers):
        fresh[fd.path] = fd
    results.update(fresh)
    memo.remember(_unchanged(fresh.values(), stats, after), read_started_ns=started)
    return [results[p] for p in paths]


def _stage_small(
    paths: Sequence[str],
    cache: ObjectCache,
    memo: ChecksumMemo,
    after: dict[str, os.stat_result],
    progress: Callable[[int], None] | None,
) -> dict[str, FileDigest]:
    """Read, hash and stage small files, one read each, in the calling thread (for files this
    small, threads cost more than they overlap: see :mod:`cairn.concurrency`). A file that has
    grown past the limit is left out, for the caller to snapshot as a large one."""
    packs = packs_for(cache.root)
    out: dict[str, FileDigest] = {}
    batch: list[tuple[str, bytes]] = []
    owners: list[str] = []
    staged: list[StagedRange] = []
    nbytes = 0

    def flush() -> None:
        nonlocal nbytes
        for p, r in zip(owners, packs.append(batch), strict=True):
            out[p] = FileDigest(p, hex_to_b64(r.hexdigest), r.hexdigest, r.length, r.locator)
            staged.append(r)
        batch.clear()
        owners.clear()
        nbytes = 0

    for p in paths:
        data, after[p] = _read_small(p)
        if len(data) >= STAGE_BELOW:
            continue
        batch.append((hashlib.md5(data).hexdigest(), data))
        owners.append(p)
        nbytes += len(data)
        if progress is not None:
            progress(len(data))
        if nbytes >= BATCH_BYTES:
            flush()
    flush()
    packs.settle(memo, staged)  # the memo names them once they are synced
    return out


def _read_small(path: str) -> tuple[bytes, os.stat_result]:
    """A small file's bytes (at most STAGE_BELOW, which means "too big") and its stat, from
    the one open descriptor."""
    fd = os.open(path, os.O_RDONLY)
    try:
        # One call: a regular file reads short only at its end.
        return os.read(fd, STAGE_BELOW), os.fstat(fd)
    finally:
        os.close(fd)


def _size_or_minus_one(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return -1


def _unchanged(
    fresh: Iterable[FileDigest],
    stats: dict[str, os.stat_result],
    after: dict[str, os.stat_result],
) -> list[tuple[str, os.stat_result, str]]:
    """Memo rows for the files that did not change while they were read. (A file replaced
    meanwhile has another inode, which no later lookup will match.)"""
    rows = []
    for fd in fresh:
        st = stats[fd.path]
        now = after.get(fd.path) or os.stat(fd.path)
        if (now.st_mtime_ns, now.st_size, now.st_ino) == (
            st.st_mtime_ns,
            st.st_size,
            st.st_ino,
        ) and st.st_size == fd.size:
            rows.append((fd.path, st, fd.hexdigest))
    return rows


def walk_files(root: Path) -> list[tuple[str, str]]:
    """(absolute path, POSIX path relative to root) of every file under root, following links.

    Sorted by relative path within each folder, each folder visited once (a symlink loop is
    walked once). Uses ``os.scandir`` so a regular file costs no extra ``stat``.
    """
    out: list[tuple[str, str]] = []
    root_s = os.path.abspath(root)
    seen: set[tuple[int, int]] = set()

    def walk(folder: str, rel: str) -> None:
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        with os.scandir(folder) as it:
            entries = sorted(it, key=attrgetter("name"))
        subdirs = []
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append((entry.path, name))
                elif entry.is_file(follow_symlinks=True):
                    out.append((entry.path, name))
                # else: sockets, fifos, dangling links
            except OSError:
                continue
        for path, name in subdirs:
            walk(path, name)

    walk(root_s, "")
    return out
