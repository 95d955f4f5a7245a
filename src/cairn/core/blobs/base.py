"""The BlobStore protocol: a handful of methods over a content-addressed set of bytes.

Blobs are named by the lowercase hex MD5 of their bytes. A store never holds a blob whose bytes
do not hash to its name: writers verify while streaming and publish with an atomic rename (or
the object store's equivalent), so a reader sees a whole blob or none.

Beside the blobs, a store keeps *packs*: objects that hold many small blobs back to back, under
random names (``packs/<id[:2]>/<id>``). Which blob lies where in which pack is the database's
business (:mod:`cairn.core.packs`); to the store a pack is just bytes to write once, read by
range, and delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Protocol, runtime_checkable

CHUNK = 1 << 20


def blob_key(hexdigest: str) -> str:
    """``objects/md5/ab/cdef…``: the key of a blob in every store and cache."""
    return f"objects/md5/{hexdigest[:2]}/{hexdigest[2:]}"


def pack_key(pack_id: str) -> str:
    """``packs/3f/3f9a…``: the key of a pack (a random 32-hex name) in every store."""
    return f"packs/{pack_id[:2]}/{pack_id}"


@runtime_checkable
class BlobStore(Protocol):
    uri: str

    def has_many(self, digests: Iterable[str]) -> set[str]:
        """The subset of ``digests`` the store holds."""

    def put_stream(self, digest: str, stream: IO[bytes], size: int | None = None) -> int:
        """Store bytes read from ``stream``; raise DigestMismatchError if they hash otherwise."""

    def put_file(self, digest: str, path: str, *, trusted: bool = False) -> int:
        """Store a local file. ``trusted`` means its digest was computed by this process from
        the same bytes (a read-only cache object), so a local store may hard-link it."""

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
