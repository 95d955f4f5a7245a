"""A real ``cairn server`` (uvicorn, SQLite, a blob folder) for the session, with data, and
Debian's Chromium driven by Playwright (no browser download: ``apt-get install chromium``).

Users: ``alice`` (a password too), owner of the private project ``alice/bikes`` and of
``alice/secret-plans``; ``eve``, an outsider with no role anywhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from cairn.backend.http import HttpBackend
from cairn.config import Settings
from cairn.core.accounts import Accounts
from cairn.core.db.engine import Database
from cairn.records import VersionUpdate
from tests import backends
from tests.backends import RunningServer, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Site:
    server: RunningServer
    keys: dict[str, str]
    versions: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url


def _files(n: int) -> dict[str, bytes]:
    files = {
        "README.md": b"# Bike rides\n\nOne row per ride.\n",
        "data/train.csv": b"id,km,minutes\n"
        + b"".join(f"{i},{i % 17},{i % 53}\n".encode() for i in range(200)),
        "data/test.csv": b"id,km,minutes\n1,3,12\n",
        "config/schema.json": b'{"id": "int", "km": "float"}',
    }
    for i in range(n):
        files[f"images/ride-{i:03d}.png"] = f"not really a png {i}".encode()
    return files


def log(
    backend: HttpBackend,
    tmp: Path,
    where: tuple[str, str, str, str],
    files: dict[str, bytes],
    *,
    run_id: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    """Log a version of ``where`` = (entity, project, collection, type), made by ``run_id``."""
    from cairn.backend.base import BlobUpload
    from cairn.manifest import Manifest, ManifestEntry
    from cairn.manifest.digest import md5_b64, stored_blob
    from cairn.records import VersionSpec

    entity, project, collection, kind = where
    folder = tmp / f"src-{secrets.token_hex(4)}"
    entries = []
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
        entries.append(
            ManifestEntry(
                path=path, digest=md5_b64(data), size=len(data), local_path=str(folder / path)
            )
        )
    spec = VersionSpec(
        entity=entity, project=project, collection=collection, type=kind, run_id=run_id
    )
    vid = backend.begin_version(spec)
    by_hex = {stored_blob(e.digest): e for e in entries}
    backend.upload_blobs(
        [
            BlobUpload(digest=h, path=str(by_hex[h].local_path), size=by_hex[h].size or 0)
            for h in backend.missing_blobs(list(by_hex))
        ]
    )
    return backend.commit_version(vid, Manifest(entries), aliases=aliases, tags=())


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("ui-site")
    server = start_server(home, f"sqlite:///{home / 'server.db'}", (home / "blobs").as_uri())
    db = Database(server.db_url)
    accounts = Accounts(db)
    keys = {"admin": server.admin_key}
    for name in ("alice", "eve"):
        _, keys[name] = accounts.create_user(name)
    accounts.set_password("alice", PASSWORD)
    backend = HttpBackend(Settings.resolve(base_url=server.url, api_key=keys["alice"]))
    versions: dict[str, Any] = {}
    prep = backend.create_run("alice", "bikes", run_id="prep0001", job_type="preprocess").id
    for i in range(3):
        versions[f"v{i}"] = log(
            backend,
            home,
            ("alice", "bikes", "bike-rides", "dataset"),
            _files(5 + 10 * i),
            run_id=prep,
            aliases=("best",) if i == 1 else (),
        )
    last = versions["v2"]
    backend.update_version(
        last.id,
        VersionUpdate(
            description="Rides of the city bike scheme, cleaned.",
            metadata={"rows": 200, "source": {"city": "Lyon", "years": [2024, 2025]}},
            tags=("cleaned",),
        ),
    )
    train = backend.create_run("alice", "bikes", run_id="train001", job_type="train").id
    backend.use_version("alice", "bikes", train, last.id)
    model = ("alice", "bikes", "bike-model", "model")
    log(backend, home, model, {"weights.bin": b"\x00" * 1000}, run_id=train)
    log(backend, home, ("alice", "secret-plans", "launch-codes", "dataset"), {"codes.txt": b"0"})
    backend.close()
    db.dispose()
    yield Site(server, keys, versions)
    stop_server(server.proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        why = f"no {CHROMIUM}: apt-get install -y --no-install-recommends chromium"
        if backends.required_by(os.environ):  # in CI, a missing browser fails the run
            pytest.fail(why)
        pytest.skip(why)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    problems: list[str] = []
    # Any script error or CSP violation; the 401 of a sign-in page is expected.
    pg.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and "status of 401" not in m.text else None
        ),
    )
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.problems = problems  # type: ignore[attr-defined]
    yield pg
    context.close()


def shot(page: Any, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
