"""The content-addressed object cache.

Objects live at ``objects/md5/<hex[:2]>/<hex[2:]>``, read-only, one file per blob (never two
copies of one blob)::

    <cache>/
        objects/md5/ab/
            cdef0123…                        ← an object
        tmp/.cairn-tmp-<pid>-<uuid>          ← one being written
        lease.lock                           ← readers share it, eviction takes it alone
        memo.db                              ← the checksum memo

Every object is written to a process-unique temporary name in ``tmp/`` (on the cache's own
filesystem, so publishing is a rename, never a copy), hashed on the way by whoever writes it,
and renamed into place only when its bytes match its name: a reader sees a whole, verified
object or none, and two processes fetching the same blob both succeed (a file lock would only
save the duplicated work, so there is none). A process killed mid-write leaves its temporary
file; the names carry the pid, and files untouched for :data:`TMP_GRACE` seconds whose process
is gone are swept when a cache is opened (and by ``cairn cache cleanup``).

Downloads are materialised from here as ordinary, writable files by default: a copy-on-write
clone (the ``FICLONE`` ioctl: btrfs, XFS, bcachefs) where the filesystem has one, else a copy
(``copy_file_range``, in the kernel). ``link_mode="hardlink"`` is the opt-in fast mode: a hard
link to the read-only object. Because a linked download shares its inode with the cache
object, the object's (inode, size, mtime) are memoised when it is written; an object whose stat
no longer matches (someone wrote through a linked download) is re-hashed before use and evicted
if it changed.

The folder may be deleted under a live process (a user clearing ``~/.cache/cairn``): the
folders are made again on the next write rather than failing every later call.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from cairn.cache.memo import ChecksumMemo
from cairn.errors import DigestMismatchError
from cairn.manifest.digest import copy_hashing, md5_file

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
SMALL_FILE = 1 << 16  # read whole, in one call
LINK_MODES = ("copy", "hardlink")
# A temporary file untouched this long whose process is gone was left by a killed process.
# A live write touches its file at every chunk, so an hour idle is far past any stall.
TMP_GRACE = 3600.0
# An object's access time is moved forward on use (the order eviction follows) only when it is
# older than this: one utime per object per ten minutes, not one per file of every download.
TOUCH_AFTER_NS = 600 * 1_000_000_000
_TMP_NAME = re.compile(r"\.cairn-tmp-(\d+)-")
# linux/fs.h: FICLONE = _IOW(0x94, 9, int); the same number on every Linux architecture.
FICLONE = 0x40049409


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


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep_tmp(folder: Path | str, grace: float = TMP_GRACE) -> int:
    """Delete temporary files left in ``folder`` by killed processes: untouched for ``grace``
    seconds and named for a pid that is not running here. Returns how many went.

    A pid reused by another process only delays a sweep until that process ends.
    """
    removed = 0
    cutoff = time.time() - grace
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m is None:
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff or _pid_alive(int(m[1])):
                continue
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            continue  # swept by another process meanwhile
    return removed


def clone_or_copy(src: str, dest: str) -> None:
    """Write a new, ordinary file ``dest`` with ``src``'s bytes: a copy-on-write clone where
    the filesystem can (no bytes move), else a copy made in the kernel; a small file in one
    read and one write (most files of a dataset: the calls are the cost, not the bytes).

    The new file gets the default mode (0o666 less the umask), not the object's read-only one.

    Raises:
        FileExistsError: ``dest`` exists.
    """
    sfd = os.open(src, os.O_RDONLY)
    try:
        size = os.fstat(sfd).st_size
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        ok = False
        try:
            if size <= SMALL_FILE:
                data = os.read(sfd, SMALL_FILE + 1)
                with open(fd, "wb", closefd=False) as out:
                    out.write(data)
            elif not _clone(sfd, fd):
                _copy_range(sfd, fd, size)
            ok = True
        finally:
            os.close(fd)
            if not ok:  # no half-written file left behind under the caller's name
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dest)
    finally:
        os.close(sfd)


def _clone(sfd: int, fd: int) -> bool:
    try:
        import fcntl

        fcntl.ioctl(fd, FICLONE, sfd)
        return True
    except (ImportError, OSError):
        return False  # no clones on this filesystem (or platform)


def _copy_range(sfd: int, fd: int, size: int) -> None:
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(sfd, fd, size - done)
            if n == 0:
                break
            done += n
    except (AttributeError, OSError):  # no copy_file_range here: through user space
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        with open(sfd, "rb", closefd=False) as s, open(fd, "wb", closefd=False) as out:
            s.seek(0)
            shutil.copyfileobj(s, out, 1 << 20)


class ObjectCache:
    def __init__(
        self, root: Path, memo: ChecksumMemo | None = None, *, tmp_grace: float = TMP_GRACE
    ) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._objects = os.path.join(root, "objects", "md5")
        self._made: set[str] = set()  # fan-out folders known to exist (saves a mkdir per file)
        self.memo = memo if memo is not None else ChecksumMemo(root / "memo.db")
        sweep_tmp(self.tmp, tmp_grace)

    @property
    def objects_root(self) -> str:
        return self._objects

    def ensure(self) -> None:
        """Make the cache's folders again if they were deleted (the user cleared the cache
        while this process ran); cheap when they exist."""
        if not os.path.isdir(self.tmp):
            os.makedirs(self.tmp, exist_ok=True)
            self._made.clear()

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
        try:
            os.replace(tmp, final)
        except FileNotFoundError:
            if not os.path.lexists(tmp):
                raise  # the temporary file itself went (with the whole cache): nothing to save
            self._made.clear()  # the fan-out folder was deleted since we made it
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
        self.ensure()
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
        try:
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
        except FileNotFoundError:
            self.ensure()  # the cache folder was deleted under us
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
        self.touch({p: st for p, st in stats.items() if by_path[p] in good})
        return good

    def touch(self, stats: dict[str, os.stat_result]) -> None:
        """Record that these objects were used now, for least-recently-used eviction: their
        access time moves forward (their mtime, which the memo keys on, stays)."""
        now = time.time_ns()
        for path, st in stats.items():
            if now - st.st_atime_ns > TOUCH_AFTER_NS:
                with contextlib.suppress(FileNotFoundError):
                    os.utime(path, ns=(now, st.st_mtime_ns))

    def materialize(self, hexdigest: str, dest: Path | str, *, mode: str = "copy") -> None:
        """Place the object at ``dest``, whose folder must exist.

        ``mode="copy"`` (the default) gives an ordinary writable file, independent of the cache
        and of every other download: a copy-on-write clone where the filesystem has one, else
        a copy. ``mode="hardlink"`` links the read-only object itself (a copy where links
        cannot be made). A new name is written in place (a download that dies leaves a file
        the next one finds wrong and replaces); an existing one is replaced through a
        temporary name, so it is never seen half-written.
        """
        src = self.object_path(hexdigest)
        link = mode == "hardlink"
        try:
            if link:
                os.link(src, dest)
            else:
                clone_or_copy(src, str(dest))
            return
        except FileExistsError:
            pass  # replace what is there, below, through a temporary name
        except OSError:
            if not link:
                raise
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
                clone_or_copy(src, tmp)
            os.replace(tmp, dest)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
