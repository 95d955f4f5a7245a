"""Ingest: the one way bytes enter a store, whoever sends them.

Three doors, one rule each about hashing (docs/architecture.md: each byte hashed once per side)::

    blob_stream(storage, digest, stream)   one blob from a remote client: verified once, while
                                           it is written (a server's single-blob upload)
    pack_stream(storage, stream)           a pack stream from a remote client: each blob
                                           verified once, while the pack is spooled
    local_files(storage, files)            files this process hashed when they were added (the
                                           embedded store): trusted, never hashed again

Where bytes are spooled: a store on the local filesystem
(:class:`~cairn.core.blobs.base.LocalSpool`) is written in its own ``tmp/`` folder and the
finished file is *renamed* into ``objects/`` or ``packs/``, never copied; any other store (S3)
is handed a file spooled in the system's temporary folder, which it uploads. A process killed
between spool and rename leaves one temporary file, which ``cairn gc`` and a starting server
remove after a grace period (:mod:`cairn.layout`, :func:`cairn.core.gc.sweep_temporaries`).

After the bytes are stored, every blob is admitted (its database row) and recorded as the
caller's (:mod:`cairn.core.possession`), all or nothing per call. Blobs the store holds
already are verified (remote) or skipped (local) and keep their single copy.

Callers: :class:`~cairn.core.storage.Storage` (``store_blob_stream``, ``store_pack_stream``,
which the server's upload routes call) and the embedded backend's ``upload_blobs``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from cairn import events, layout
from cairn.concurrency import map_by_size
from cairn.core import packs, possession
from cairn.core.blobs.base import CHUNK, LocalSpool
from cairn.core.packs import SpooledPack
from cairn.errors import DigestMismatchError
from cairn.faults import fault_point
from cairn.manifest import packstream
from cairn.snapshots import is_staged, open_snapshot

if TYPE_CHECKING:
    from cairn.core.storage import Storage

Progress = Callable[[int], None]

log = logging.getLogger(__name__)  # debug: which blobs were packed or stored


class LocalFile(Protocol):
    """A file of this process whose digest it computed (``BlobUpload`` is one)."""

    @property
    def digest(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def trusted(self) -> bool: ...


# -- from a remote client --------------------------------------------------------------------


def blob_stream(storage: Storage, digest: str, stream: IO[bytes], size: int | None = None) -> int:
    """Store one blob read from ``stream``, verified once on arrival; admit it and record that
    the caller holds it. Returns its length.

    Bytes the store holds already are only hashed (proof of possession), not stored again.

    Raises:
        DigestMismatchError: the bytes hash otherwise, or are not ``size`` long; nothing is
            stored or recorded.
        StorageError: the store failed.
    """
    if storage.stored_blobs([digest]):
        written = _hash_only(digest, stream, size)
    else:
        written = storage.blobs.put_stream(digest, stream, size)
    storage.record_blobs([(digest, written)])
    return written


def pack_stream(storage: Storage, stream: IO[bytes]) -> dict[str, Any]:
    """Store every blob of a pack stream (:mod:`cairn.manifest.packstream`), each verified once.

    All or nothing: one blob that does not hash to its digest rejects the whole pack. With
    packs enabled the blobs the store lacks become one stored pack (none, if it lacks none);
    otherwise one object each. Every blob of the pack is recorded as the caller's.

    Returns ``{"stored": blobs in the stream, "pack": pack id or None, "new": blobs now in that
    pack}`` (``"new"`` only with packs enabled).

    Raises:
        ValidationError: a malformed, oversized or truncated stream.
        DigestMismatchError: a blob hashes otherwise; nothing was stored.
    """
    policy = storage.packs
    announced = packstream.read_header(
        stream, max_blobs=policy.max_blobs, max_bytes=policy.max_bytes
    )
    stored = storage.stored_blobs([d for d, _ in announced])
    local = storage.blobs if isinstance(storage.blobs, LocalSpool) else None
    directory = str(local.tmp_dir()) if local is not None else None
    # Every blob is verified as it is spooled; a whole-pack MD5 would be a second pass over the
    # same bytes (issue 14: each byte hashed once per side), so S3 is sent the pack with its
    # length only (put_pack(md5="")) and a local store renames the spool.
    with packs.spool(stream, announced, directory, skip=stored, whole_md5=False) as spooled:
        fault_point("ingest.spooled")
        if not policy.enabled or not spooled.layout:
            _unpack(storage, spooled)
            storage.record_blobs(announced)
            done: dict[str, Any] = {"stored": len(announced), "pack": None}
            return {**done, "new": 0} if policy.enabled else done
        live = _store_pack(storage, spooled, announced, stored)
    return {"stored": len(announced), **live}


# -- from this process -----------------------------------------------------------------------


def local_files(
    storage: Storage,
    files: Sequence[LocalFile],
    *,
    workers: int = 8,
    progress: Progress | None = None,
) -> None:
    """Store files whose digests this process computed (the embedded store's upload).

    A ``trusted`` file (a read-only snapshot this process hashed as it wrote it) is written
    without hashing. Any other file may have changed since it was hashed, so it is verified
    while it is copied: its one hash on the way in. Small files go into packs of about the
    policy's target size (spooled in the store's ``tmp/`` and renamed), the rest one object
    each; everything is admitted and recorded as the caller's.

    Raises:
        DigestMismatchError: a file's size, or an untrusted file's bytes, are not what it was
            added with (``details["paths"]`` names them); nothing of its pack was stored.
        StorageError: the store failed.
    """
    policy = storage.packs
    if policy.enabled:
        small = [f for f in files if f.size < policy.threshold]
        for group in _groups(small, policy.target, policy.max_blobs):
            log.debug("packing %d small blobs (%d bytes)", len(group), sum(f.size for f in group))
            _local_pack(storage, group)
            if progress is not None:
                progress(sum(f.size for f in group))
        files = [f for f in files if f.size >= policy.threshold]

    def put(f: LocalFile) -> tuple[str, int]:
        log.debug("storing blob %s (%d bytes)", f.digest, f.size)
        if is_staged(f.path):  # a range of a client staging pack, not a file: stream it
            with open_snapshot(f.path) as src:
                size = storage.blobs.put_stream(f.digest, src, f.size)
        else:
            size = storage.blobs.put_file(f.digest, f.path, trusted=f.trusted)
        if progress is not None:
            progress(size)
        return f.digest, size

    storage.record_blobs(map_by_size(put, files, lambda f: f.size, workers))


def _groups(files: Sequence[LocalFile], target: int, max_items: int) -> list[list[LocalFile]]:
    groups: list[list[LocalFile]] = []
    current: list[LocalFile] = []
    nbytes = 0
    for f in files:
        if current and (nbytes + f.size > target or len(current) >= max_items):
            groups.append(current)
            current, nbytes = [], 0
        current.append(f)
        nbytes += f.size
    if current:
        groups.append(current)
    return groups


def _local_pack(storage: Storage, group: Sequence[LocalFile]) -> None:
    """One pack of this process's small files: written to the store's ``tmp/``, renamed."""
    unique = list({f.digest: f for f in group}.values())
    announced = tuple((f.digest, f.size) for f in unique)
    stored = storage.stored_blobs([d for d, _ in announced])
    local = storage.blobs if isinstance(storage.blobs, LocalSpool) else None
    with _spool_file(str(local.tmp_dir()) if local is not None else None) as (path, out):
        whole = hashlib.md5() if local is None else None
        kept: list[tuple[str, int]] = []
        offsets: list[int] = []
        changed: list[LocalFile] = []
        pos = 0
        for f in unique:
            if f.digest in stored:
                continue
            with open_snapshot(f.path) as src:
                data = src.read(f.size + 1)
            if len(data) != f.size or (not f.trusted and hashlib.md5(data).hexdigest() != f.digest):
                changed.append(f)
                continue
            out.write(data)
            if whole is not None:
                whole.update(data)
            kept.append((f.digest, f.size))
            offsets.append(pos)
            pos += f.size
        out.close()
        if changed:
            paths = [f.path for f in changed]
            shown = ", ".join(paths[:5]) + (" …" if len(paths) > 5 else "")
            raise DigestMismatchError(
                f"{len(paths)} file(s) changed after they were added, so their bytes no longer "
                f"hash to their digests: {shown}; add them again (nothing of this upload was "
                "stored)",
                details={"mismatched": [f.digest for f in changed][:1000], "paths": paths[:1000]},
            )
        # No whole-pack MD5 when the pack is renamed into a local store: nothing would check
        # it, and it would be a second pass over every byte (the row says "" then).
        spooled = SpooledPack(
            path, whole.hexdigest() if whole is not None else "", pos, tuple(kept), tuple(offsets)
        )
        fault_point("ingest.spooled")
        if not spooled.layout:
            storage.record_blobs(announced)
            return
        _store_pack(storage, spooled, announced, stored)


@contextmanager
def _spool_file(directory: str | None) -> Iterator[tuple[str, IO[bytes]]]:
    """A new temporary file (in ``directory``, else the system's), removed at the end unless
    it was renamed away meanwhile."""
    path = os.path.join(directory or tempfile.gettempdir(), layout.tmp_name(".pack"))
    out = open(path, "xb")  # noqa: SIM115 - closed below, or by the caller before renaming
    try:
        yield path, out
    finally:
        out.close()
        if os.path.lexists(path):
            os.unlink(path)


# -- shared by both ---------------------------------------------------------------------------


def _store_pack(
    storage: Storage,
    spooled: SpooledPack,
    announced: Sequence[tuple[str, int]],
    stored: set[str],
) -> dict[str, Any]:
    """Put a spooled pack in the store (renamed, for a local one) and register its blobs."""
    pack_id = packs.new_pack_id()
    store = storage.blobs
    if isinstance(store, LocalSpool):
        store.adopt_pack(pack_id, Path(spooled.path))
    else:
        store.put_pack(pack_id, spooled.path, spooled.md5)

    def register(s: Session) -> int:
        live = packs.register(s, pack_id, spooled)
        kept = [(d, n) for d, n in announced if d in stored]
        if kept:
            storage._admit(s, kept)  # clears GC's mark; their bytes stay where they are
        possession.record(s, storage.principal, (d for d, _ in announced))
        return live

    new = storage._write(register)
    if new:  # counted once committed (a retried transaction is not counted twice)
        events.emit(events.PACKS_STORED)
        events.emit(events.BLOBS_STORED, new)
        events.emit(events.BLOB_BYTES_STORED, sum(n for _, n in spooled.layout))
    return {"pack": pack_id, "new": new}


def _unpack(storage: Storage, spooled: SpooledPack) -> None:
    """Store a verified spooled pack's blobs one object each (a store that does not pack)."""
    store = storage.blobs
    with open(spooled.path, "rb") as f:
        for (digest, size), offset in zip(spooled.layout, spooled.offsets, strict=True):
            f.seek(offset)
            data = f.read(size)
            if isinstance(store, LocalSpool):  # verified while spooled: write, rename
                store.tmp_dir()
                tmp = store.new_tmp()
                try:
                    with open(tmp, "xb") as out:
                        out.write(data)
                    store.adopt_blob(digest, tmp)
                finally:
                    tmp.unlink(missing_ok=True)
            else:
                store.put_stream(digest, io.BytesIO(data), size)


def _hash_only(digest: str, stream: IO[bytes], size: int | None) -> int:
    """Read a stream to its end, checking that it hashes to ``digest``; returns its length.

    Raises:
        DigestMismatchError: it hashes otherwise, or is not ``size`` bytes long.
    """
    h = hashlib.md5()
    n = 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        n += len(chunk)
    if h.hexdigest() != digest or (size is not None and n != size):
        raise DigestMismatchError(
            f"bytes received for blob {digest} hash to {h.hexdigest()} ({n} bytes); "
            "nothing was recorded",
            details={"expected": digest, "actual": h.hexdigest()},
        )
    return n
