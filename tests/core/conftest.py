"""The core's storage suite: every test runs once per way of storing blobs.

* ``files``: SQLite and a local folder, one file per blob (the embedded store's way);
* ``packs``: SQLite and a local folder with small blobs in packs;
* ``pg-s3``: PostgreSQL (a throwaway database per session) and SeaweedFS S3, packs on: what
  a team server runs. Skipped, saying why, when either is unavailable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cairn.core.blobs import BlobStore, open_store
from cairn.core.db.engine import Database
from cairn.core.packs import PackPolicy
from cairn.core.service import Service
from tests import backends

KINDS = ["files", "packs", "pg-s3"]


@dataclass
class Core:
    kind: str
    db: Database
    store: BlobStore
    service: Service


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test's database is copied from (fast)."""
    why = backends.postgres_available()
    if why:
        pytest.skip(why)
    url, drop = backends.create_database("cairn_core_tmpl")
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url.rsplit("/", 1)[1]
    drop()


def _policy(store: BlobStore, enabled: bool, **tuning: Any) -> PackPolicy:
    # Small numbers so a handful of test blobs fill several packs and ranges.
    defaults: dict[str, Any] = {"threshold": 4096, "target": 64 * 1024, "range_bytes": 32 * 1024}
    return PackPolicy.for_store(store, enabled=enabled, **{**defaults, **tuning})


@pytest.fixture(params=KINDS)
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Core]:
    kind = request.param
    drop = None
    if kind == "pg-s3":
        url, drop = backends.create_database("cairn_core", request.getfixturevalue("pg_template"))
        s3 = request.getfixturevalue("seaweed")
        store = open_store(f"s3://{s3.new_bucket()}/c", **s3.store_options())
        db = Database(url)
    else:
        store = open_store((tmp_path / "blobs").as_uri())
        db = Database(f"sqlite:///{tmp_path / 'cairn.db'}")
        db.migrate()
    service = Service(db, store, packs=_policy(store, kind != "files"))
    yield Core(kind, db, store, service)
    db.dispose()
    if drop is not None:
        drop()


@pytest.fixture
def entity() -> str:
    return f"e-{uuid.uuid4().hex[:10]}"
