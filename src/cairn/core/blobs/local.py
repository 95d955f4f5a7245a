"""A blob store on a local folder (the embedded default, and a server's simplest store).

Its tree is the one every store and the cache share (:mod:`cairn.layout`)::

    <root>/
        objects/md5/ab/cdef…                  blobs, read-only
        packs/3f/3f9a0c…                      packs of small blobs (index in the database)
        tmp/.cairn-tmp-<pid>-<hex>            writes in progress

Writes go to a process-unique name in ``tmp/`` while hashing, then are renamed into place
once the digest matches; the rename is atomic, so readers never see a partial blob and
concurrent writers of the same blob both succeed. Files already verified by this process
(:mod:`cairn.core.transfer.ingest`) are renamed in without hashing again. Stored files are
made read-only.

A folder removed under a live process (someone clearing the store's ``tmp/`` or ``objects/``)
is made again by the next write, not an error on every later call.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import unquote, urlparse

from cairn import layout
from cairn.core.blobs.base import blob_key, pack_key
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    IntegrityError,
    StorageError,
    ValidationError,
)
from cairn.manifest.digest import copy_hashing, is_hex_md5

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
T = TypeVar("T")


def _check(digest: str) -> str:
    if not is_hex_md5(digest):
        raise ValidationError(f"{digest!r} is not a hex MD5 blob name")
    return digest


def _check_pack(pack_id: str) -> str:
    if not is_hex_md5(pack_id):  # the same shape: 32 lowercase hex characters
        raise ValidationError(f"{pack_id!r} is not a pack id (32 lowercase hex characters)")
    return pack_id


SMALL = 1 << 16


def copy_file(src: str, dest: str | Path) -> None:
    """Copy a file into a new path: one read and one write for small files (most of them),
    the kernel's copy for big ones."""
    if os.path.getsize(src) <= SMALL:
        with open(src, "rb") as f:
            data = f.read()
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    else:
        shutil.copyfile(src, dest)


def publish(tmp: Path, final: Path, made: set[str] | None = None) -> None:
    """Rename a verified temporary file into its content-addressed place."""
    os.chmod(tmp, READ_ONLY)
    parent = os.path.dirname(final)
    if made is None or parent not in made:
        os.makedirs(parent, exist_ok=True)
        if made is not None:
            made.add(parent)
    try:
        os.replace(tmp, final)
    except FileNotFoundError:
        if not os.path.lexists(tmp):
            raise
        # The fan-out folder went away after we saw it (the store was cleared): make it again.
        if made is not None:
            made.discard(parent)
        os.makedirs(parent, exist_ok=True)
        os.replace(tmp, final)


def copy_verified(src: IO[bytes], dest: Path, digest: str) -> int:
    """Copy a stream to ``dest`` while hashing; raise if the bytes are not ``digest``."""
    actual, size = copy_hashing(src, dest)
    if actual != digest:
        dest.unlink(missing_ok=True)
        raise DigestMismatchError(
            f"bytes received for blob {digest} hash to {actual}; nothing was stored",
            details={"expected": digest, "actual": actual},
        )
    return size


class LocalBlobStore:
    # Small blobs go in packs here too. One file per blob looked cheap (~32,000 creates/s on
    # a quiet machine), but under memory pressure each create waits on metadata I/O: logging
    # W1 (20,000 x 4 KiB) to a server on a folder took 9.8-16.5 s to commit one file per blob
    # and 4.6-4.7 s in packs, measured side by side (issue 8's note).
    packs_by_default = True

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uri = self.root.as_uri() if self.root.is_absolute() else str(self.root)
        self._tmp = self.root / layout.TMP
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._made: set[str] = set()  # fan-out folders known to exist

    @classmethod
    def from_uri(cls, uri: str, **_options: Any) -> LocalBlobStore:
        parsed = urlparse(uri)
        path = unquote(parsed.path) if parsed.scheme == "file" else uri
        return cls(Path(path).expanduser().resolve())

    # -- the installation stamp (cairn.core.stamp) --------------------------------------------
    def read_stamp(self) -> str | None:
        try:
            text = (self.root / layout.STAMP).read_text()
        except FileNotFoundError:
            return None
        return str(json.loads(text)["installation"])

    def write_stamp(self, installation: str) -> None:
        tmp = self.new_tmp(".stamp")
        tmp.write_text(json.dumps({"installation": installation}))
        os.replace(tmp, self.root / layout.STAMP)

    # -- temporary files (cairn.core.blobs.base.LocalSpool) -------------------------------------
    def tmp_dir(self) -> Path:
        """The store's own temporary folder (made again if it was removed)."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        return self._tmp

    def new_tmp(self, hint: str = "") -> Path:
        """A fresh process-unique temporary path in the store's ``tmp/`` (not created)."""
        return self._tmp / layout.tmp_name(hint)

    def _writing(self, write: Callable[[Path], T], hint: str = "") -> tuple[Path, T]:
        """Run ``write`` on a new temporary path; once more if ``tmp/`` had been removed."""
        tmp = self.new_tmp(hint)
        try:
            return tmp, write(tmp)
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            self.tmp_dir()
            tmp = self.new_tmp(hint)
            return tmp, write(tmp)

    def sweep_tmp(self, older_than: float) -> int:
        """Remove temporary files left for ``older_than`` seconds (by killed processes)."""
        return layout.sweep_temporaries(self._tmp, older_than, legacy=True)

    def adopt_blob(self, digest: str, tmp: Path) -> int:
        """Rename a temporary file of this store that this process verified into ``digest``'s
        place; returns its size."""
        final = self.path_for(digest)
        try:
            size = tmp.stat().st_size
            publish(tmp, final, self._made)
        except OSError as exc:
            raise StorageError(f"could not store blob {digest}: {exc}") from exc
        return size

    def adopt_pack(self, pack_id: str, tmp: Path) -> None:
        """Rename a temporary file of this store that this process verified into pack
        ``pack_id``'s place."""
        try:
            publish(tmp, self.pack_path(pack_id), self._made)
        except OSError as exc:
            raise StorageError(f"could not store pack {pack_id}: {exc}") from exc

    # -- blobs -----------------------------------------------------------------------------------
    def path_for(self, digest: str) -> Path:
        return Path(os.path.join(self.root, blob_key(_check(digest))))

    def has_many(self, digests: Iterable[str]) -> set[str]:
        return {d for d in digests if self.path_for(d).is_file()}

    def put_stream(self, digest: str, stream: IO[bytes], size: int | None = None) -> int:
        final = self.path_for(digest)
        tmp: Path | None = None
        try:
            tmp, written = self._writing(lambda p: copy_verified(stream, p, digest))
            if size is not None and written != size:
                raise DigestMismatchError(f"blob {digest}: expected {size} bytes, got {written}")
            publish(tmp, final, self._made)
        except OSError as exc:
            raise StorageError(f"could not store blob {digest}: {exc}") from exc
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return written

    def put_file(self, digest: str, path: str, *, trusted: bool = False) -> int:
        final = self.path_for(digest)
        try:
            return os.stat(final).st_size  # already stored: content-addressed, so nothing to do
        except FileNotFoundError:
            pass
        if trusted:
            # The caller hashed exactly these bytes (a read-only cache object), so an
            # in-kernel copy is enough. Never a hard link: the cache's files are linked into
            # users' download folders, and an edit there must not reach the store.
            tmp: Path | None = None
            try:
                tmp, _ = self._writing(lambda p: copy_file(path, p))
                publish(tmp, final, self._made)
                return final.stat().st_size
            except OSError as exc:
                raise StorageError(f"could not store blob {digest}: {exc}") from exc
            finally:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
        with open(path, "rb") as f:
            return self.put_stream(digest, f)

    def open(self, digest: str) -> IO[bytes]:
        try:
            return open(self.path_for(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {digest} is not in the store") from None

    def get_file(self, digest: str, dest: str) -> None:
        src = self.path_for(digest)
        if not src.is_file():
            raise BlobNotFoundError(f"blob {digest} is not in the store")
        # A copy, not a link, for the same reason as in put_file.
        copy_file(str(src), dest)

    def size(self, digest: str) -> int | None:
        try:
            return self.path_for(digest).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, digest: str) -> None:
        self.path_for(digest).unlink(missing_ok=True)

    def iter_digests(self) -> Iterator[str]:
        base = self.root / layout.OBJECTS
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            for f in sorted(sub.iterdir()):
                if is_hex_md5(sub.name + f.name):  # not a write in progress
                    yield sub.name + f.name

    # -- packs ---------------------------------------------------------------------------------
    def pack_path(self, pack_id: str) -> Path:
        return Path(os.path.join(self.root, pack_key(_check_pack(pack_id))))

    def put_pack(self, pack_id: str, path: str, md5: str) -> None:
        final = self.pack_path(pack_id)
        tmp: Path | None = None
        try:

            def copy(p: Path) -> int:
                with open(path, "rb") as f:
                    return copy_verified(f, p, md5)

            tmp, _ = self._writing(copy)
            publish(tmp, final, self._made)
        except OSError as exc:
            raise StorageError(f"could not store pack {pack_id}: {exc}") from exc
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def read_pack(self, pack_id: str, offset: int, length: int) -> bytes:
        try:
            with open(self.pack_path(pack_id), "rb") as f:
                f.seek(offset)
                data = f.read(length)
        except FileNotFoundError:
            raise BlobNotFoundError(f"pack {pack_id} is not in the store") from None
        if len(data) != length:
            # Damage, not a failure to reach the store: the index promised these bytes.
            raise IntegrityError(
                f"pack {pack_id} holds fewer bytes than {offset}+{length}; it is damaged",
                details={"pack": pack_id},
            )
        return data

    def delete_pack(self, pack_id: str) -> None:
        self.pack_path(pack_id).unlink(missing_ok=True)

    def iter_packs(self) -> Iterator[tuple[str, float]]:
        base = self.root / layout.PACKS
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            for f in sorted(sub.iterdir()):
                if is_hex_md5(f.name):
                    yield f.name, f.stat().st_mtime
