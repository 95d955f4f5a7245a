"""The BlobStore protocol: a handful of methods over a content-addressed set of bytes.

Blobs are named by the lowercase hex MD5 of their bytes. A store never holds a blob whose bytes
do not hash to its name: writers verify while streaming and publish with an atomic rename (or
the object store's equivalent), so a reader sees a whole blob or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Protocol, runtime_checkable

CHUNK = 1 << 20


def blob_key(hexdigest: str) -> str:
    """``objects/md5/ab/cdef…``: the key of a blob in every store and cache."""
    return f"objects/md5/{hexdigest[:2]}/{hexdigest[2:]}"


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
