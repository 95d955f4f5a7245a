"""Stateless replicas: two server processes on one PostgreSQL and one S3 store serve one set of
clients; concurrent writers through both get distinct versions and none is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cairn.backend.http import HttpBackend
from cairn.config import Settings
from tests import backends
from tests.server.conftest import log_version

WRITERS = 8


@pytest.mark.slow
def test_two_replicas_share_one_database_and_store(
    postgres_url: str, s3: Any, tmp_path: Path
) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "CAIRN_S3_ENDPOINT_URL": s3.endpoint_url,
    }
    store = f"s3://{s3.new_bucket()}/replicas"
    a = backends.start_server(tmp_path / "a", postgres_url, store, env=env)
    try:
        b = backends.start_server(tmp_path / "b", postgres_url, store, env=env)
        try:
            key = backends.make_user(postgres_url, "writer")

            def backend(url: str) -> HttpBackend:
                return HttpBackend(Settings.resolve(base_url=url, api_key=key))

            def write(i: int) -> Any:
                client = backend((a, b)[i % 2].url)
                try:
                    return log_version(
                        client, tmp_path, "writer", "shared", "coll", {"f.txt": f"{i}".encode()}
                    )
                finally:
                    client.close()

            with ThreadPoolExecutor(WRITERS) as pool:
                made = list(pool.map(write, range(WRITERS)))
            assert sorted(v.index for v in made) == list(range(WRITERS))
            for server in (a, b):
                reader = backend(server.url)
                versions, _ = reader.list_versions(
                    "writer", "shared", "coll", after_index=None, limit=100
                )
                assert sorted(v.index for v in versions) == list(range(WRITERS))
                assert {v.id for v in versions} == {v.id for v in made}
                latest = reader.resolve("writer", "shared", "coll", "latest")
                assert latest.index == WRITERS - 1
                reader.close()
        finally:
            backends.stop_server(b.proc)
    finally:
        backends.stop_server(a.proc)
