"""A real ``cairn server`` (uvicorn, SQLite, a blob folder) for the session, with data, and
Debian's Chromium driven by Playwright (no browser download: ``apt-get install chromium``).

Users: ``alice`` (a password too), owner of the private project ``alice/bikes`` and of
``alice/secret-plans``; ``eve``, an outsider with no role anywhere.
"""

from __future__ import annotations

import os
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
from tests.server.conftest import log_version

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
    for i in range(3):
        versions[f"v{i}"] = log_version(
            backend,
            home,
            "alice",
            "bikes",
            "bike-rides",
            _files(5 + 10 * i),
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
    log_version(backend, home, "alice", "bikes", "bike-model", {"weights.bin": b"\x00" * 1000})
    log_version(backend, home, "alice", "secret-plans", "launch-codes", {"codes.txt": b"0000"})
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
