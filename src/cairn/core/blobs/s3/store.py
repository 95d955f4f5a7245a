"""The S3 blob store users open: objects and packs (:mod:`.objects`) plus direct transfers
(:mod:`.direct`)."""

from __future__ import annotations

from cairn.core.blobs.s3.direct import S3Direct


class S3BlobStore(S3Direct):
    """Blobs under ``s3://bucket/prefix`` on any S3-compatible store (see the package
    docstring for the layout and how the store keeps its promise).

    Thread-safe: one boto3 client (thread-safe) with a connection pool sized for
    ``max_workers`` parallel requests.
    """
