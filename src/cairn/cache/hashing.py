"""Hashing many files at once: memoised, parallel, optionally copying into the cache.

``hash_files`` stats every file, asks the memo for the ones unchanged since they were last
hashed, and reads only the rest — in a thread pool, since hashlib releases the GIL while it
hashes and the reads overlap. With ``cache`` given, each file's bytes are copied into the object
cache on the same read (the ``policy="mutable"`` snapshot), so a file is read once at most.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cairn.cache.memo import ChecksumMemo, now_ns
from cairn.cache.objects import SMALL_FILE, ObjectCache
from cairn.concurrency import map_by_size
from cairn.manifest.digest import hex_to_b64, md5_file


@dataclass(frozen=True, slots=True)
class FileDigest:
    path: str  # the absolute path that was hashed
    digest: str  # base64 MD5
    hexdigest: str
    size: int
    cached: str | None  # the object-cache copy, when one was asked for


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
    """Digest each path (absolute). Raises OSError for a path that is not a readable file."""
    out: list[FileDigest] = []
    for i in range(0, len(paths), ROUND):
        out.extend(_hash_round(paths[i : i + ROUND], memo, cache, workers, progress))
    return out


def _hash_round(
    paths: Sequence[str],
    memo: ChecksumMemo,
    cache: ObjectCache | None,
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[FileDigest]:
    stats = {p: os.stat(p) for p in paths}
    known = memo.lookup(stats)
    started = now_ns()
    todo: list[str] = []
    results: dict[str, FileDigest] = {}
    for p in paths:
        h = known.get(p)
        if h is None:
            todo.append(p)
            continue
        cached = None
        if cache is not None:
            cached = cache.object_path(h)
            if not os.path.isfile(cached):
                todo.append(p)  # known digest, but the snapshot must still be taken
                continue
        results[p] = FileDigest(p, hex_to_b64(h), h, stats[p].st_size, cached)
        if progress is not None:
            progress(stats[p].st_size)

    # Stats the memo needs, when the work already took them from open descriptors.
    after: dict[str, os.stat_result] = {}
    objects: dict[str, os.stat_result] = {}

    def work(p: str) -> FileDigest:
        if cache is not None:
            small = cache.ingest_small(p) if stats[p].st_size <= SMALL_FILE else None
            if small is not None:
                after[p], objects[small.path] = small.source, small.written
                h, size, obj = small.hexdigest, small.size, small.path
            else:
                h, size, obj = cache.ingest_file(p, remember=False)
            out = FileDigest(p, hex_to_b64(h), h, size, obj)
        else:
            h, size = md5_file(p)
            out = FileDigest(p, hex_to_b64(h), h, size, None)
        if progress is not None:
            progress(size)
        return out

    fresh = map_by_size(work, todo, lambda p: stats[p].st_size, workers)
    remember = []
    for fd in fresh:
        results[fd.path] = fd
        st = stats[fd.path]
        now = after.get(fd.path) or os.stat(fd.path)
        # Memoise only if the file did not change while it was read. (A file replaced
        # meanwhile has another inode, which no later lookup will match.)
        if (now.st_mtime_ns, now.st_size, now.st_ino) == (
            st.st_mtime_ns,
            st.st_size,
            st.st_ino,
        ) and st.st_size == fd.size:
            remember.append((fd.path, st, fd.hexdigest))
    memo.remember(remember, read_started_ns=started)
    if cache is not None:
        # The snapshots were written by us from the bytes we hashed: memoise them all at once.
        memo.remember(
            (fd.cached, objects.get(fd.cached) or os.stat(fd.cached), fd.hexdigest)
            for fd in fresh
            if fd.cached is not None
        )
    return [results[p] for p in paths]


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
            entries = sorted(it, key=lambda e: e.name)
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
