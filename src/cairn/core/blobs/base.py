"""The BlobStore protocol: a handful of methods over a content-addressed set of bytes.

Blobs are named by the lowercase hex MD5 of their bytes. A store never holds a blob whose bytes
do not hash to its name: writers verify while streaming and publish with an atomic rename (or
the object store's equivalent), so a reader sees a whole blob or none.

Beside the blobs, a store keeps *packs*: objects that hold many small blobs back to back, under
random names (``packs/<id[:2]>/<id>``; the whole tree is drawn in :mod:`cairn.layout`). Which
blob lies where in which pack is the database's business (:mod:`cairn.core.packs`); to the
store a pack is just bytes to write once, read by range, and delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from cairn.layout import blob_key, pack_key

__all__ = ["CHUNK", "BlobStore", "LocalSpool", "blob_key", "pack_key"]

CHUNK = 1 << 20


@runtime_checkable
class BlobStore(Protocol):
    uri: str

    def has_many(self, digests: Iterable[str]) -> set[str]:
        """The subset of ``digests`` the store holds."""

    def put_stream(self, digest: str, stream: IO[bytes], size: int | None = None) -> int:
        """Store bytes read from ``stream``; raise DigestMismatchError if they hash otherwise."""

    def put_file(self, digest: str, path: str, *, trusted: bool = False) -> int:
        """Store a local file. ``trusted`` means its digest was computed by this process from
        the same bytes (a read-only snapshot), so a local store copies it without hashing."""

    def open(self, digest: str) -> IO[bytes]:
        """A binary stream of the blob; BlobNotFoundError if absent."""

    def get_file(self, digest: str, dest: str) -> None:
        """Write the blob to ``dest`` (a fresh temporary path the caller renames)."""

    def size(self, digest: str) -> int | None:
        """The blob's size, or None if absent."""

    def delete(self, digest: str) -> None:
        """Remove a blob; absent blobs are ignored."""

    def iter_digests(self) -> Iterator[str]:
        """Every digest the store holds (for GC and audits)."""

    # -- packs ---------------------------------------------------------------------------------
    def put_pack(self, pack_id: str, path: str, md5: str) -> None:
        """Store the local file ``path`` as pack ``pack_id``; DigestMismatchError unless its
        bytes hash to ``md5`` (nothing is stored then)."""

    def read_pack(self, pack_id: str, offset: int, length: int) -> bytes:
        """``length`` bytes of a pack from ``offset``; BlobNotFoundError if it is absent,
        IntegrityError if it is shorter than that (the pack is damaged)."""

    def delete_pack(self, pack_id: str) -> None:
        """Remove a pack; an absent one is ignored."""

    def iter_packs(self) -> Iterator[tuple[str, float]]:
        """(pack id, modification time as a POSIX timestamp) of every pack the store holds."""

    def read_stamp(self) -> str | None:
        """The installation id :meth:`write_stamp` recorded, or None (:mod:`cairn.core.stamp`)."""

    def write_stamp(self, installation: str) -> None:
        """Record the installation id of the database this store serves."""


@runtime_checkable
class LocalSpool(Protocol):
    """A store on this machine's filesystem: bytes this process has verified are spooled in
    its own ``tmp/`` folder and renamed into place, never copied or hashed again
    (:mod:`cairn.core.transfer.ingest`)."""

    def tmp_dir(self) -> Path:
        """The store's temporary folder, made again if it was removed."""

    def new_tmp(self, hint: str = "") -> Path:
        """A fresh process-unique path in :meth:`tmp_dir` (not created)."""

    def adopt_blob(self, digest: str, tmp: Path) -> int:
        """Rename ``tmp`` (verified bytes of ``digest``) into place; returns its size."""

    def adopt_pack(self, pack_id: str, tmp: Path) -> None:
        """Rename ``tmp`` (a pack whose blobs were verified) into place as ``pack_id``."""

    def sweep_tmp(self, older_than: float) -> int:
        """Remove temporary files older than ``older_than`` seconds; returns how many."""
