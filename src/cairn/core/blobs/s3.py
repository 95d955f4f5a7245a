"""A blob store on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, …) through boto3.

``s3://bucket/prefix`` lays blobs out like every other store::

    s3://bucket/prefix/
        objects/md5/
            d4/
                1d8cd98f00b204e9800998ecf8427e      ← the empty blob
        packs/
            3f/
                3f9a0c51e0b44f6d8a8b2c7de6a1b0f4    ← a pack of small blobs (a random name)
        uploads/<hex md5>/<nonce>                   ← presigned multipart uploads, until verified
        uploads/<hex md5>/<tag>-<nonce>             ← presigned single PUTs, until confirmed

How the store keeps its promise that a blob's bytes hash to its name:

* Single PUTs (``put_*`` below the multipart threshold, and :meth:`S3BlobStore.presign_put`)
  carry ``Content-MD5`` = the digest the key names, so the S3 server itself refuses other bytes
  and the object never appears. Those blobs need no :meth:`~S3BlobStore.verify`.
* Presigned single PUTs from clients of a team server (:meth:`S3BlobStore.presign_staged_put`)
  carry the same signed ``Content-MD5`` but go to a staging key under the account's tag, so the
  server can tell who uploaded them (proof of possession, :mod:`cairn.core.possession`);
  :meth:`~S3BlobStore.take_staged` copies one to its blob's key server-side. A staged object
  nobody confirms is garbage, like an abandoned multipart upload (an ``uploads/`` lifecycle rule
  on the bucket removes both).
* ``put_*`` above the threshold upload parts, each with its own ``Content-MD5``, while hashing
  the whole; the upload is completed only if the whole hashes to the digest, else aborted.
* Presigned multipart uploads (:meth:`~S3BlobStore.create_multipart` …) go to a private staging
  key; :meth:`~S3BlobStore.complete_multipart` assembles it, streams it once to check its MD5
  (a multipart ETag is not the MD5 of the object, and per-part checksums do not bind the
  parts to the digest), and only then copies it server-side to its content-addressed key.

Every botocore exception is translated to :mod:`cairn.errors` in one place, :func:`_s3_errors`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cairn.core.blobs.base import CHUNK, blob_key, pack_key
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    IntegrityError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from cairn.manifest.digest import hex_to_b64, is_hex_md5
from cairn.manifest.packstream import read_exactly

MiB = 1 << 20
ENDPOINT_ENV = "CAIRN_S3_ENDPOINT_URL"
# S3's own limits: parts of 5 MiB..5 GiB (the last may be smaller), at most 10,000 of them, and
# CopyObject copies at most 5 GiB in one request. SeaweedFS enforces the 5 MiB minimum too.
MAX_PARTS = 10_000
MIN_PART_SIZE = 5 * MiB
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

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_BAD_DIGEST = frozenset({"BadDigest", "InvalidDigest"})
_DENIED = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
)


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
    max_workers: int = 16
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


@dataclass(frozen=True)
class PresignedRequest:
    """A request a client may send straight to the store: exactly this method, URL and headers.

    The headers are part of the signature: a client that drops or changes them is refused.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    expires_in: int


@dataclass(frozen=True)
class UploadedPart:
    part_number: int
    etag: str
    size: int


@contextmanager
def _s3_errors(action: str, where: str, digest: str | None = None) -> Iterator[None]:
    """The one boundary where botocore exceptions become :mod:`cairn.errors`.

    Messages name the action and the ``s3://`` location, never credentials.

    Raises:
        BlobNotFoundError: no such key (``NoSuchKey``, or a bare 404 from HEAD).
        NotFoundError: no such multipart upload.
        DigestMismatchError: the server refused the bytes for their ``Content-MD5``.
        StorageError: anything else: no such bucket, access denied, connection or timeout.
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        # Some stores answer errors botocore cannot parse: keep their words, not the markup.
        message = " ".join(re.sub(r"<[^>]*>", " ", str(error.get("Message", ""))).split())
        message = message or f"the store answered {code or 'an error'}"
        if code in _NOT_FOUND:
            what = f"blob {digest}" if digest else where
            raise BlobNotFoundError(f"{what} is not in the store ({where})") from None
        if code == "NoSuchUpload":
            raise NotFoundError(
                f"{action}: no such multipart upload at {where}; it was completed, aborted or "
                "has expired"
            ) from None
        if code in _BAD_DIGEST:
            raise DigestMismatchError(
                f"{action}: the store refused the bytes for blob {digest}: {message}",
                details={"expected": digest, "code": code},
            ) from None
        hint = "; check the store's credentials and bucket policy" if code in _DENIED else ""
        raise StorageError(
            f"{action} failed at {where}: {code or 'error'}: {message}{hint}",
            details={"code": code},
        ) from exc
    except BotoCoreError as exc:
        # Connection refused, timeouts, no credentials found, an unreadable response stream.
        raise StorageError(f"{action} failed at {where}: {exc}") from exc


def _check(digest: str) -> str:
    if not is_hex_md5(digest):
        raise ValidationError(f"{digest!r} is not a hex MD5 blob name")
    return digest


def _check_b64_md5(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise ValidationError(f"{value!r} is not a base64 MD5 (a Content-MD5 header value)")
    return value


def _mismatch(digest: str, actual: str, size: int) -> NoReturn:
    raise DigestMismatchError(
        f"bytes received for blob {digest} hash to {actual}; nothing was stored",
        details={"expected": digest, "actual": actual, "size": size},
    )


class _HashingWindow(io.RawIOBase):
    """``length`` bytes of a seekable stream from its current position, hashed as read.

    botocore rewinds a body with ``seek(0)`` to sign it and to retry, so position 0 here is the
    stream's starting position, and bytes read again after a rewind are not hashed twice.
    """

    def __init__(self, stream: IO[bytes], length: int) -> None:
        super().__init__()
        self._stream = stream
        self._base = stream.tell()
        self._length = length
        self._pos = 0
        self._hash = hashlib.md5()
        self._hashed = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + offset))
        self._stream.seek(self._base + self._pos)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        want = self._length - self._pos
        if size is not None and size >= 0:
            want = min(want, size)
        data = self._stream.read(want) if want > 0 else b""
        start, self._pos = self._pos, self._pos + len(data)
        if self._pos > self._hashed:
            self._hash.update(data[self._hashed - start :])
            self._hashed = self._pos
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __len__(self) -> int:
        return self._length

    @property
    def complete(self) -> bool:
        return self._hashed == self._length

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _ObjectReader(io.RawIOBase):
    """A GetObject body as a file object, with read errors translated at the same boundary."""

    def __init__(self, body: Any, where: str, digest: str) -> None:
        super().__init__()
        self._body = body
        self._where = where
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _s3_errors("read", self._where, self._digest):
            data: bytes = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3BlobStore:
    """Blobs under ``s3://bucket/prefix`` on any S3-compatible store.

    Thread-safe: one boto3 client (thread-safe) with a connection pool sized for
    ``max_workers`` parallel requests.
    """

    # Every object costs a request (and, on AWS, a fee): small blobs belong in packs here.
    packs_by_default = True

    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None) -> None:
        self.options = options or S3Options()
        if not bucket:
            raise ValidationError("an S3 blob store needs a bucket: s3://bucket/prefix")
        if self.options.multipart_threshold < 1 or self.options.part_size < 1:
            raise ValidationError("multipart_threshold and part_size must be positive")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = self._make_client(self.options.endpoint_url)
        self._presigner = (
            self._make_client(self.options.presign_endpoint_url)
            if self.options.presign_endpoint_url
            else self._client
        )

    @classmethod
    def from_uri(
        cls,
        uri: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        **tuning: Any,
    ) -> S3BlobStore:
        """Open ``s3://bucket/prefix``.

        The endpoint comes from ``endpoint_url``, else ``$CAIRN_S3_ENDPOINT_URL``, else AWS.
        ``tuning`` takes the other :class:`S3Options` fields (``multipart_threshold``, …).

        Raises:
            ValidationError: not an ``s3://`` URI, half a key pair, or an unknown option.
        """
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValidationError(f"{uri!r} is not an s3://bucket/prefix URI")
        if (access_key is None) != (secret_key is None):
            raise ValidationError("give both access_key and secret_key, or neither")
        known = set(S3Options.__dataclass_fields__) - {
            "endpoint_url",
            "region",
            "access_key",
            "secret_key",
            "session_token",
        }
        unknown = set(tuning) - known
        if unknown:
            raise ValidationError(
                f"unknown S3 store options {sorted(unknown)} (known: {sorted(known)})"
            )
        options = S3Options(
            endpoint_url=endpoint_url or os.environ.get(ENDPOINT_ENV) or None,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
            **tuning,
        )
        return cls(parsed.netloc, parsed.path, options)

    def _make_client(self, endpoint_url: str | None) -> Any:
        o = self.options
        config = Config(
            signature_version="s3v4",
            # A custom endpoint (SeaweedFS, MinIO) rarely has wildcard DNS for bucket hosts.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            max_pool_connections=o.max_workers,
            retries={"mode": "standard", "max_attempts": o.max_attempts},
            connect_timeout=o.connect_timeout,
            read_timeout=o.read_timeout,
            tcp_keepalive=True,
            # Content-MD5 is the integrity check here (it is the blob's name). botocore's newer
            # default CRC trailers (aws-chunked bodies) are refused by several S3-compatible
            # servers and would add a second hash pass for nothing.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(
            aws_access_key_id=o.access_key,
            aws_secret_access_key=o.secret_key,
            aws_session_token=o.session_token,
        )
        region = o.region or session.region_name or ("us-east-1" if endpoint_url else None)
        with _s3_errors("connect", self.uri):
            return session.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )

    # -- keys ----------------------------------------------------------------------------------

    def key_for(self, digest: str) -> str:
        """The object key of a blob: ``<prefix>/objects/md5/ab/cdef…``.

        Raises:
            ValidationError: ``digest`` is not a lowercase hex MD5.
        """
        key = blob_key(_check(digest))
        return f"{self.prefix}/{key}" if self.prefix else key

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _staging_key(self, digest: str, nonce: str) -> str:
        key = f"uploads/{digest}/{nonce}"
        return f"{self.prefix}/{key}" if self.prefix else key

    # -- the BlobStore protocol ----------------------------------------------------------------

    def has_many(self, digests: Iterable[str]) -> set[str]:
        """The subset of ``digests`` the store holds.

        Digests are grouped by shard (``objects/md5/ab/``); sparse shards are answered by
        parallel HEADs, dense ones by listing (see ``LIST_MIN_PER_SHARD``).

        Raises:
            ValidationError: a digest is not a hex MD5.
            StorageError: the store failed.
        """
        shards: dict[str, list[str]] = {}
        for d in set(digests):
            shards.setdefault(_check(d)[:2], []).append(d)
        if not shards:
            return set()
        found: set[str] = set()
        with ThreadPoolExecutor(self.options.max_workers, "cairn-s3-has") as pool:
            heads: list[Future[set[str]]] = []
            listings: list[Future[tuple[set[str], list[str]]]] = []
            for asked in shards.values():
                if len(asked) >= LIST_MIN_PER_SHARD:
                    listings.append(pool.submit(self._list_shard, asked))
                else:
                    heads.extend(pool.submit(self._has_one, d) for d in asked)
            for listing in listings:
                listed, unanswered = listing.result()
                found |= listed
                # Submitted here, not from inside the listing task: a task waiting on tasks
                # of its own pool can deadlock it.
                heads.extend(pool.submit(self._has_one, d) for d in unanswered)
            for head in heads:
                found |= head.result()
        return found

    def _has_one(self, digest: str) -> set[str]:
        return {digest} if self.size(digest) is not None else set()

    def _list_shard(self, asked: list[str]) -> tuple[set[str], list[str]]:
        """Which of ``asked`` (one shard) exist, by listing from the first of them.

        Returns (found, digests the page budget left unanswered).
        """
        keys = {self.key_for(d): d for d in asked}
        pending = sorted(keys)
        # A proper prefix of the first key sorts before it, so the listing starts just there.
        start_after = pending[0][:-1]
        last_wanted = pending[-1]
        shard_prefix = pending[0].rsplit("/", 1)[0] + "/"
        budget = max(1, len(asked) // HEADS_PER_LIST_PAGE)
        found: set[str] = set()
        for _ in range(budget):
            with _s3_errors("list", self._where(shard_prefix)):
                page = self._client.list_objects_v2(
                    Bucket=self.bucket,
                    Prefix=shard_prefix,
                    StartAfter=start_after,
                    MaxKeys=LIST_PAGE_SIZE,
                )
            listed = [str(obj["Key"]) for obj in page.get("Contents", [])]
            found.update(keys[k] for k in listed if k in keys)
            if not page.get("IsTruncated") or not listed or listed[-1] >= last_wanted:
                return found, []
            start_after = listed[-1]
            pending = [k for k in pending if k > start_after]
        # The shard holds far more than was asked about: HEADs answer the rest more cheaply.
        return found, [keys[k] for k in pending]

    def put_stream(self, digest: str, stream: IO[bytes], size: int | None = None) -> int:
        """Store bytes read from ``stream`` (from its current position).

        A seekable stream is uploaded directly; any other is first spooled to a temporary
        file while hashing, so a wrong digest is refused before anything is sent.

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            DigestMismatchError: the bytes hash otherwise, or are not ``size`` bytes long;
                nothing is stored.
            StorageError: the store failed.
        """
        _check(digest)
        seekable = False
        with suppress(AttributeError, OSError, ValueError):
            seekable = stream.seekable()
        if seekable:
            start = stream.tell()
            length = stream.seek(0, io.SEEK_END) - start
            stream.seek(start)
            if size is not None and size != length:
                raise DigestMismatchError(f"blob {digest}: expected {size} bytes, got {length}")
            return self._put_seekable(digest, stream, length)
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            h = hashlib.md5()
            length = 0
            while chunk := stream.read(CHUNK):
                h.update(chunk)
                spool.write(chunk)
                length += len(chunk)
            if h.hexdigest() != digest:
                _mismatch(digest, h.hexdigest(), length)
            if size is not None and size != length:
                raise DigestMismatchError(f"blob {digest}: expected {size} bytes, got {length}")
            spool.seek(0)
            return self._put_seekable(digest, spool, length)

    def put_file(self, digest: str, path: str, *, trusted: bool = False) -> int:
        """Store a local file (``trusted`` changes nothing here: the bytes must travel anyway).

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            FileNotFoundError: no file at ``path``.
            DigestMismatchError: the file hashes otherwise; nothing is stored.
            StorageError: the store failed.
        """
        _check(digest)
        with open(path, "rb") as f:
            return self._put_seekable(digest, f, os.fstat(f.fileno()).st_size)

    def _put_seekable(
        self, digest: str, stream: IO[bytes], length: int, key: str | None = None
    ) -> int:
        """Upload ``length`` bytes that must hash to ``digest``, to ``key`` (default: the
        blob's own key)."""
        is_blob = key is None
        key = key or self.key_for(digest)
        if length > self.options.multipart_threshold:
            # One HEAD is cheap next to re-sending a large blob the store already holds.
            if is_blob and self.size(digest) == length:
                return length
            self._put_multipart(digest, key, stream, length)
            return length
        body = _HashingWindow(stream, length)
        try:
            with _s3_errors("upload", self._where(key), digest):
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=length,
                    ContentMD5=hex_to_b64(digest),
                )
        except DigestMismatchError:
            if body.complete:  # say what the bytes were, not only that the server refused them
                _mismatch(digest, body.hexdigest(), length)
            raise
        if body.complete and body.hexdigest() != digest:
            # Unreachable with a server that checks Content-MD5; one that ignores it (some
            # S3-compatible stores do) must not keep the object.
            with _s3_errors("delete", self._where(key), digest):
                self._client.delete_object(Bucket=self.bucket, Key=key)
            _mismatch(digest, body.hexdigest(), length)
        return length

    def _part_size(self, length: int) -> int:
        # At least S3's minimum, and never more than its 10,000 parts.
        return max(self.options.part_size, MIN_PART_SIZE, -(-length // MAX_PARTS))

    def _put_multipart(self, digest: str, key: str, stream: IO[bytes], length: int) -> None:
        where = self._where(key)
        part_size = self._part_size(length)
        with _s3_errors("start upload", where, digest):
            upload_id: str = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)[
                "UploadId"
            ]
        try:
            h = hashlib.md5()
            done: list[dict[str, Any]] = []
            in_flight: deque[Future[dict[str, Any]]] = deque()
            workers = min(PARTS_IN_FLIGHT, self.options.max_workers)
            with ThreadPoolExecutor(workers, "cairn-s3-part") as pool:
                number, left = 1, length
                while left > 0:
                    data = read_exactly(stream, min(part_size, left))
                    if not data:
                        break  # the stream is shorter than it said; the digest check says so
                    h.update(data)
                    left -= len(data)
                    if len(in_flight) >= PARTS_IN_FLIGHT:
                        done.append(in_flight.popleft().result())
                    in_flight.append(pool.submit(self._upload_part, key, upload_id, number, data))
                    number += 1
                done.extend(f.result() for f in in_flight)
            if h.hexdigest() != digest:
                _mismatch(digest, h.hexdigest(), length - left)
            with _s3_errors("complete upload", where, digest):
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": done},
                )
        except BaseException:
            # Parts already sent are billed storage until aborted; leave nothing behind.
            with suppress(Exception), _s3_errors("abort upload", where, digest):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        part_md5 = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
        with _s3_errors(f"upload part {number}", self._where(key)):
            out = self._client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ContentMD5=part_md5,
            )
        return {"PartNumber": number, "ETag": out["ETag"]}

    def _get(self, key: str, digest: str) -> Any:
        with _s3_errors("download", self._where(key), digest):
            return self._client.get_object(Bucket=self.bucket, Key=key)

    def open(self, digest: str) -> IO[bytes]:
        """A binary stream of the blob.

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            BlobNotFoundError: the store does not hold it.
            StorageError: the store failed (also while reading).
        """
        key = self.key_for(digest)
        response = self._get(key, digest)
        return io.BufferedReader(_ObjectReader(response["Body"], self._where(key), digest), CHUNK)

    def get_file(self, digest: str, dest: str) -> None:
        """Write the blob to ``dest``, checking its MD5 on the way (it costs little here).

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            BlobNotFoundError: the store does not hold it.
            DigestMismatchError: the bytes received hash otherwise (``dest`` is removed).
            StorageError: the store failed.
        """
        h = hashlib.md5()
        size = 0
        with self.open(digest) as src, open(dest, "wb") as out:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if h.hexdigest() != digest:
            os.unlink(dest)
            raise DigestMismatchError(
                f"blob {digest} read from {self.uri} hashes to {h.hexdigest()}",
                details={"expected": digest, "actual": h.hexdigest(), "size": size},
            )

    def size(self, digest: str) -> int | None:
        """The blob's size, or None if absent.

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            StorageError: the store failed.
        """
        key = self.key_for(digest)
        try:
            with _s3_errors("stat", self._where(key), digest):
                head = self._client.head_object(Bucket=self.bucket, Key=key)
        except BlobNotFoundError:
            return None
        return int(head["ContentLength"])

    def delete(self, digest: str) -> None:
        """Remove a blob; absent blobs are ignored (S3 deletes are idempotent).

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            StorageError: the store failed.
        """
        key = self.key_for(digest)
        with _s3_errors("delete", self._where(key), digest):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def iter_digests(self) -> Iterator[str]:
        """Every digest the store holds, in order (staging uploads are not listed).

        Raises:
            StorageError: the store failed.
        """
        base = self.key_for("0" * 32).rsplit("/", 2)[0] + "/"
        for obj in self._listing(base, "list"):
            digest = obj["Key"][len(base) :].replace("/", "", 1)
            if is_hex_md5(digest):
                yield digest

    def _listing(self, base: str, action: str) -> Iterator[dict[str, Any]]:
        """Every object under the key prefix ``base``, page by page, in key order."""
        paginator = self._client.get_paginator("list_objects_v2")
        with _s3_errors(action, self._where(base)):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                yield from page.get("Contents", [])

    # -- packs -----------------------------------------------------------------------------------

    def pack_key_for(self, pack_id: str) -> str:
        """The object key of a pack: ``<prefix>/packs/3f/3f9a…``.

        Raises:
            ValidationError: ``pack_id`` is not 32 lowercase hex characters.
        """
        if not is_hex_md5(pack_id):
            raise ValidationError(f"{pack_id!r} is not a pack id (32 lowercase hex characters)")
        key = pack_key(pack_id)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_pack(self, pack_id: str, path: str, md5: str) -> None:
        """Upload a finished pack file; ``Content-MD5`` makes the store refuse other bytes.

        Raises:
            ValidationError: a bad pack id or MD5.
            DigestMismatchError: the file does not hash to ``md5``; nothing is stored.
            StorageError: the store failed.
        """
        key = self.pack_key_for(pack_id)
        _check(md5)
        with open(path, "rb") as f:
            self._put_seekable(md5, f, os.fstat(f.fileno()).st_size, key=key)

    def read_pack(self, pack_id: str, offset: int, length: int) -> bytes:
        """``length`` bytes of a pack from ``offset``, in one ranged GET.

        Raises:
            ValidationError: a bad pack id, or a negative offset or length.
            BlobNotFoundError: no such pack.
            IntegrityError: the pack is shorter than the range (it is damaged).
            StorageError: the store failed.
        """
        key = self.pack_key_for(pack_id)
        if offset < 0 or length < 0:
            raise ValidationError(f"bad pack range {offset}+{length}")
        if length == 0:
            return b""
        where = self._where(key)
        with _s3_errors("read pack", where):
            body = self._client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={offset}-{offset + length - 1}"
            )["Body"]
        with io.BufferedReader(_ObjectReader(body, where, pack_id), CHUNK) as src:
            data = read_exactly(src, length)
        if len(data) != length:
            # Damage, not a failure to reach the store: the index promised these bytes.
            raise IntegrityError(
                f"{where} holds fewer bytes than {offset}+{length}; it is damaged",
                details={"pack": pack_id},
            )
        return data

    def delete_pack(self, pack_id: str) -> None:
        """Remove a pack; an absent one is ignored.

        Raises:
            ValidationError: a bad pack id.
            StorageError: the store failed.
        """
        key = self.pack_key_for(pack_id)
        with _s3_errors("delete pack", self._where(key)):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def iter_packs(self) -> Iterator[tuple[str, float]]:
        """(pack id, last-modified POSIX time) of every pack, in key order.

        Raises:
            StorageError: the store failed.
        """
        base = self.pack_key_for("0" * 32).rsplit("/", 2)[0] + "/"
        for obj in self._listing(base, "list packs"):
            name = str(obj["Key"]).rsplit("/", 1)[-1]
            if is_hex_md5(name):
                yield name, obj["LastModified"].timestamp()

    def presign_pack_range(
        self, pack_id: str, offset: int, length: int, *, expires: int = 3600
    ) -> PresignedRequest:
        """A GET of exactly one byte range of a pack, the ``Range`` header signed in.

        A pack holds blobs of many uploads, so a URL for the whole object would open bytes the
        caller may not read; with the range signed, the store refuses any other range.

        Raises:
            ValidationError: a bad pack id, or an empty or negative range.
        """
        key = self.pack_key_for(pack_id)
        if offset < 0 or length <= 0:
            raise ValidationError(f"bad pack range {offset}+{length}")
        byte_range = f"bytes={offset}-{offset + length - 1}"
        url = self._presign("get_object", {"Key": key, "Range": byte_range}, expires)
        return PresignedRequest("GET", url, {"Range": byte_range}, expires)

    # -- verification --------------------------------------------------------------------------

    def verify(self, digest: str) -> int:
        """Stream a stored blob and check that it hashes to its name; return its size.

        Not needed after :meth:`presign_put` or ``put_*``: those carry ``Content-MD5`` (or
        were hashed before completing), and the server refuses other bytes.
        :meth:`complete_multipart` already calls it on the staged object. It is for audits, for
        objects written by other tools, and for S3-compatible servers that ignore
        ``Content-MD5``.

        Raises:
            BlobNotFoundError: the store does not hold it.
            DigestMismatchError: its bytes hash otherwise (the object is left for the caller).
            StorageError: the store failed.
        """
        return self._verify_key(self.key_for(digest), digest)

    def _verify_key(self, key: str, digest: str) -> int:
        body = self._get(key, digest)["Body"]
        h = hashlib.md5()
        size = 0
        with io.BufferedReader(_ObjectReader(body, self._where(key), digest), CHUNK) as src:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
        if h.hexdigest() != digest:
            raise DigestMismatchError(
                f"object {self._where(key)} hashes to {h.hexdigest()}, not {digest}",
                details={"expected": digest, "actual": h.hexdigest(), "size": size},
            )
        return size

    # -- direct uploads and downloads (bytes never pass through a Cairn server) ----------------

    def presign_put(self, digest: str, size: int, *, expires: int = 3600) -> PresignedRequest:
        """A PUT a client can send to store the blob itself, for blobs up to the part limit.

        ``Content-MD5`` and ``Content-Length`` are signed, so the store refuses any other bytes
        and the blob is verified on arrival; no :meth:`verify` is needed afterwards.

        Raises:
            ValidationError: ``digest`` is not a hex MD5 or ``size`` is negative.
        """
        key = self.key_for(digest)
        if size < 0:
            raise ValidationError(f"size must be >= 0, not {size}")
        headers = {"Content-MD5": hex_to_b64(digest), "Content-Length": str(size)}
        url = self._presign(
            "put_object",
            {"Key": key, "ContentMD5": headers["Content-MD5"], "ContentLength": size},
            expires,
        )
        return PresignedRequest("PUT", url, headers, expires)

    def presign_get(self, digest: str, *, expires: int = 3600) -> PresignedRequest:
        """A GET a client can send to download the blob itself.

        Does not check that the blob exists (the GET answers 404 if not).

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
        """
        url = self._presign("get_object", {"Key": self.key_for(digest)}, expires)
        return PresignedRequest("GET", url, {}, expires)

    def _presign(self, operation: str, params: dict[str, Any], expires: int) -> str:
        with _s3_errors(f"presign {operation}", self._where(str(params["Key"]))):
            url: str = self._presigner.generate_presigned_url(
                operation, Params={"Bucket": self.bucket, **params}, ExpiresIn=expires
            )
        return url

    def _staged(self, digest: str, upload_id: str) -> tuple[str, str]:
        """Split an upload handle into (staging key, S3 upload id)."""
        _check(digest)
        nonce, sep, s3_id = upload_id.partition(".")
        if not sep or not s3_id or len(nonce) != 32 or not is_hex_md5(nonce):
            raise ValidationError(f"{upload_id!r} is not an upload id from create_multipart")
        return self._staging_key(digest, nonce), s3_id

    def create_multipart(self, digest: str) -> str:
        """Start a resumable upload of a large blob; return its opaque upload id.

        The parts go to a staging key private to this upload, so concurrent uploads of the same
        blob never see each other's parts, and nothing appears under the blob's name until
        :meth:`complete_multipart` has verified the whole.

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            StorageError: the store failed.
        """
        nonce = uuid.uuid4().hex
        key = self._staging_key(_check(digest), nonce)
        with _s3_errors("start upload", self._where(key), digest):
            out = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)
        return f"{nonce}.{out['UploadId']}"

    def presign_part(
        self,
        digest: str,
        upload_id: str,
        part_number: int,
        content_md5: str,
        *,
        size: int | None = None,
        expires: int = 3600,
    ) -> PresignedRequest:
        """A PUT a client sends to upload one part; ``content_md5`` (base64) is signed in.

        Parts are 1..10,000; all but the last must be at least 5 MiB on AWS.

        Raises:
            ValidationError: a bad digest, upload id, part number or ``content_md5``.
        """
        key, s3_id = self._staged(digest, upload_id)
        if not 1 <= part_number <= MAX_PARTS:
            raise ValidationError(f"part numbers run from 1 to {MAX_PARTS}, not {part_number}")
        headers = {"Content-MD5": _check_b64_md5(content_md5)}
        params: dict[str, Any] = {
            "Key": key,
            "UploadId": s3_id,
            "PartNumber": part_number,
            "ContentMD5": content_md5,
        }
        if size is not None:
            headers["Content-Length"] = str(size)
            params["ContentLength"] = size
        url = self._presign("upload_part", params, expires)
        return PresignedRequest("PUT", url, headers, expires)

    def list_parts(self, digest: str, upload_id: str) -> list[UploadedPart]:
        """The parts the store already holds for an upload, by part number (to resume it).

        Raises:
            ValidationError: a bad digest or upload id.
            NotFoundError: no such upload (completed, aborted or expired).
            StorageError: the store failed.
        """
        key, s3_id = self._staged(digest, upload_id)
        paginator = self._client.get_paginator("list_parts")
        parts: list[UploadedPart] = []
        with _s3_errors("list parts", self._where(key), digest):
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=s3_id):
                parts.extend(
                    UploadedPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                    for p in page.get("Parts", [])
                )
        return sorted(parts, key=lambda p: p.part_number)

    def complete_multipart(
        self,
        digest: str,
        upload_id: str,
        parts: Sequence[UploadedPart] | None = None,
        *,
        publish: bool = True,
    ) -> int:
        """Assemble an upload, verify its MD5, and publish it under the blob's name.

        ``parts`` defaults to every part the store holds (:meth:`list_parts`). Verification
        streams the assembled object once through this process; publishing is a server-side
        copy (left out with ``publish=False``: the blob is stored already, and the upload only
        proves its uploader has the bytes). Returns the blob's size.

        Raises:
            ValidationError: a bad digest or upload id, or no parts.
            NotFoundError: no such upload.
            DigestMismatchError: the assembled bytes hash otherwise; nothing is stored and the
                upload is gone (start a new one).
            StorageError: the store failed.
        """
        key, s3_id = self._staged(digest, upload_id)
        where = self._where(key)
        if parts is None:
            parts = self.list_parts(digest, upload_id)
        if not parts:
            raise ValidationError(f"upload {upload_id} has no parts to complete")
        listing = [
            {"PartNumber": p.part_number, "ETag": p.etag}
            for p in sorted(parts, key=lambda p: p.part_number)
        ]
        with _s3_errors("complete upload", where, digest):
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=s3_id, MultipartUpload={"Parts": listing}
            )
        try:
            size = self._verify_key(key, digest)
            if publish:
                self._publish(key, digest, size)
        finally:
            # A staged copy left behind is only garbage (see the module docstring); failing to
            # remove it must not hide the outcome.
            with suppress(StorageError), _s3_errors("remove staged upload", where, digest):
                self._client.delete_object(Bucket=self.bucket, Key=key)
        return size

    def _publish(self, key: str, digest: str, size: int) -> None:
        """Copy a verified staged object to the blob's own key (server-side)."""
        final = self.key_for(digest)
        source = {"Bucket": self.bucket, "Key": key}
        with _s3_errors("publish", self._where(final), digest):
            if size <= MAX_COPY_SIZE:
                self._client.copy_object(Bucket=self.bucket, Key=final, CopySource=source)
            else:
                self._client.copy(source, self.bucket, final)

    def presign_staged_put(
        self, digest: str, tag: str, size: int | None, *, expires: int = 3600
    ) -> PresignedRequest:
        """Like :meth:`presign_put`, but to a staging key of its own under ``tag``.

        The store checks the signed ``Content-MD5``, so an object there holds the blob's bytes;
        and only whoever was handed this URL can have put it. :meth:`take_staged` with the same
        ``tag`` then finds it: proof that the bearer of ``tag`` uploaded the bytes. ``size``
        None leaves the length unsigned (the W&B client announces no sizes; the MD5 still
        fixes the bytes).

        Raises:
            ValidationError: a bad digest or tag, or a negative size.
        """
        if not tag.isalnum() or (size is not None and size < 0):
            raise ValidationError(f"bad staging tag {tag!r} or size {size}")
        key = self._staging_key(_check(digest), f"{tag}-{uuid.uuid4().hex}")
        headers = {"Content-MD5": hex_to_b64(digest)}
        params: dict[str, Any] = {"Key": key, "ContentMD5": headers["Content-MD5"]}
        if size is not None:
            headers["Content-Length"] = str(size)
            params["ContentLength"] = size
        url = self._presign("put_object", params, expires)
        return PresignedRequest("PUT", url, headers, expires)

    def take_staged(self, digest: str, tag: str, *, publish: bool) -> int | None:
        """Consume one object :meth:`presign_staged_put` staged under ``tag``: copy it to the
        blob's key (with ``publish``) and remove it. Returns its size, or None if there is none.

        Others staged under the same tag (a concurrent upload of the same bytes) are left for
        their own confirmation.

        Raises:
            ValidationError: a bad digest or tag.
            StorageError: the store failed.
        """
        if not tag.isalnum():
            raise ValidationError(f"bad staging tag {tag!r}")
        staged = self._listing(self._staging_key(_check(digest), f"{tag}-"), "list staged")
        found = next(iter(staged), None)
        if found is None:
            return None
        key, size = str(found["Key"]), int(found["Size"])
        if publish:
            self._publish(key, digest, size)
        with suppress(StorageError), _s3_errors("remove staged upload", self._where(key), digest):
            self._client.delete_object(Bucket=self.bucket, Key=key)
        return size

    def abort_multipart(self, digest: str, upload_id: str) -> None:
        """Abandon an upload and free its parts; an upload already gone is ignored.

        Raises:
            ValidationError: a bad digest or upload id.
            StorageError: the store failed.
        """
        key, s3_id = self._staged(digest, upload_id)
        with suppress(NotFoundError), _s3_errors("abort upload", self._where(key), digest):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=s3_id)
