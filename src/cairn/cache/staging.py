"""Staging packs: the ``policy="mutable"`` snapshots of small files, many to a file.

A snapshot per file cost a file created per file (W1's 20,000 files of 4 KiB spent most of a
first log making them). Files smaller than :data:`STAGE_BELOW` are instead appended to a
staging pack, in the cache folder::

    <cache>/staging/packs/
        <pid>-<uuid>.pack      records appended back to back:
                               [CSR1][MD5, 16 bytes][length, 8 bytes][the bytes]

A record is found through its locator (:class:`cairn.snapshots.StagedRange`: pack, offset,
length, digest), which the draft keeps as the entry's ``local_path`` and the checksum memo
keeps by digest; :mod:`cairn.snapshots` reads it back, checking the header.

Appending: a writer holds an exclusive ``flock`` on the pack (other processes) and a thread
lock (threads share one descriptor here), takes the pack's size as the offset, writes a whole
batch with ``pwrite``, and lets go. Several processes pick the same pack (the newest one with
room) and interleave whole batches; nothing is ever rewritten, so a locator handed out stays
true for the pack's life. A writer killed mid-batch leaves bytes no locator names.

Durability: the memo learns a record's location only once it is synced
(:meth:`StagingPacks.settle`), so after a power loss the memo never names bytes that did not
reach the disk. Syncs are batched: every :data:`SYNC_BYTES` or :data:`SYNC_SECONDS`, before a
log, and at exit; syncing W1's 80 MiB at once took 0.07 s here. Until then the records are
known to the process that wrote them (:meth:`StagingPacks.pending`), and a process killed
before settling only costs a later add a read of those files.

Removal: a pack may be deleted at any time (``rm -rf`` of the cache, or
:meth:`StagingPacks.prune` for a quota): a later add sees the memo's location is gone and reads
the file again; a draft that still names it fails to log with a BlobNotFoundError saying to add
the file again. Pack names are never reused, so a stale locator can never point into a newer
pack. A writer whose pack was deleted under it notices (its link count is 0) and starts anew.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from cairn.cache.memo import ChecksumMemo
from cairn.snapshots import HEADER, StagedRange, record_header

MiB = 1 << 20
# Files smaller than this are staged in packs; larger ones get a cache object each. The same as
# the stores' default pack threshold (cairn.core.packs), so what is staged travels in packs.
STAGE_BELOW = 1 * MiB
PACK_TARGET = 256 * MiB  # a pack this big takes no more records
BATCH_BYTES = 8 * MiB  # records written together, under one lock
SYNC_BYTES = 64 * MiB  # records appended before they are synced and told to the memo
SYNC_SECONDS = 2.0  # or this long since the last sync


class StagingPacks:
    """The staging packs under one folder; safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._fd = -1
        self._path = ""
        self._dirty = False
        self._pending: dict[str, StagedRange] = {}  # appended, not yet told to the memo
        self._pending_bytes = 0
        self._synced_at = time.monotonic()
        self._memo: ChecksumMemo | None = None

    def append(self, records: Sequence[tuple[str, bytes]]) -> list[StagedRange]:
        """Append (hex MD5, bytes) records in one write; returns where each one's bytes are.

        Raises OSError if the pack cannot be written.
        """
        if not records:
            return []
        body = b"".join(part for h, data in records for part in (record_header(h, len(data)), data))
        with self._locked():
            fd = self._writable()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                st = os.fstat(fd)
                if st.st_nlink == 0 or st.st_size >= PACK_TARGET:
                    # Deleted under us, or full: the next pack takes this batch.
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    self._retire()
                    fd = self._writable(fresh=True)
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    st = os.fstat(fd)
                offset = st.st_size
                _pwrite_all(fd, body, offset)
                self._dirty = True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            out = []
            at = offset
            for h, data in records:
                at += HEADER.size
                out.append(StagedRange(self._path, at, len(data), h))
                at += len(data)
            return out

    def sync(self) -> None:
        """Make every record appended so far durable (see the module docstring)."""
        with self._locked():
            self._sync()

    def _sync(self) -> None:
        if self._fd >= 0 and self._dirty:
            os.fdatasync(self._fd)
        self._dirty = False

    def pending(self, hexdigest: str) -> StagedRange | None:
        """A record appended by this process that the memo has not been told of yet."""
        return self._pending.get(hexdigest)

    def settle(
        self, memo: ChecksumMemo, ranges: Iterable[StagedRange] = (), *, force: bool = False
    ) -> None:
        """Tell the memo where these records are, once they are durable.

        Syncing is batched (every :data:`SYNC_BYTES` or :data:`SYNC_SECONDS`, when forced, and
        at exit), so a loop of ``add_file`` calls does not sync once per file; until then the
        records are known to this process only (:meth:`pending`).
        """
        with self._locked():
            for r in ranges:
                self._pending[r.hexdigest] = r
                self._pending_bytes += r.length
            self._memo = memo
            due = self._pending_bytes >= SYNC_BYTES or (
                time.monotonic() - self._synced_at >= SYNC_SECONDS
            )
            if not self._pending or not (force or due):
                return
            self._sync()
            rows = list(self._pending.values())
            self._pending.clear()
            self._pending_bytes = 0
            self._synced_at = time.monotonic()
        memo.remember_staged(rows)

    def settle_at_exit(self) -> None:
        if self._memo is not None:
            with contextlib.suppress(Exception):  # the memo may be closed: it only saves work
                self.settle(self._memo, force=True)

    def prune(self, max_bytes: int, *, grace_seconds: float = 3600.0) -> int:
        """Delete whole packs, oldest first, until they hold at most ``max_bytes``; returns the
        bytes freed. For a cache quota or ``cairn gc``.

        A pack written to within ``grace_seconds`` stays (a draft made from it is likely still
        to be logged), as does one a writer holds locked right now. Files added later are
        read again; see the module docstring for a draft that still names a deleted pack.
        """
        try:
            found = [(p, os.stat(p)) for p in _newest_first(self.folder)]
        except FileNotFoundError:
            return 0
        total = sum(st.st_size for _, st in found)
        cutoff = time.time() - grace_seconds
        freed = 0
        for path, st in reversed(found):  # oldest first
            if total - freed <= max_bytes:
                break
            if st.st_mtime > cutoff:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # being appended to: a writer would see it gone only afterwards
            try:
                os.unlink(path)  # under the lock: the next appender sees a link count of 0
                freed += st.st_size
            finally:
                os.close(fd)
        return freed

    def close(self) -> None:
        with self._locked():
            self._retire()

    # -- internals -------------------------------------------------------------------------
    def _locked(self) -> threading.Lock:
        if os.getpid() != self._pid:
            # A forked child shares the parent's open pack, and so its flock: it must use its
            # own. (Its copy of the thread lock may be held by a parent thread: replace it.)
            self._lock = threading.Lock()
            self._pid = os.getpid()
            if self._fd >= 0:
                os.close(self._fd)
            self._fd, self._path, self._dirty = -1, "", False
        return self._lock

    def _retire(self) -> None:
        if self._fd >= 0:
            if self._dirty:
                os.fdatasync(self._fd)
            os.close(self._fd)
        self._fd, self._path, self._dirty = -1, "", False

    def _writable(self, *, fresh: bool = False) -> int:
        """The open pack to append to: ours, else the newest with room, else a new one."""
        if self._fd >= 0:
            return self._fd
        self.folder.mkdir(parents=True, exist_ok=True)  # again: the cache may have been cleared
        if not fresh:
            for path in _newest_first(self.folder):
                try:
                    fd = os.open(path, os.O_RDWR)
                except FileNotFoundError:
                    continue
                if os.fstat(fd).st_size < PACK_TARGET:
                    self._fd, self._path = fd, path
                    return fd
                os.close(fd)
        path = str(self.folder / f"{os.getpid()}-{uuid.uuid4().hex}.pack")
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        self._path = path
        return self._fd


def _newest_first(folder: Path) -> list[str]:
    found = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.endswith(".pack"):
                try:
                    found.append((entry.stat().st_mtime_ns, entry.path))
                except FileNotFoundError:
                    continue
    return [p for _, p in sorted(found, reverse=True)]


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


_open: dict[str, StagingPacks] = {}
_open_lock = threading.Lock()


def packs_for(cache_root: Path) -> StagingPacks:
    """The staging packs of the cache at ``cache_root``, one object per process and folder (so
    its threads share one pack and one lock)."""
    folder = cache_root / "staging" / "packs"
    key = str(folder)
    with _open_lock:
        packs = _open.get(key)
        if packs is None:
            if not _open:
                atexit.register(_settle_all)
            packs = _open[key] = StagingPacks(folder)
        return packs


def _settle_all() -> None:
    for packs in list(_open.values()):
        packs.settle_at_exit()
