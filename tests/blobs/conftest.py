"""Fixtures for the blob store suites.

``store`` is the conformance fixture: every test that takes it runs once per BlobStore kind in
``STORE_KINDS``. S3 stores run against one real SeaweedFS server per session (``seaweed``), one
bucket per test module, and a fresh prefix per test, so tests never see each other's blobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn.core.blobs import BlobStore
from cairn.core.blobs.local import LocalBlobStore
from tests.seaweed import S3Server

STORE_KINDS = ["local", "s3"]


@pytest.fixture(scope="module")
def s3_bucket(seaweed: S3Server) -> str:
    """A bucket for this test module."""
    return seaweed.new_bucket()


@pytest.fixture
def make_s3_store(seaweed: S3Server, s3_bucket: str) -> Callable[..., Any]:
    """Open an S3BlobStore on a fresh prefix of the module's bucket; takes S3Options fields."""
    from cairn.core.blobs.s3 import S3BlobStore

    def make(**tuning: Any) -> S3BlobStore:
        uri = f"s3://{s3_bucket}/t-{uuid.uuid4().hex[:12]}"
        return S3BlobStore.from_uri(uri, **seaweed.store_options(), **tuning)

    return make


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    """One BlobStore of each kind, empty."""
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    else:
        yield request.getfixturevalue("make_s3_store")()
