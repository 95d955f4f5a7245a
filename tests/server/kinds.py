"""The two server kinds, in process: SQLite with a blob folder, PostgreSQL with S3.

``kind_server`` gives a fresh server of each kind per test (a throwaway PostgreSQL database and
S3 bucket for the second; skipped, saying why, where either is unavailable). Blobs under 512
bytes are "small" (pack streams); on S3 those from 5 MiB go in multipart uploads and the rest by
presigned single PUT.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.conftest import Server

MiB = 1 << 20
KINDS = ["sqlite-folder", "postgres-s3"]


@pytest.fixture(params=KINDS)
def kind_server(request: pytest.FixtureRequest, make: Any) -> Iterator[Server]:
    if request.param == "sqlite-folder":
        yield make(pack_threshold=512, pack_target=4096)
        return
    from tests import backends

    why = backends.postgres_available()
    if why:
        pytest.skip(why)
    s3 = request.getfixturevalue("s3")
    url, drop = backends.create_database("cairn_possession")
    options = {**s3.store_options(), "multipart_threshold": 5 * MiB, "part_size": 5 * MiB}
    server = make(
        db_url=url,
        store_uri=f"s3://{s3.new_bucket()}/cairn",
        store_options=options,
        pack_threshold=512,
        pack_target=4096,
    )
    try:
        yield server
    finally:
        server.state.db.dispose()  # its connections first, then the database
        drop()
