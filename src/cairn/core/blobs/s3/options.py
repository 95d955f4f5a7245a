"""How to reach an S3 store and how to move bytes to it: :class:`S3Options` and S3's limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from cairn.wire import MAX_PARTS, MIN_PART_SIZE, S3_SINGLE_PUT_MAX

MiB = 1 << 20
ENDPOINT_ENV = "CAIRN_S3_ENDPOINT_URL"
# S3's own limits (parts, one PUT) are in :mod:`cairn.wire`; CopyObject copies at most 5 GiB
# in one request.
MAX_COPY_SIZE = 5 * 1024 * MiB
# Parts read ahead of the uploads in flight, per put: memory is bounded by this x part size.
PARTS_IN_FLIGHT = 4
# put_stream spools a non-seekable stream to disk past this size (botocore must rewind bodies
# to retry, and must know their length).
SPOOL_IN_MEMORY = 8 * MiB
# has_many lists a shard (objects/md5/ab/) instead of HEADing each digest in it when it asks
# about at least this many digests there. A LIST page answers for up to 1000 keys in one round
# trip but AWS bills it like ~12 HEADs, so listing is cheaper only where the asked digests are
# dense; a listing that turns out sparse (big store, few asks) falls back to HEADs after
# ``asked // HEADS_PER_LIST_PAGE`` pages, so it never costs much more than the HEADs would.
LIST_MIN_PER_SHARD = 24
HEADS_PER_LIST_PAGE = 12
LIST_PAGE_SIZE = 1000  # S3's maximum


@dataclass(frozen=True)
class S3Options:
    """How to reach the store, resolved once by :meth:`S3BlobStore.from_uri`.

    Credentials left ``None`` come from boto3's usual chain (env, profile, instance role).
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    # The endpoint clients reach for presigned URLs, when it differs from the server's own
    # (a store on a private network behind a public name).
    presign_endpoint_url: str | None = None
    multipart_threshold: int = 64 * MiB
    part_size: int = 64 * MiB  # raised to S3's 5 MiB minimum if smaller
    # The largest blob a client sends in one presigned PUT (straight to its key, Content-MD5
    # signed in, nothing read back); larger ones go in parts. S3 takes at most 5 GiB per PUT.
    single_put_max: int = S3_SINGLE_PUT_MAX
    max_workers: int = 16
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


__all__ = [
    "ENDPOINT_ENV",
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "MiB",
    "S3Options",
]
