"""Many clients at once: ``python -m benchmarks.load``.

Closed-loop clients (each sends its next request when the last one answered) against a real
``cairn server`` on loopback, for the requests a team server answers most: the no-auth,
no-database ``GET /server`` (the yardstick the other kinds are compared with, so client overhead
cancels), the viewer (auth only), resolving ``name:alias``, listing collections and versions
(page 1 and a deep page), one page of files of a large version, ``blobs/missing`` for 1,000
digests, and a whole small log-and-use cycle. For each kind and client count it reports
requests/s, p50/p99 latency, errors, the server's CPU per request and the client's own CPU
share (clients and server share this machine's cores, so a busy client shows here).

The stacks are the benchmark targets' (``cairn-server-sqlite``, ``cairn-server-pg-s3``); the
data (collections, versions, a large version's file index) is made through the core on the
server's own database and store before the clients start, as an ordinary (non-admin) user, so
every permission check is on the path.

::

    python -m benchmarks.load                               # both stacks, 1/8/32/128 clients
    python -m benchmarks.load --targets cairn-server-sqlite --clients 1,32 --seconds 5
    python -m benchmarks.load --workers 2                   # cairn server --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from benchmarks.measure import free_port, stop_group, wait_for_port

HERE = Path(__file__).resolve().parent
USER = "loader"
PROJECT = "load"
STARTUP_TIMEOUT = 60.0
KINDS = (
    "server",
    "viewer",
    "resolve",
    "collections",
    "versions",
    "versions_deep",
    "files_page",
    "missing_1000",
    "cycle",
)


# -- the stack --------------------------------------------------------------------------------
@dataclass
class Stack:
    """One database and store, served by ``replicas`` ``cairn server`` processes."""

    target: str
    home: Path
    workers: int = 1
    replicas: int = 1
    db_url: str = ""
    store: str = ""
    env: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    key: str = ""
    _exit: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> Stack:
        from benchmarks.targets import make

        t = make(self.target)
        why = t.available()
        if why is not None:
            raise RuntimeError(f"{self.target}: {why}")
        self.home.mkdir(parents=True, exist_ok=True)
        # The targets know how to make a database and a store (and clean them up); the load
        # benchmark talks to the servers directly, without their byte-counting proxies.
        self.db_url, self.store, self.env = t._backing(self.home)  # type: ignore[attr-defined]
        self.flags = [f for f in t._store_flags]  # type: ignore[attr-defined]
        self._exit.callback(t.stop)
        for i in range(self.replicas):
            self.start_replica(i)
        self.key = "cairn_load_" + uuid.uuid4().hex + uuid.uuid4().hex
        return self

    def start_replica(self, i: int) -> None:
        port = free_port()
        cmd = [
            sys.executable, "-m", "cairn.cli", "server", "--db", self.db_url,
            "--store", self.store, *self.flags, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(self.workers), "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, **self.env, "CAIRN_SILENT": "true"}
        env.pop("CAIRN_BASE_URL", None)
        log = open(self.home / f"server-{i}.log", "ab")  # noqa: SIM115 - closed by _exit
        self._exit.callback(log.close)
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self._exit.callback(stop_group, proc)
        wait_for_port(port, STARTUP_TIMEOUT, proc)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica {i} never became ready")
            time.sleep(0.2)
        if i < len(self.procs):
            self.procs[i], self.ports[i] = proc, port
        else:
            self.procs.append(proc)
            self.ports.append(port)

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def server_processes(self) -> list[psutil.Process]:
        out: list[psutil.Process] = []
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(p.pid)
                out += [root, *root.children(recursive=True)]
        return out

    def server_cpu(self) -> float:
        total = 0.0
        for p in self.server_processes():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total


# -- the data ---------------------------------------------------------------------------------
@dataclass
class Seed:
    versions: int
    files: int
    collections: int
    big_version: str = ""
    deep_after: int = 0
    file_cursor: str = ""
    digests: list[str] = field(default_factory=list)


def seed(stack: Stack, s: Seed, say: Callable[[str], None]) -> None:
    """Make the user, its key and the data, through the core on the server's own database."""
    import io

    from cairn.core.access import Principal
    from cairn.core.accounts import Accounts
    from cairn.core.blobs import open_store
    from cairn.core.db.engine import Database
    from cairn.core.service import Service
    from cairn.manifest import Manifest, ManifestEntry, hex_to_b64
    from cairn.records import VersionSpec

    os.environ.update(stack.env)
    db = Database(stack.db_url)
    options = {}
    if "--s3-endpoint" in stack.flags:
        options["endpoint_url"] = stack.flags[stack.flags.index("--s3-endpoint") + 1]
    store = open_store(stack.store, **options)
    try:
        Accounts(db).create_user(USER, admin=False, key=stack.key)
        svc = Service(db, store).bind(Principal(name=USER, roles={USER: "admin"}))

        def blob(data: bytes) -> ManifestEntry:
            hexd = hashlib.md5(data).hexdigest()
            svc.store_blob_stream(hexd, io.BytesIO(data), len(data))
            return ManifestEntry(path="data.txt", digest=hex_to_b64(hexd), size=len(data))

        def log(collection: str, manifest: Manifest) -> str:
            vid = svc.begin_version(VersionSpec(USER, PROJECT, collection, "dataset"))
            return svc.commit_version(vid, manifest, aliases=("best",)).id

        t0 = time.monotonic()
        for c in range(s.collections):
            log(f"coll-{c:04d}", Manifest([blob(f"collection {c}".encode())]))
        for v in range(s.versions):
            log("ds", Manifest([blob(f"version {v}".encode())]))
        s.deep_after = max(-1, s.versions - 51)
        one = blob(b"one tiny file")
        entries = (
            ManifestEntry(path=f"d{i // 1000:04d}/f{i:07d}.txt", digest=one.digest, size=one.size)
            for i in range(s.files)
        )
        s.big_version = log("big", Manifest(entries))
        s.file_cursor = f"d{s.files // 2000:04d}/f{s.files // 2:07d}.txt"
        s.digests = [hashlib.md5(f"absent {i}".encode()).hexdigest() for i in range(1000)]
        if not db.is_sqlite:
            # A bulk load leaves PostgreSQL without statistics until autovacuum gets to it;
            # planned blind, a lookup by blob starts from the versions and filters every file
            # of the million-file one. Measure the steady state a server runs in.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        say(
            f"  seeded {s.collections} collections, {s.versions} versions and a version of "
            f"{s.files:,} files in {time.monotonic() - t0:.1f} s"
        )
    finally:
        db.dispose()


# -- the requests -----------------------------------------------------------------------------
Call = Callable[[httpx.Client, random.Random], bool]


def _ok(r: httpx.Response) -> bool:
    return r.status_code == 200


def calls(s: Seed, base_url: str, key: str, work: Path) -> dict[str, Call]:
    proj = f"/api/v1/projects/{USER}/{PROJECT}"

    def cycle(client: httpx.Client, rnd: random.Random) -> bool:
        return _cycle(base_url, key, work, rnd)

    return {
        "server": lambda c, _r: _ok(c.get("/api/v1/server")),
        "viewer": lambda c, _r: _ok(c.get("/api/v1/viewer")),
        "resolve": lambda c, _r: _ok(c.get(f"{proj}/collections/ds/versions/latest")),
        "collections": lambda c, _r: _ok(c.get(f"{proj}/collections", params={"limit": 50})),
        "versions": lambda c, _r: _ok(c.get(f"{proj}/collections/ds/versions")),
        "versions_deep": lambda c, _r: _ok(
            c.get(f"{proj}/collections/ds/versions", params={"after_index": s.deep_after})
        ),
        "files_page": lambda c, _r: _ok(
            c.get(
                f"/api/v1/versions/{s.big_version}/files",
                params={"after": s.file_cursor, "limit": 100},
            )
        ),
        "missing_1000": lambda c, _r: _ok(
            c.post("/api/v1/blobs/missing", json={"digests": s.digests})
        ),
        "cycle": cycle,
    }


_backends: threading.local = threading.local()


def close_thread_backend() -> None:
    """Close the HTTP backend this thread's log-and-use cycles used, if any."""
    b = getattr(_backends, "b", None)
    if b is not None:
        b.close()
        _backends.b = None


def _cycle(base_url: str, key: str, work: Path, rnd: random.Random) -> bool:
    """Log a one-file version and use it, as the SDK's backend does on the wire: begin, which
    blobs are missing, upload, commit, resolve ``latest``, read the manifest, fetch the blob."""
    from cairn.backend.base import BlobDownload, BlobUpload
    from cairn.backend.http import HttpBackend
    from cairn.config import Settings
    from cairn.manifest import Manifest, ManifestEntry, hex_to_b64
    from cairn.records import VersionSpec

    b = getattr(_backends, "b", None)
    if b is None:
        settings = Settings(
            data_dir=work / "unused", cache_dir=work / "unused", base_url=base_url, api_key=key
        )
        b = _backends.b = HttpBackend(settings)
    data = f"cycle {uuid.uuid4().hex}".encode()
    hexd = hashlib.md5(data).hexdigest()
    src = work / f"{hexd}.in"
    src.write_bytes(data)
    try:
        vid = b.begin_version(VersionSpec(USER, PROJECT, f"cycle-{rnd.randrange(4)}", "dataset"))
        if b.missing_blobs([hexd]):
            b.upload_blobs([BlobUpload(hexd, str(src), len(data))])
        entry = ManifestEntry(path="data.txt", digest=hex_to_b64(hexd), size=len(data))
        rec = b.commit_version(vid, Manifest([entry]), aliases=(), tags=())
        used = b.resolve(USER, PROJECT, rec.collection, f"v{rec.index}")
        b.get_manifest(used.id)
        dest = work / f"{hexd}.out"
        b.fetch_blobs([BlobDownload(hexd, str(dest), len(data))])
        ok = dest.read_bytes() == data
        dest.unlink()
        return ok
    finally:
        src.unlink()


# -- one measurement --------------------------------------------------------------------------
@dataclass
class Measured:
    kind: str
    clients: int
    seconds: float
    requests: int
    errors: int
    latencies: list[float]
    server_cpu: float
    client_cpu: float

    def row(self, target: str, workers: int) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else None

        n = max(1, self.requests)
        cores = os.cpu_count() or 1
        return {
            "target": target,
            "peer": None,
            "workload": "load",
            "op": f"{self.kind}@{self.clients}",
            "kind": self.kind,
            "clients": self.clients,
            "workers": workers,
            "status": "ok" if self.requests and not self.errors else "error",
            "seconds": self.seconds,
            "requests": self.requests,
            "errors": self.errors,
            "rps": self.requests / self.seconds if self.seconds else None,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "mean_ms": statistics.fmean(lat) * 1000 if lat else None,
            "server_cpu_ms_per_req": self.server_cpu / n * 1000,
            "client_cpu_share": self.client_cpu / (self.seconds * cores) if self.seconds else None,
        }


def closed_loop(
    call: Call,
    base_url: str,
    key: str,
    clients: int,
    seconds: float,
    stack: Stack | None = None,
    warmup: float = 1.0,
) -> Measured:
    """``clients`` threads, each with its own keep-alive connection, calling back to back."""
    start = threading.Barrier(clients + 1)
    lats: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    t_measure = [0.0, 0.0]  # start and end of the measured window

    def client(i: int) -> None:
        rnd = random.Random(i)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as c:
            start.wait()
            while True:
                t0 = time.perf_counter()
                if t0 >= t_measure[1]:
                    close_thread_backend()
                    return
                try:
                    ok = call(c, rnd)
                except Exception:  # noqa: BLE001 - every failure is an error of the run
                    ok = False
                t1 = time.perf_counter()
                if t0 >= t_measure[0]:
                    lats[i].append(t1 - t0)
                    errors[i] += not ok

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    now = time.perf_counter()
    t_measure[0], t_measure[1] = now + warmup, now + warmup + seconds
    start.wait()
    time.sleep(warmup)  # the clients' own clock decides what counts; this only lines us up
    me = psutil.Process()
    c0, s0 = sum(me.cpu_times()[:2]), stack.server_cpu() if stack else 0.0
    for t in threads:
        t.join()
    c1, s1 = sum(me.cpu_times()[:2]), stack.server_cpu() if stack else 0.0
    all_lat = [x for per in lats for x in per]
    return Measured(
        kind="",
        clients=clients,
        seconds=seconds,
        requests=len(all_lat),
        errors=sum(errors),
        latencies=all_lat,
        server_cpu=s1 - s0,
        client_cpu=c1 - c0,
    )


# -- checks and the table ---------------------------------------------------------------------
def _find(
    rows: list[dict[str, Any]], target: str, kind: str, clients: int
) -> dict[str, Any] | None:
    for r in rows:
        if (r["target"], r.get("kind"), r.get("clients")) == (target, kind, clients):
            return r
    return None


def checks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 20's targets, per stack that ran; ratios to ``/server`` at the same client count."""
    from benchmarks.report import _check

    out: list[dict[str, Any]] = []
    for target in dict.fromkeys(r["target"] for r in rows if r["workload"] == "load"):

        def ratio(
            kind: str, n: int, target: str = target
        ) -> tuple[float | None, dict[str, Any] | None]:
            base, row = _find(rows, target, "server", n), _find(rows, target, kind, n)
            if not base or not row or not base.get("rps") or row.get("rps") is None:
                return None, row
            return row["rps"] / base["rps"], row

        r, row = ratio("resolve", 32)
        ok = None if r is None or row is None else (r >= 0.5 and (row["p99_ms"] or 1e9) < 50)
        value = "n/a" if r is None or row is None else f"{r:.0%}, p99 {row['p99_ms']:.1f} ms"
        out.append(_check(target, "resolve @32 vs /server", value, ">= 50%, p99 < 50 ms", ok))
        counts = sorted({x["clients"] for x in rows if x["target"] == target and "clients" in x})
        worst: tuple[float, int] | None = None
        for n in counts:
            v, _ = ratio("viewer", n)
            if v is not None and (worst is None or v < worst[0]):
                worst = (v, n)
        out.append(
            _check(
                target,
                "viewer vs /server (worst client count)",
                "n/a" if worst is None else f"{worst[0]:.0%} at {worst[1]}",
                ">= 70%",
                None if worst is None else worst[0] >= 0.7,
            )
        )
        m = _find(rows, target, "missing_1000", 1)
        p50 = None if m is None else m.get("p50_ms")
        out.append(
            _check(
                target,
                "blobs/missing, 1,000 digests (p50, 1 client)",
                "n/a" if p50 is None else f"{p50:.1f} ms",
                "< 20 ms",
                None if p50 is None else p50 < 20,
            )
        )
        errs = sum(x["errors"] for x in rows if x["target"] == target and "errors" in x)
        out.append(_check(target, "errors", str(errs), "0", errs == 0))
    return out


def table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="load: closed-loop clients", title_justify="left", header_style="bold")
    for col in (
        "target",
        "request",
        "clients",
        "req/s",
        "vs /server",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU ms/req",
        "client CPU",
    ):
        t.add_column(col, justify="left" if col in ("target", "request") else "right")
    for r in rows:
        if r["workload"] != "load":
            continue
        base = _find(rows, r["target"], "server", r["clients"])
        rel = r["rps"] / base["rps"] if base and base.get("rps") and r.get("rps") else None
        t.add_row(
            r["target"] + (f" x{r['workers']} workers" if r.get("workers", 1) > 1 else ""),
            r["kind"],
            str(r["clients"]),
            f"{r['rps']:.0f}" if r.get("rps") else "-",
            f"{rel:.0%}" if rel is not None else "-",
            f"{r['p50_ms']:.1f}" if r.get("p50_ms") is not None else "-",
            f"{r['p99_ms']:.1f}" if r.get("p99_ms") is not None else "-",
            str(r["errors"]),
            f"{r['server_cpu_ms_per_req']:.2f}",
            f"{r['client_cpu_share']:.0%}" if r.get("client_cpu_share") is not None else "-",
        )
    return t


# -- the command ------------------------------------------------------------------------------
def run(args: argparse.Namespace, say: Callable[[str], None]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for target in args.targets:
        say(f"[bold]{target}[/] ({args.workers} worker(s) per server)")
        home = Path(tempfile.mkdtemp(prefix="load-", dir=args.data))
        try:
            with Stack(target, home, workers=args.workers) as stack:
                s = Seed(versions=args.versions, files=args.files, collections=args.collections)
                seed(stack, s, say)
                work = home / "work"
                work.mkdir()
                table_calls = calls(s, stack.url(), stack.key, work)
                for kind in args.kinds:
                    for n in args.clients:
                        m = closed_loop(
                            table_calls[kind], stack.url(), stack.key, n, args.seconds, stack
                        )
                        m.kind = kind
                        row = m.row(target, args.workers)
                        rows.append(row)
                        say(
                            f"  {kind:<13} {n:>3} clients: {row['rps'] or 0:7.0f}/s "
                            f"p50 {row['p50_ms'] or 0:6.1f} ms p99 {row['p99_ms'] or 0:6.1f} ms "
                            f"errors {row['errors']}"
                        )
        except RuntimeError as exc:
            say(f"[yellow]{exc}[/]")
        finally:
            with contextlib.suppress(OSError):
                import shutil

                shutil.rmtree(home, ignore_errors=True)
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description=__doc__.split("\n")[0]
    )
    p.add_argument("--targets", default="cairn-server-sqlite,cairn-server-pg-s3")
    p.add_argument("--clients", default="1,8,32,128", help="client counts, comma-separated")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"of: {','.join(KINDS)}")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per cell")
    p.add_argument("--workers", type=int, default=1, help="cairn server --workers")
    p.add_argument("--versions", type=int, default=1000, help="versions of the listed collection")
    p.add_argument("--files", type=int, default=1_000_000, help="files of the paged version (W4)")
    p.add_argument("--collections", type=int, default=100)
    p.add_argument("--data", type=Path, default=Path("/tmp/cairn-bench"))
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    a.targets = [t for t in a.targets.split(",") if t]
    a.clients = [int(c) for c in a.clients.split(",") if c]
    a.kinds = [k for k in a.kinds.split(",") if k]
    for k in a.kinds:
        if k not in KINDS:
            p.error(f"unknown kind {k!r}")
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    con = Console(width=max(160, Console().width))
    args.data.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        con.print(f"[dim]{dt.datetime.now():%H:%M:%S}[/] {msg}", highlight=False)

    rows = run(args, say)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    doc = {
        "meta": {
            "timestamp": stamp,
            "argv": sys.argv[1:] if argv is None else argv,
            "quick": False,
            "runs": 1,
            "scale": 1.0,
            "machine": {"cpus": os.cpu_count()},
            "workloads": [],
        },
        "rows": rows,
        "checks": checks(rows),
    }
    out = args.out or HERE / "results" / f"load-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str))
    con.print(table(rows))
    from benchmarks.report import print_checks

    print_checks(con, doc["checks"])
    say(f"JSON written to {out}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
