"""The S3 store's objects: its client, its keys, the BlobStore protocol and packs.

Presigned URLs and resumable uploads are added by :mod:`.direct`; the class users open is
:class:`cairn.core.blobs.s3.S3BlobStore`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import IO, Any, Self
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from cairn import layout
from cairn.core.blobs.base import CHUNK, blob_key, pack_key
from cairn.core.blobs.s3.errors import check_digest, mismatch, s3_errors
from cairn.core.blobs.s3.options import (
    ENDPOINT_ENV,
    HEADS_PER_LIST_PAGE,
    LIST_MIN_PER_SHARD,
    LIST_PAGE_SIZE,
    PARTS_IN_FLIGHT,
    SPOOL_IN_MEMORY,
    S3Options,
)
from cairn.core.blobs.s3.streams import HashingWindow, ObjectReader
from cairn.core.transfer.plan import part_size
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    IntegrityError,
    ValidationError,
)
from cairn.manifest.digest import hex_to_b64, is_hex_md5
from cairn.manifest.packstream import read_exactly


class S3Objects:
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
    ) -> Self:
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
            s3={
                "addressing_style": "path" if endpoint_url else "auto",
                # Every upload carries Content-MD5, which the store checks; signing the payload
                # too (botocore's default on plain http) would be a SHA-256 pass over every
                # byte for nothing.
                "payload_signing_enabled": False,
            },
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
        with s3_errors("connect", self.uri):
            return session.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )

    # -- keys ----------------------------------------------------------------------------------

    def key_for(self, digest: str) -> str:
        """The object key of a blob: ``<prefix>/objects/md5/ab/cdef…``.

        Raises:
            ValidationError: ``digest`` is not a lowercase hex MD5.
        """
        key = blob_key(check_digest(digest))
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
            shards.setdefault(check_digest(d)[:2], []).append(d)
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
            with s3_errors("list", self._where(shard_prefix)):
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
        check_digest(digest)
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
                mismatch(digest, h.hexdigest(), length)
            if size is not None and size != length:
                raise DigestMismatchError(f"blob {digest}: expected {size} bytes, got {length}")
            spool.seek(0)
            return self._put_seekable(digest, spool, length, verified=True)

    def put_file(self, digest: str, path: str, *, trusted: bool = False) -> int:
        """Store a local file. ``trusted`` (this process hashed these bytes) spares hashing it
        again on the way: the store still checks the ``Content-MD5`` it is sent.

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
            FileNotFoundError: no file at ``path``.
            DigestMismatchError: the file hashes otherwise; nothing is stored.
            StorageError: the store failed.
        """
        check_digest(digest)
        with open(path, "rb") as f:
            return self._put_seekable(digest, f, os.fstat(f.fileno()).st_size, verified=trusted)

    def _put_seekable(
        self,
        digest: str,
        stream: IO[bytes],
        length: int,
        key: str | None = None,
        *,
        verified: bool = False,
    ) -> int:
        """Upload ``length`` bytes that must hash to ``digest``, to ``key`` (default: the
        blob's own key).

        ``verified``: this process hashed these very bytes already, so they are not hashed
        again here (each byte once per side); the store's ``Content-MD5`` check still guards
        the transfer.
        """
        is_blob = key is None
        key = key or self.key_for(digest)
        if length > self.options.multipart_threshold:
            # One HEAD is cheap next to re-sending a large blob the store already holds.
            if is_blob and self.size(digest) == length:
                return length
            self._put_multipart(digest, key, stream, length, verified=verified)
            return length
        if verified:
            with s3_errors("upload", self._where(key), digest):
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=stream,
                    ContentLength=length,
                    ContentMD5=hex_to_b64(digest),
                )
            return length
        body = HashingWindow(stream, length)
        try:
            with s3_errors("upload", self._where(key), digest):
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=length,
                    ContentMD5=hex_to_b64(digest),
                )
        except DigestMismatchError:
            if body.complete:  # say what the bytes were, not only that the server refused them
                mismatch(digest, body.hexdigest(), length)
            raise
        if body.complete and body.hexdigest() != digest:
            # Unreachable with a server that checks Content-MD5; one that ignores it (some
            # S3-compatible stores do) must not keep the object.
            with s3_errors("delete", self._where(key), digest):
                self._client.delete_object(Bucket=self.bucket, Key=key)
            mismatch(digest, body.hexdigest(), length)
        return length

    def _put_multipart(
        self, digest: str, key: str, stream: IO[bytes], length: int, *, verified: bool = False
    ) -> None:
        where = self._where(key)
        part = part_size(length, self.options.part_size)
        with s3_errors("start upload", where, digest):
            upload_id: str = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)[
                "UploadId"
            ]
        try:
            # Each part carries its own Content-MD5 (one pass); the whole is hashed as well
            # unless this process hashed it already.
            h = None if verified else hashlib.md5()
            done: list[dict[str, Any]] = []
            in_flight: deque[Future[dict[str, Any]]] = deque()
            workers = min(PARTS_IN_FLIGHT, self.options.max_workers)
            with ThreadPoolExecutor(workers, "cairn-s3-part") as pool:
                number, left = 1, length
                while left > 0:
                    data = read_exactly(stream, min(part, left))
                    if not data:
                        break  # the stream is shorter than it said; the digest check says so
                    if h is not None:
                        h.update(data)
                    left -= len(data)
                    if len(in_flight) >= PARTS_IN_FLIGHT:
                        done.append(in_flight.popleft().result())
                    in_flight.append(pool.submit(self._upload_part, key, upload_id, number, data))
                    number += 1
                done.extend(f.result() for f in in_flight)
            if left:
                raise DigestMismatchError(
                    f"blob {digest}: the stream ended after {length - left} of {length} bytes"
                )
            if h is not None and h.hexdigest() != digest:
                mismatch(digest, h.hexdigest(), length)
            with s3_errors("complete upload", where, digest):
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": done},
                )
        except BaseException:
            # Parts already sent are billed storage until aborted; leave nothing behind.
            with suppress(Exception), s3_errors("abort upload", where, digest):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        part_md5 = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
        with s3_errors(f"upload part {number}", self._where(key)):
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
        with s3_errors("download", self._where(key), digest):
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
        return io.BufferedReader(ObjectReader(response["Body"], self._where(key), digest), CHUNK)

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
            with s3_errors("stat", self._where(key), digest):
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
        with s3_errors("delete", self._where(key), digest):
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
        with s3_errors(action, self._where(base)):
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
        """Upload a finished pack file.

        ``md5`` is the caller's hash of the file (it hashed the bytes as it wrote them), so the
        file is not hashed again here; it is sent as ``Content-MD5`` and the store refuses
        other bytes. ``""``: the caller verified every blob in the pack as it spooled it and
        did not hash the whole (a second pass); the pack then travels with its length only.

        Raises:
            ValidationError: a bad pack id or MD5.
            DigestMismatchError: the file does not hash to ``md5``; nothing is stored.
            StorageError: the store failed.
        """
        key = self.pack_key_for(pack_id)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if md5:
                self._put_seekable(check_digest(md5), f, size, key=key, verified=True)
                return
            with s3_errors("upload pack", self._where(key)):
                self._client.put_object(Bucket=self.bucket, Key=key, Body=f, ContentLength=size)

    def _stamp_key(self) -> str:
        return f"{self.prefix}/{layout.STAMP}" if self.prefix else layout.STAMP

    def read_stamp(self) -> str | None:
        """The installation id at the prefix's root (:mod:`cairn.core.stamp`), or None."""
        key = self._stamp_key()
        try:
            with s3_errors("read the installation stamp", self._where(key)):
                body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except BlobNotFoundError:
            return None
        return str(json.loads(body)["installation"])

    def write_stamp(self, installation: str) -> None:
        key = self._stamp_key()
        body = json.dumps({"installation": installation}).encode()
        with s3_errors("write the installation stamp", self._where(key)):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body)

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
        with s3_errors("read pack", where):
            body = self._client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={offset}-{offset + length - 1}"
            )["Body"]
        with io.BufferedReader(ObjectReader(body, where, pack_id), CHUNK) as src:
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
        with s3_errors("delete pack", self._where(key)):
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
        with io.BufferedReader(ObjectReader(body, self._where(key), digest), CHUNK) as src:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
        if h.hexdigest() != digest:
            raise DigestMismatchError(
                f"object {self._where(key)} hashes to {h.hexdigest()}, not {digest}",
                details={"expected": digest, "actual": h.hexdigest(), "size": size},
            )
        return size
