"""An in-process server per test: SQLite in ``tmp_path``, a local blob folder, three users.

``alice`` and ``bob`` are ordinary users (each admin of their own entity); ``root`` is a server
admin. ``client(key)`` is an httpx client into the app; ``backend(key)`` the SDK's HTTP backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from cairn.backend.http import HttpBackend
from cairn.config import Settings
from cairn.server import ServerConfig, create_app
from cairn.server.app import open_state
from cairn.server.state import ServerState
from tests.server.asgi import SyncASGITransport

BASE = "http://cairn.test"


@dataclass
class Server:
    state: ServerState
    app: Any
    keys: dict[str, str]
    transport: SyncASGITransport
    tmp: Path
    _open: list[Any] = field(default_factory=list)

    def client(self, user: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[user]}"} if user else {}
        c = httpx.Client(transport=self.transport, base_url=BASE, headers=headers, **kwargs)
        self._open.append(c)
        return c

    def backend(self, user: str, **overrides: Any) -> HttpBackend:
        settings = Settings.resolve(base_url=BASE, api_key=self.keys[user], **overrides)
        b = HttpBackend(settings, transport=self.transport)
        self._open.append(b)
        return b


def make_server(tmp: Path, config: ServerConfig) -> Server:
    state = open_state(config)
    keys = {}
    for name, admin in (("alice", False), ("bob", False), ("root", True)):
        _, keys[name] = state.accounts.create_user(name, admin=admin)
    app = create_app(config, state)
    return Server(state, app, keys, SyncASGITransport(app), tmp)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    made: list[Server] = []

    def build(**overrides: Any) -> Server:
        defaults: dict[str, Any] = {
            "db_url": f"sqlite:///{tmp_path / f'server{len(made)}.db'}",
            "store_uri": (tmp_path / f"blobs{len(made)}").as_uri(),
        }
        config = ServerConfig(**{**defaults, **overrides})
        server = make_server(tmp_path, config)
        made.append(server)
        return server

    yield build
    for s in made:
        for c in s._open:
            c.close()
        s.transport.close()
        s.state.db.dispose()


@pytest.fixture
def server(make: Callable[..., Server]) -> Server:
    return make()


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object of a failed response, checking the one shape every failure has."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["details"], dict)
    return dict(err)


def log_version(
    backend: HttpBackend,
    tmp: Path,
    entity: str,
    project: str,
    collection: str,
    files: dict[str, bytes],
    *,
    aliases: tuple[str, ...] = (),
) -> Any:
    """Log one version through the backend's commit protocol; returns its VersionRecord."""
    import uuid

    from cairn.backend.base import BlobUpload
    from cairn.manifest import Manifest, ManifestEntry
    from cairn.manifest.digest import md5_b64, stored_blob
    from cairn.records import VersionSpec

    folder = tmp / f"src-{uuid.uuid4().hex[:8]}"
    entries = []
    for path, data in files.items():
        local = folder / path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        entries.append(
            ManifestEntry(path=path, digest=md5_b64(data), size=len(data), local_path=str(local))
        )
    manifest = Manifest(entries)
    vid = backend.begin_version(
        VersionSpec(entity=entity, project=project, collection=collection, type="dataset")
    )
    by_hex = {stored_blob(e.digest): e for e in entries}
    missing = backend.missing_blobs(list(by_hex))
    backend.upload_blobs(
        [
            BlobUpload(digest=h, path=str(by_hex[h].local_path), size=by_hex[h].size or 0)
            for h in missing
        ]
    )
    return backend.commit_version(vid, manifest, aliases=aliases, tags=())


@pytest.fixture(scope="session")
def s3(request: pytest.FixtureRequest) -> Any:
    """The session's SeaweedFS (shared with the server-postgres-s3 backend kind)."""
    from tests import backends

    try:
        return backends.seaweed(request)
    except backends.Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for the session (dropped at the end)."""
    from tests import backends

    why = backends.postgres_available()
    if why:
        pytest.skip(why)
    with backends.postgres_database("cairn_server_test") as url:
        yield url
