"""The client/server contract in one place: what ``GET /api/v1/server`` announces, the header
names both sides use, and the batch sizes a request may carry.

The server builds :class:`ServerInfo` and renders it; the HTTP backend parses the same class
and obeys it (batch sizes, pack sizes, whether to upload by presigned URL). A field a client
does not know is ignored and a field an older server does not send takes its default, so
either side may be the newer one. ``tests/server/test_wire.py`` pins the JSON shape against
the live route.

A bottom module: it imports nothing of Cairn, so every layer may use it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MiB = 1 << 20

# -- header names -----------------------------------------------------------------------------
MANIFEST_DIGEST_HEADER = "X-Cairn-Manifest-Digest"
REQUEST_ID_HEADER = "X-Request-Id"
# A commit carries a fresh key; the server answers a repeat with the version it already made.
IDEMPOTENCY_HEADER = "Idempotency-Key"

# -- batch sizes ------------------------------------------------------------------------------
# Digests in one ``/blobs/missing``, ``/blobs/uploads``, ``/blobs/confirm``, ``/blobs/read`` or
# ``/blobs/downloads`` request, unless the server announces another limit.
DEFAULT_MAX_DIGESTS = 10_000

# -- large blobs ------------------------------------------------------------------------------
# S3's own limits: one PUT of at most 5 GiB; parts of 5 MiB..5 GiB (the last may be smaller),
# at most 10,000 of them. SeaweedFS enforces the 5 MiB minimum part too.
S3_SINGLE_PUT_MAX = 5 * 1024 * MiB
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000


class _Wire(BaseModel):
    # Unknown fields are ignored (a newer peer); every model is a frozen value.
    model_config = ConfigDict(frozen=True, extra="ignore")


class PackLimits(_Wire):
    """How small blobs travel (in pack streams) and are stored, as a server announces it."""

    stored_in_packs: bool = False
    threshold: int = Field(1 * MiB, gt=0, description="blobs smaller than this travel in packs")
    target: int = Field(32 * MiB, gt=0, description="bytes a client puts in one pack stream")
    max_blobs: int = Field(10_000, gt=0, description="blobs in one pack stream at most")
    max_bytes: int = Field(256 * MiB, gt=0, description="bytes in one pack stream at most")
    # The longest single read a client should ask for when it fetches small blobs many to a
    # request (``POST /blobs/read``); absent from servers before the wire module: ``target``.
    range_bytes: int | None = Field(None, gt=0)

    @property
    def read_bytes(self) -> int:
        """Bytes to ask for in one ``POST /blobs/read``."""
        return self.range_bytes or self.target


class ServerInfo(_Wire):
    """``GET /api/v1/server``: what a client needs to know before it moves bytes."""

    version: str
    presigned: bool = False
    max_json_bytes: int | None = None
    max_blob_bytes: int | None = None
    max_digests: int = Field(DEFAULT_MAX_DIGESTS, gt=0)
    # None: every blob travels and is stored on its own (a server without small blobs).
    packs: PackLimits | None = None
    # POST /versions/{id}/commit-unchanged: a re-log of the latest content sends a digest.
    commit_unchanged: bool = False
    # With ``presigned``: blobs up to this size go by one presigned PUT, larger ones in parts.
    single_put_max: int | None = Field(None, gt=0)
