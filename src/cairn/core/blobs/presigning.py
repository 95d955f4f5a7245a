"""What a store that hands out presigned URLs offers (S3): the narrow protocol the core's
direct transfers (:mod:`cairn.core.transfer.direct`) use, and the values it answers.

Bytes then go between a client and the store without passing through a Cairn server; the
signature binds each request to exactly one key, method and set of headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PresignedRequest:
    """A request a client may send straight to the store: exactly this method, URL and headers.

    The headers are part of the signature: a client that drops or changes them is refused.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    expires_in: int

    def to_wire(self) -> dict[str, object]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers)}


@dataclass(frozen=True)
class UploadedPart:
    part_number: int
    etag: str
    size: int


@dataclass(frozen=True)
class StoredObject:
    """What a HEAD of a blob's key tells: its size, whether its ETag is its MD5, and who put
    it there (the tag signed into the presigned PUT, or None)."""

    size: int
    etag_is_md5: bool
    uploader: str | None


@runtime_checkable
class PresigningStore(Protocol):
    """A blob store clients can reach by presigned URL."""

    uri: str

    @property
    def single_put_max(self) -> int:
        """The largest blob one presigned PUT may carry; larger ones go in parts."""

    @property
    def preferred_part_size(self) -> int:
        """The part size the store is configured for (see ``plan.part_size``)."""

    @property
    def max_workers(self) -> int:
        """Requests worth running in parallel against the store."""

    def presign_put(
        self, digest: str, size: int | None, *, uploader: str | None = None, expires: int = 3600
    ) -> PresignedRequest: ...

    def stat_blob(self, digest: str) -> StoredObject | None: ...

    def presign_get(self, digest: str, *, expires: int = 3600) -> PresignedRequest: ...

    def presign_pack_range(
        self, pack_id: str, offset: int, length: int, *, expires: int = 3600
    ) -> PresignedRequest: ...

    def create_multipart(self, digest: str) -> str: ...

    def presign_part(
        self,
        digest: str,
        upload_id: str,
        part_number: int,
        content_md5: str,
        *,
        size: int | None = None,
        expires: int = 3600,
    ) -> PresignedRequest: ...

    def list_parts(self, digest: str, upload_id: str) -> list[UploadedPart]: ...

    def complete_multipart(
        self,
        digest: str,
        upload_id: str,
        parts: Sequence[UploadedPart] | None = None,
        *,
        publish: bool = True,
    ) -> int: ...

    def abort_multipart(self, digest: str, upload_id: str) -> None: ...
