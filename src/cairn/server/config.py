"""What a server process needs to know: one frozen object, built by the CLI or by tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cairn.manifest.paths import MAX_PATH_LEN

MiB = 1 << 20


@dataclass(frozen=True)
class ServerConfig:
    db_url: str
    store_uri: str
    # Passed to the blob store's ``from_uri`` (e.g. ``endpoint_url`` for S3).
    store_options: dict[str, Any] = field(default_factory=dict)
    # No API keys: every request acts as one local superuser. Only for a loopback bind.
    insecure_local: bool = False
    local_user: str = "local"
    # Create the schema on an empty database (a first start); a schema at an older revision
    # is never upgraded implicitly: ``cairn server migrate`` does that, on purpose.
    create_schema: bool = True
    max_json_bytes: int = 256 * MiB  # request bodies other than blob uploads
    # Seconds a request body may go without a byte arriving (then 408), so a client that
    # declares more than it sends cannot hold a worker. None: wait for ever.
    read_timeout: float | None = 60.0
    max_blob_bytes: int | None = None  # one streamed blob upload (None: no limit)
    max_digests: int = 10_000  # digests per missing/plan request
    presign: bool = True  # hand out presigned URLs when the store can make them
    presign_expires: int = 3600
    # Small blobs travel many to a request, and are stored many to an object when ``packs``
    # (None: where objects are dear, i.e. S3; a local folder keeps one file per blob).
    packs: bool | None = None
    # Blobs smaller than this are "small". 0: none are — every blob moves and is stored on
    # its own, as before packs (kept to measure that baseline).
    pack_threshold: int = 1 * MiB
    pack_target: int = 32 * MiB  # what a client puts in one pack upload
    max_pack_bytes: int = 256 * MiB  # one pack upload at most
    # Seconds between runs of the background maintenance (TTL expiry); 0: never run it.
    maintenance_interval: float = 3600.0
    # How long a key's principal is remembered (seconds): also how long a key revoked on
    # another process or replica keeps working. 0: authenticate every request in the database.
    auth_cache_seconds: float = 1.0
    # Database connections per server process: ``db_pool_size`` kept open, up to
    # ``db_max_overflow`` more under load (opened and closed as needed). Requests run on up to
    # 40 threads per process, so 20 + 20 never makes a request wait for a connection.
    # PostgreSQL must allow replicas * workers * (pool + overflow) connections.
    db_pool_size: int = 20
    db_max_overflow: int = 20
    # Bounds on one version (cairn.core.commit_checks.CommitLimits): entries, characters in
    # one entry path, bytes of its stored manifest.
    max_entries: int = 10_000_000
    max_path_length: int = MAX_PATH_LEN
    max_manifest_bytes: int = 4 * 1024 * MiB
    # Signs the URLs the server serves itself to clients that send no key (the W&B client's
    # uploads and downloads on a folder store: cairn.core.signed_urls). Random per start, and
    # handed to --workers with the rest of the config; replicas must be given one and the same.
    url_signing_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
