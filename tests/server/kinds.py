"""The two server kinds, in process: SQLite with a blob folder, PostgreSQL with S3.

``make_kind(**config)`` makes a fresh server of the test's kind (a throwaway PostgreSQL
database and S3 store for the second; skipped, saying why, where either is unavailable);
``kind_server`` is one with the defaults. The S3 stores share one bucket, each under a prefix
of its own: every SeaweedFS bucket takes volumes of its own, and a session has few to give.
Blobs under 512 bytes are "small" (pack streams); on S3 those from 5 MiB go in multipart
uploads and the rest by presigned single PUT.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.server.conftest import Server

MiB = 1 << 20
KINDS = ["sqlite-folder", "postgres-s3"]


@pytest.fixture(scope="session")
def kinds_bucket(s3: Any) -> str:
    return str(s3.new_bucket())


@pytest.fixture(params=KINDS)
def make_kind(request: pytest.FixtureRequest, make: Any) -> Iterator[Callable[..., Server]]:
    tuning = {"pack_threshold": 512, "pack_target": 4096}
    if request.param == "sqlite-folder":
        yield lambda **config: make(**tuning, **config)
        return
    from tests import backends

    why = backends.postgres_available()
    if why:
        pytest.skip(why)
    s3 = request.getfixturevalue("s3")
    bucket = request.getfixturevalue("kinds_bucket")
    made: list[tuple[Server, Callable[[], None]]] = []

    def build(**config: Any) -> Server:
        url, drop = backends.create_database("cairn_kind")
        options = {
            **s3.store_options(),
            "multipart_threshold": 5 * MiB,
            "part_size": 5 * MiB,
            "single_put_max": 5 * MiB,  # larger blobs go up in parts, to test them small
        }
        server: Server = make(
            db_url=url,
            store_uri=f"s3://{bucket}/{uuid.uuid4().hex}",
            store_options=options,
            **tuning,
            **config,
        )
        made.append((server, drop))
        return server

    yield build
    for server, drop in made:
        server.state.db.dispose()  # its connections first, then the database
        drop()


@pytest.fixture
def kind_server(make_kind: Callable[..., Server]) -> Server:
    return make_kind()
