"""Direct transfers on the S3 store: presigned URLs, so bytes go between a client and the
store without passing through a Cairn server, and resumable multipart uploads.

Two ways up, and what each costs the server (the client hashed the blob when it was added):

* **One presigned PUT** (:meth:`S3Direct.presign_put`), for blobs up to ``single_put_max``
  (S3's limit is 5 GiB): straight to the blob's own key, ``Content-MD5`` and
  ``Content-Length`` signed in, so the store itself refuses a body that hashes otherwise and
  the object never appears. The uploader's tag is signed in too, as object metadata, so a
  HEAD afterwards (:meth:`S3Direct.stat_blob`) tells who put the object there: proof of
  possession (:mod:`cairn.core.possession`) costs one HEAD, with no read-back and no copy.
  This needs a store that checks ``Content-MD5`` (AWS, SeaweedFS, MinIO do); the HEAD also
  checks that the ETag is the MD5, which catches one that does not.
* **Multipart** (:meth:`S3Direct.create_multipart` …), above that limit only: parts go to a
  staging key private to the upload, each with its own signed ``Content-MD5``. The ETag of
  the assembled object is an MD5 *of the parts' MD5s*, and per-part checksums do not bind the
  parts to the blob's digest, so nothing short of reading the whole object proves it hashes
  to its name. :meth:`S3Direct.complete_multipart` therefore streams it once through the
  server (one read of every byte, at the store's bandwidth: about a second per GiB here) and
  then copies it server-side to its key (inside the store, no bytes through the server; in
  5 GiB pieces above 5 GiB). Above 5 GiB there is no cheaper way that keeps the promise that
  a key's bytes hash to its name.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from cairn.core.blobs.presigning import PresignedRequest, StoredObject, UploadedPart
from cairn.core.blobs.s3.errors import check_b64_md5, check_digest, s3_errors
from cairn.core.blobs.s3.objects import S3Objects
from cairn.core.blobs.s3.options import MAX_COPY_SIZE, MAX_PARTS
from cairn.errors import BlobNotFoundError, NotFoundError, StorageError, ValidationError
from cairn.manifest.digest import hex_to_b64, is_hex_md5

# The object metadata key that names who put a blob there by presigned PUT.
UPLOADER_META = "cairn-uploader"


class S3Direct(S3Objects):
    """An S3 store that hands out presigned URLs (:class:`~cairn.core.blobs.presigning.
    PresigningStore`)."""

    @property
    def single_put_max(self) -> int:
        return int(self.options.single_put_max)

    @property
    def preferred_part_size(self) -> int:
        return int(self.options.part_size)

    @property
    def max_workers(self) -> int:
        return int(self.options.max_workers)

    def presign_put(
        self, digest: str, size: int | None, *, uploader: str | None = None, expires: int = 3600
    ) -> PresignedRequest:
        """A PUT a client can send to store the blob itself, straight to the blob's key.

        ``Content-MD5`` and ``Content-Length`` are signed, so the store refuses any other bytes
        and the blob is verified on arrival; no :meth:`verify` is needed afterwards. With
        ``uploader`` (an alphanumeric tag), that tag is signed in as the object's metadata, for
        :meth:`stat_blob` to report.

        Raises:
            ValidationError: ``digest`` is not a hex MD5, ``size`` is negative or over
                ``single_put_max``, or ``uploader`` is not alphanumeric.
        """
        key = self.key_for(digest)
        if size is not None and not 0 <= size <= self.single_put_max:
            raise ValidationError(
                f"a single PUT carries 0..{self.single_put_max} bytes, not {size}; "
                "upload it in parts"
            )
        headers = {"Content-MD5": hex_to_b64(digest)}
        params: dict[str, Any] = {"Key": key, "ContentMD5": headers["Content-MD5"]}
        if size is not None:  # None: the W&B client announces no sizes; the MD5 fixes the bytes
            headers["Content-Length"] = str(size)
            params["ContentLength"] = size
        if uploader is not None:
            if not uploader.isalnum():
                raise ValidationError(f"bad uploader tag {uploader!r}")
            params["Metadata"] = {UPLOADER_META: uploader}
            headers[f"x-amz-meta-{UPLOADER_META}"] = uploader
        url = self._presign("put_object", params, expires)
        return PresignedRequest("PUT", url, headers, expires)

    def stat_blob(self, digest: str) -> StoredObject | None:
        """One HEAD of the blob's key: its size, whether its ETag is its MD5 (a single PUT's
        is), and the uploader tag :meth:`presign_put` signed in; None if there is no object.

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
        metadata = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
        return StoredObject(
            size=int(head["ContentLength"]),
            etag_is_md5=str(head.get("ETag", "")).strip('"') == digest,
            uploader=metadata.get(UPLOADER_META),
        )

    def presign_get(self, digest: str, *, expires: int = 3600) -> PresignedRequest:
        """A GET a client can send to download the blob itself.

        Does not check that the blob exists (the GET answers 404 if not).

        Raises:
            ValidationError: ``digest`` is not a hex MD5.
        """
        url = self._presign("get_object", {"Key": self.key_for(digest)}, expires)
        return PresignedRequest("GET", url, {}, expires)

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

    def _presign(self, operation: str, params: dict[str, Any], expires: int) -> str:
        with s3_errors(f"presign {operation}", self._where(str(params["Key"]))):
            url: str = self._presigner.generate_presigned_url(
                operation, Params={"Bucket": self.bucket, **params}, ExpiresIn=expires
            )
        return url

    def _staged(self, digest: str, upload_id: str) -> tuple[str, str]:
        """Split an upload handle into (staging key, S3 upload id)."""
        check_digest(digest)
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
        key = self._staging_key(check_digest(digest), nonce)
        with s3_errors("start upload", self._where(key), digest):
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
        headers = {"Content-MD5": check_b64_md5(content_md5)}
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
        with s3_errors("list parts", self._where(key), digest):
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
        with s3_errors("complete upload", where, digest):
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
            with suppress(StorageError), s3_errors("remove staged upload", where, digest):
                self._client.delete_object(Bucket=self.bucket, Key=key)
        return size

    def _publish(self, key: str, digest: str, size: int) -> None:
        """Copy a verified staged object to the blob's own key (server-side)."""
        final = self.key_for(digest)
        source = {"Bucket": self.bucket, "Key": key}
        with s3_errors("publish", self._where(final), digest):
            if size <= MAX_COPY_SIZE:
                self._client.copy_object(Bucket=self.bucket, Key=final, CopySource=source)
            else:
                self._client.copy(source, self.bucket, final)

    def abort_multipart(self, digest: str, upload_id: str) -> None:
        """Abandon an upload and free its parts; an upload already gone is ignored.

        Raises:
            ValidationError: a bad digest or upload id.
            StorageError: the store failed.
        """
        key, s3_id = self._staged(digest, upload_id)
        with suppress(NotFoundError), s3_errors("abort upload", self._where(key), digest):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=s3_id)
