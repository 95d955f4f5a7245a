"""Keeping the object cache in bounds: least-recently-used eviction, safe with several processes.

::

    <cache>/lease.lock     shared by every process relying on objects; exclusive to eviction

Staging packs (``staging/packs/*.pack``, the snapshots of small added files) count towards the
quota and are evicted whole, oldest first, but never one written to in the last
``STAGING_GRACE`` seconds (a process may be appending to it, or about to log what it staged).
A draft that names an evicted pack fails to log with "add the file again", never with other
bytes; an unchanged file added later is simply read again.

A process that relies on objects staying where they are — a download, from the moment it asks
what the cache holds until every file is placed; an upload, while it reads cached snapshots —
holds a *shared* ``flock`` on ``lease.lock`` for that time (:func:`lease`). Eviction deletes only
while it holds the lock *exclusively*, so it never removes an object another process is reading
or linking: ``cairn cache cleanup`` waits for the leases to end; the automatic eviction after a
download (``CAIRN_CACHE_MAX``) does nothing while anyone holds one (the last to finish evicts).
A ``flock`` belongs to an open file and ends with its process, so a killed downloader never
blocks eviction, and no lease needs renewing.

Recency is an object's access time, moved forward when a download uses it
(:meth:`~cairn.cache.objects.ObjectCache.touch`); its mtime, which the checksum memo keys on,
stays. A download placed as a hard link keeps its bytes when the object is evicted (the link
is another name for the same inode); a copy never depended on the object.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cairn.cache.objects import ObjectCache, sweep_tmp
from cairn.faults import fault_point
from cairn.manifest.digest import is_hex_md5, md5_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one exclusive lock serves both sides
    fcntl = None  # type: ignore[assignment]

LEASE = "lease.lock"
STAGING = Path("staging") / "packs"  # cairn.cache.staging
STAGING_GRACE = 600.0


def _lock_fd(root: Path) -> int:
    os.makedirs(root, exist_ok=True)  # the cache may have been deleted under us
    return os.open(os.path.join(root, LEASE), os.O_RDWR | os.O_CREAT, 0o666)


@contextlib.contextmanager
def lease(root: Path) -> Iterator[None]:
    """Hold a shared lease on the cache at ``root``: no object is evicted meanwhile."""
    if fcntl is None:  # pragma: no cover
        from filelock import FileLock

        with FileLock(str(root / LEASE)):
            yield
        return
    fd = _lock_fd(root)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def exclusive(root: Path, *, wait: bool) -> Iterator[bool]:
    """Hold the cache alone: yields True once no lease is held (``wait``), or at once False
    if one is held and ``wait`` is false."""
    if fcntl is None:  # pragma: no cover
        from filelock import FileLock, Timeout

        lock = FileLock(str(root / LEASE))
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()
        return
    fd = _lock_fd(root)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class CachedObject:
    hexdigest: str
    path: str
    size: int
    last_used_ns: int  # the access time (a staging pack: its last write)
    staging: bool = False  # a staging pack of small files' snapshots, not one object


@dataclass(frozen=True, slots=True)
class Usage:
    objects: int
    bytes: int
    tmp_files: int
    tmp_bytes: int


@dataclass(frozen=True, slots=True)
class Eviction:
    removed: int  # objects deleted
    freed: int  # their bytes
    left: int  # bytes the objects take afterwards
    swept: int = 0  # temporary files of killed processes deleted


def scan(cache: ObjectCache) -> list[CachedObject]:
    """Every object in the cache, least recently used first."""
    out: list[CachedObject] = _staging_packs(cache)
    try:
        fans = [e for e in os.scandir(cache.objects_root) if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return out
    for fan in fans:
        try:
            entries = list(os.scandir(fan.path))
        except FileNotFoundError:
            continue
        for e in entries:
            h = fan.name + e.name
            if not is_hex_md5(h):
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            out.append(CachedObject(h, e.path, st.st_size, st.st_atime_ns))
    out.sort(key=lambda o: (o.last_used_ns, o.hexdigest))
    return out


def _staging_packs(cache: ObjectCache) -> list[CachedObject]:
    packs: list[CachedObject] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(cache.root / STAGING) as it:
        for e in it:
            if e.name.endswith(".pack"):
                with contextlib.suppress(FileNotFoundError):
                    st = e.stat(follow_symlinks=False)
                    packs.append(CachedObject(e.name, e.path, st.st_size, st.st_mtime_ns, True))
    return packs


def usage(cache: ObjectCache, objects: list[CachedObject] | None = None) -> Usage:
    objects = scan(cache) if objects is None else objects
    tmp_files = tmp_bytes = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(cache.tmp) as it:
        for e in it:
            with contextlib.suppress(FileNotFoundError):
                tmp_bytes += e.stat(follow_symlinks=False).st_size
                tmp_files += 1
    return Usage(len(objects), sum(o.size for o in objects), tmp_files, tmp_bytes)


def evict(cache: ObjectCache, max_bytes: int, *, wait: bool = True) -> Eviction | None:
    """Delete least recently used objects until they take at most ``max_bytes``, and sweep
    temporary files of killed processes. Returns None (having deleted nothing) if ``wait``
    is false and another process holds a lease."""
    with exclusive(cache.root, wait=wait) as alone:
        if not alone:
            return None
        fault_point("cache.evict.locked")  # tests: eviction holds the cache alone
        swept = sweep_tmp(cache.tmp)
        objects = scan(cache)
        total = sum(o.size for o in objects)
        removed = freed = 0
        recent = time.time_ns() - int(STAGING_GRACE * 1e9)
        for o in objects:
            if total <= max_bytes:
                break
            if o.staging and o.last_used_ns > recent:
                continue  # may be in use: a process appending, or about to log it
            try:
                os.unlink(o.path)
            except FileNotFoundError:
                pass  # deleted by hand meanwhile
            total -= o.size
            freed += o.size
            removed += 1
        return Eviction(removed, freed, total, swept)


def enforce(cache: ObjectCache, max_bytes: int | None) -> Eviction | None:
    """Keep the cache within ``max_bytes`` (``CAIRN_CACHE_MAX``) without waiting for anyone:
    nothing happens if it is within bounds, or if another process holds a lease (it evicts
    when it is done)."""
    if max_bytes is None:
        return None
    if sum(o.size for o in scan(cache)) <= max_bytes:
        return None
    return evict(cache, max_bytes, wait=False)


def verify(cache: ObjectCache) -> tuple[int, list[str]]:
    """Re-hash every object; delete those whose bytes no longer match their name (holding the
    cache alone, so no reader is using them). Returns (objects checked, digests deleted)."""
    objects = [o for o in scan(cache) if not o.staging]  # packs' records check themselves
    bad = [o for o in objects if not _intact(o)]
    deleted = []
    if bad:
        with exclusive(cache.root, wait=True):
            for o in bad:
                # Again, alone: another process may have fetched it afresh meanwhile.
                if not _intact(o):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(o.path)
                    deleted.append(o.hexdigest)
    return len(objects), deleted


def _intact(o: CachedObject) -> bool:
    try:
        return md5_file(o.path)[0] == o.hexdigest
    except FileNotFoundError:
        return True  # gone: nothing wrong is left
