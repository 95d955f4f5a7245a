"""``gs://bucket/key`` references: objects in Google Cloud Storage, through google-cloud-storage.

Recorded per object: its MD5 (base64, as GCS reports it; the ETag for composite objects, which
have none) as digest, the size, and the generation as ``extra["versionID"]`` when the bucket keeps
old versions (W&B's shape). ``gs://b/k#<generation>`` records that generation of ``k``. Loading
reads the recorded generation when there is one; otherwise it checks the live object's digest and
then downloads exactly the generation it checked.

Where the client looks, nothing of it kept by Cairn: credentials from Application Default
Credentials (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``, the
metadata server), falling back to anonymous access (public buckets) when there are none; the
endpoint from ``STORAGE_EMULATOR_HOST`` (an emulator, with anonymous credentials) else GCS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any
from urllib.parse import urlparse

import google.auth.exceptions
import requests
from google.api_core import exceptions as gapi
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption

from cairn.cache.memo import ChecksumMemo
from cairn.errors import (
    DigestMismatchError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
)
from cairn.references.entries import env_fingerprint
from cairn.references.objectstore import (
    Location,
    ObjectChanged,
    ObjectMissing,
    ObjectStoreHandler,
    StoredObject,
)

ENV_PREFIXES = ("GOOGLE_", "CLOUDSDK_", "STORAGE_EMULATOR_HOST", "GCE_METADATA")
LIST_PAGE_SIZE = 1000


@dataclass(frozen=True)
class GCSOptions:
    env_key: str  # changes with any variable the client reads, so a new one is built

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GCSOptions:
        return cls(env_fingerprint(env, ENV_PREFIXES))


_client_lock = threading.Lock()


@lru_cache(maxsize=8)
def _client(options: GCSOptions) -> Any:
    # Kept per environment: finding credentials can take a metadata-server round trip.
    with _client_lock:
        try:
            return storage.Client()
        except google.auth.exceptions.DefaultCredentialsError:
            return storage.Client.create_anonymous_client()


def _digest(blob: Any) -> str:
    return str(blob.md5_hash or blob.etag)


class GCSHandler(ObjectStoreHandler):
    scheme = "gs"
    product = "GCS"

    def __init__(self, options: GCSOptions) -> None:
        self.options = options
        self._versioned: dict[str, bool] = {}

    @classmethod
    def create(cls, memo: ChecksumMemo, env: Mapping[str, str]) -> GCSHandler:
        return cls(GCSOptions.from_env(env))

    @property
    def client(self) -> Any:
        return _client(self.options)

    def parse(self, uri: str) -> Location:
        parsed = urlparse(uri)
        if parsed.scheme.lower() != "gs" or not parsed.netloc:
            raise ValidationError(f"{uri!r} is not a gs://bucket/key URI")
        if parsed.query:
            raise ValidationError(
                f"gs reference {parsed.netloc}{parsed.path}: query parameters are not understood "
                "(pin a generation with #<generation>)"
            )
        version = parsed.fragment or None
        if version is not None and not version.isdigit():
            raise ValidationError(f"gs reference {uri!r}: a generation is a whole number")
        return Location(parsed.netloc, parsed.path.lstrip("/"), version)

    def uri_of(self, loc: Location, key: str) -> str:
        return f"gs://{loc.bucket}/{key}"

    def head(self, loc: Location) -> StoredObject | None:
        generation = int(loc.version) if loc.version else None
        blob = self.client.bucket(loc.bucket).get_blob(loc.key, generation=generation)
        return None if blob is None else self._object(loc.bucket, blob)

    def list_prefix(self, loc: Location, prefix: str) -> Iterator[StoredObject]:
        for blob in self.client.list_blobs(loc.bucket, prefix=prefix, page_size=LIST_PAGE_SIZE):
            if not blob.name.endswith("/"):  # "folder" placeholders hold no data
                yield self._object(loc.bucket, blob)

    def fetch(self, loc: Location, digest: str | None, out: IO[bytes]) -> None:
        bucket = self.client.bucket(loc.bucket)
        generation = int(loc.version) if loc.version else None
        blob = bucket.get_blob(loc.key, generation=generation)
        if blob is None:
            raise ObjectMissing
        if digest is not None and _digest(blob) != digest:
            raise ObjectChanged
        # Download the very generation whose digest was checked, not whatever is live by then;
        # the client also checks the bytes against the object's checksum while downloading.
        try:
            bucket.blob(loc.key, generation=blob.generation).download_to_file(out)
        except gapi.NotFound:
            raise ObjectChanged from None  # replaced (and the old generation dropped) meanwhile

    def _object(self, bucket: str, blob: Any) -> StoredObject:
        extra = {"versionID": blob.generation} if self._bucket_versioned(bucket) else {}
        return StoredObject(blob.name, _digest(blob), int(blob.size), extra)

    def _bucket_versioned(self, name: str) -> bool:
        if name not in self._versioned:
            bucket = self.client.bucket(name)
            try:
                bucket.reload()
                self._versioned[name] = bool(bucket.versioning_enabled)
            except (gapi.Forbidden, gapi.Unauthorized):
                # Reading objects does not need the right to read bucket settings; without
                # it, record no generation (the digest still guards the bytes).
                self._versioned[name] = False
        return self._versioned[name]

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate google-cloud-storage exceptions raised in the block (the one place).

        Messages carry the HTTP status, never the server's text or credentials.
        """
        try:
            yield
        except gapi.NotFound:
            raise NotFoundError(f"{what}: GCS has no such bucket, object or generation") from None
        except (gapi.PreconditionFailed, DataCorruption):
            raise DigestMismatchError(
                f"{what}: the referenced object changed since it was logged"
            ) from None
        except (gapi.Forbidden, gapi.Unauthorized, google.auth.exceptions.GoogleAuthError) as exc:
            raise PermissionDeniedError(
                f"{what}: GCS refused access ({type(exc).__name__}); check Application Default "
                "Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default "
                "login)"
            ) from None
        except gapi.GoogleAPICallError as exc:
            raise StorageError(f"{what}: GCS error (HTTP {exc.code})") from None
        except requests.RequestException as exc:
            raise StorageError(f"{what}: cannot reach GCS ({type(exc).__name__})") from None
