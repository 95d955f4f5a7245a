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

How the store keeps its promise that a blob's bytes hash to its name:

* Single PUTs (``put_*`` below the multipart threshold, and presigned single PUTs up to
  ``single_put_max``) carry ``Content-MD5`` = the digest the key names, so the S3 server itself
  refuses other bytes and the object never appears. Those blobs need no ``verify``.
* ``put_*`` above the threshold upload parts, each with its own ``Content-MD5``, while hashing
  the whole; the upload is completed only if the whole hashes to the digest, else aborted.
* Presigned multipart uploads (above ``single_put_max`` only) go to a private staging key; on
  completion the assembled object is streamed once to check its MD5 and only then copied to
  its content-addressed key (:mod:`.direct` says why, and what it costs). An abandoned one is
  garbage (an ``uploads/`` lifecycle rule on the bucket removes it).

Modules, by what they hold: :mod:`.options` (how to reach the store, S3's limits),
:mod:`.errors` (the one boundary where botocore exceptions become :mod:`cairn.errors`),
:mod:`.streams` (file objects over S3 bodies), :mod:`.objects` (the BlobStore protocol and
packs), :mod:`.direct` (presigned URLs, multipart uploads), :mod:`.store` (the class to open).
"""

from __future__ import annotations

from cairn.core.blobs.presigning import PresignedRequest, StoredObject, UploadedPart
from cairn.core.blobs.s3.options import ENDPOINT_ENV, MAX_PARTS, MIN_PART_SIZE, MiB, S3Options
from cairn.core.blobs.s3.store import S3BlobStore

__all__ = [
    "ENDPOINT_ENV",
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "MiB",
    "PresignedRequest",
    "S3BlobStore",
    "S3Options",
    "StoredObject",
    "UploadedPart",
]
