"""``s3://bucket/key`` references: objects in S3 or an S3-compatible store, through boto3.

Recorded per object: the ETag (quotes stripped) as digest and in ``extra["etag"]``, the size, and
``extra["versionID"]`` when the bucket is versioned (W&B's shape). ``s3://b/k?versionId=V``
records that version of ``k``. Loading asks for the recorded version when there is one, and
otherwise sends ``If-Match: <etag>``, so a changed object is refused by S3 itself.

Where boto3 looks, nothing of it kept by Cairn: credentials and region from its usual chain
(``AWS_*`` variables, ``~/.aws/credentials`` and ``~/.aws/config``, instance roles); the endpoint
from ``CAIRN_S3_ENDPOINT_URL``, else boto3's own ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``,
else AWS. With a custom endpoint (SeaweedFS, MinIO, …) requests are path-style, which those
stores need.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any
from urllib.parse import parse_qsl, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from cairn.cache.memo import ChecksumMemo
from cairn.errors import NotFoundError, PermissionDeniedError, StorageError, ValidationError
from cairn.references.entries import env_fingerprint
from cairn.references.objectstore import (
    CHUNK,
    Location,
    ObjectChanged,
    ObjectMissing,
    ObjectStoreHandler,
    StoredObject,
)

ENDPOINT_ENV = "CAIRN_S3_ENDPOINT_URL"
BOTO_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
LIST_PAGE_SIZE = 1000  # S3's maximum

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket"})
_CHANGED = frozenset({"412", "PreconditionFailed"})
_DENIED = frozenset(
    {
        "401",
        "403",
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
    }
)


@dataclass(frozen=True)
class S3Options:
    """What Cairn decides about the boto3 client; ``env_key`` changes with any ``AWS_*``."""

    endpoint_url: str | None
    path_style: bool
    env_key: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Options:
        endpoint = env.get(ENDPOINT_ENV) or None
        custom = endpoint is not None or any(env.get(k) for k in BOTO_ENDPOINT_ENVS)
        return cls(endpoint, custom, env_fingerprint(env, ("AWS_", ENDPOINT_ENV)))


_client_lock = threading.Lock()


@lru_cache(maxsize=8)
def _client(options: S3Options) -> Any:
    # A client per environment, kept: building one costs tens of milliseconds, and download
    # asks for a handler per referenced entry. Creation is not thread-safe; use is.
    with _client_lock:
        config = Config(s3={"addressing_style": "path"}) if options.path_style else None
        return boto3.session.Session().client(
            "s3", endpoint_url=options.endpoint_url, config=config
        )


def _etag(raw: str) -> str:
    return raw.strip('"')


def _version_extra(etag: str, version: str | None) -> dict[str, str]:
    extra = {"etag": etag}
    if version and version != "null":  # "null" is S3's id for objects written unversioned
        extra["versionID"] = version
    return extra


class S3Handler(ObjectStoreHandler):
    scheme = "s3"
    product = "S3"

    def __init__(self, options: S3Options) -> None:
        self.options = options
        self._versioned: dict[str, bool] = {}

    @classmethod
    def create(cls, memo: ChecksumMemo, env: Mapping[str, str]) -> S3Handler:
        return cls(S3Options.from_env(env))

    @property
    def client(self) -> Any:
        return _client(self.options)

    def parse(self, uri: str) -> Location:
        parsed = urlparse(uri)
        if parsed.scheme.lower() != "s3" or not parsed.netloc:
            raise ValidationError(f"{uri!r} is not an s3://bucket/key URI")
        query = dict(parse_qsl(parsed.query))
        if set(query) - {"versionId"}:
            raise ValidationError(
                f"s3 reference {parsed.netloc}{parsed.path}: the only query parameter "
                "understood is versionId (credentials come from boto3's environment)"
            )
        return Location(parsed.netloc, parsed.path.lstrip("/"), query.get("versionId"))

    def uri_of(self, loc: Location, key: str) -> str:
        return f"s3://{loc.bucket}/{key}"

    def head(self, loc: Location) -> StoredObject | None:
        kwargs = {"VersionId": loc.version} if loc.version else {}
        try:
            got = self.client.head_object(Bucket=loc.bucket, Key=loc.key, **kwargs)
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None  # not an object: the caller reads the key as a prefix
            raise
        etag = _etag(got["ETag"])
        return StoredObject(
            loc.key, etag, int(got["ContentLength"]), _version_extra(etag, got.get("VersionId"))
        )

    def list_prefix(self, loc: Location, prefix: str) -> Iterator[StoredObject]:
        if self._bucket_versioned(loc.bucket):
            # One listing gives the latest version id of every key; a HEAD per key would not.
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=loc.bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
            )
            for page in pages:
                for v in page.get("Versions", ()):
                    if v["IsLatest"] and not v["Key"].endswith("/"):
                        etag = _etag(v["ETag"])
                        extra = _version_extra(etag, v.get("VersionId"))
                        yield StoredObject(v["Key"], etag, int(v["Size"]), extra)
            return
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=loc.bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                if not obj["Key"].endswith("/"):  # "folder" placeholders hold no data
                    etag = _etag(obj["ETag"])
                    yield StoredObject(obj["Key"], etag, int(obj["Size"]), {"etag": etag})

    def fetch(self, loc: Location, digest: str | None, out: IO[bytes]) -> None:
        kwargs: dict[str, str] = {}
        if loc.version:
            kwargs["VersionId"] = loc.version
        if digest is not None:
            kwargs["IfMatch"] = f'"{digest}"'
        try:
            got = self.client.get_object(Bucket=loc.bucket, Key=loc.key, **kwargs)
        except ClientError as exc:
            code = _code(exc)
            if code in _CHANGED:
                # Stores differ on If-Match against a deleted key: some say 412, not 404.
                if self.head(loc) is None:
                    raise ObjectMissing from None
                raise ObjectChanged from None
            if code in _NOT_FOUND:
                raise ObjectMissing from None
            raise
        if digest is not None and _etag(got["ETag"]) != digest:
            got["Body"].close()  # a store that ignored If-Match
            raise ObjectChanged
        body = got["Body"]
        try:
            while chunk := body.read(CHUNK):
                out.write(chunk)
        finally:
            body.close()

    def _bucket_versioned(self, bucket: str) -> bool:
        if bucket not in self._versioned:
            try:
                status = self.client.get_bucket_versioning(Bucket=bucket).get("Status")
            except ClientError as exc:
                if _code(exc) not in _DENIED:
                    raise
                status = None  # may not read the setting: list without version ids
            self._versioned[bucket] = status in ("Enabled", "Suspended")
        return self._versioned[bucket]

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate botocore exceptions raised in the block (the one place this is done).

        Messages carry the S3 error code and HTTP status, never the server's text or the
        credentials boto3 used.
        """
        try:
            yield
        except ClientError as exc:
            code, status = _code(exc), _status(exc)
            if code in _NOT_FOUND:
                raise NotFoundError(
                    f"{what}: S3 has no such bucket, object or version ({code})",
                    details={"code": code, "status": status},
                ) from None
            if code in _DENIED:
                raise PermissionDeniedError(
                    f"{what}: S3 refused access ({code}); check the credentials boto3 finds "
                    "(AWS_* variables, ~/.aws)",
                    details={"code": code, "status": status},
                ) from None
            raise StorageError(
                f"{what}: S3 error {code} (HTTP {status})", details={"code": code}
            ) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise PermissionDeniedError(
                f"{what}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or ~/.aws/credentials"
            ) from None
        except BotoCoreError as exc:
            raise StorageError(f"{what}: {type(exc).__name__}: {exc}") from None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None
