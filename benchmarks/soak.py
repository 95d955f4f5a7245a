"""A soak: ``python -m benchmarks.soak`` — a steady mixed load for minutes, watching for drift.

Two ``cairn server`` replicas on one database and store (PostgreSQL + SeaweedFS by default)
serve paced clients that mix reads (resolve, viewer, listings, a files page, ``blobs/missing``)
with logs of small artifacts (the load benchmark's log-and-use cycle), at a fraction of the
capacity measured first with the same mix. Every few seconds it samples each replica's memory
(RSS of its process tree), open file descriptors and threads, the database's connections, and
the window's latency and errors. It passes when nothing failed, memory grew less than 5% from
the end of the warm-up to the end, descriptors and connections did not grow (beyond a burst),
and the median latency of the last fifth is within 20% of the first fifth's.

::

    python -m benchmarks.soak                       # 10 minutes at half capacity
    python -m benchmarks.soak --seconds 60 --rate 100   # the CI version: 60 s at 100 requests/s
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from benchmarks.load import Seed, Stack, calls, close_thread_backend, closed_loop, seed

HERE = Path(__file__).resolve().parent
# The mix: how often each kind is sent (the log-and-use cycle is about ten requests itself).
MIX = {
    "resolve": 30,
    "viewer": 15,
    "versions": 10,
    "collections": 10,
    "files_page": 10,
    "missing_1000": 5,
    "cycle": 10,
}
RSS_GROWTH = 0.05
LATENCY_DRIFT = 0.20
FD_SLACK = 8  # sockets of connections in flight when a sample is taken
CONN_SLACK = 2  # a pool opening one more connection for a burst, per replica


@dataclass
class Window:
    t: float
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    rss: int = 0
    fds: int = 0
    threads: int = 0
    db_connections: int | None = None

    def p50(self) -> float | None:
        return statistics.median(self.latencies) * 1000 if self.latencies else None

    def p99(self) -> float | None:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else None


def _mixed(table: dict[str, Any]) -> Any:
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]

    def call(c: httpx.Client, rnd: random.Random) -> bool:
        return bool(table[rnd.choices(kinds, weights)[0]](c, rnd))

    return call


def _db_connections(stack: Stack) -> int | None:
    if not stack.db_url.startswith("postgresql"):
        return None
    import psycopg

    url = stack.db_url.replace("postgresql+psycopg://", "postgresql://", 1)
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchone()
    return int(row[0]) if row else None


def _sample(stack: Stack, w: Window) -> None:
    for p in stack.server_processes():
        with contextlib.suppress(psutil.Error):
            w.rss += p.memory_info().rss
            w.fds += p.num_fds()
            w.threads += p.num_threads()
    w.db_connections = _db_connections(stack)


def soak(
    stack: Stack,
    s: Seed,
    *,
    seconds: float,
    rate: float,
    clients: int,
    window: float,
    work: Path,
    say: Any,
) -> list[Window]:
    """Paced clients, round-robin over the replicas, for ``seconds`` at ``rate`` requests/s."""
    tables = [calls(s, stack.url(i), stack.key, work) for i in range(len(stack.ports))]
    windows: list[Window] = []
    lock = threading.Lock()
    t0 = time.monotonic()
    end = t0 + seconds
    current = [Window(t=0.0)]
    interval = clients / rate

    def client(i: int) -> None:
        rnd = random.Random(1000 + i)
        replica = i % len(stack.ports)
        call = _mixed(tables[replica])
        headers = {"Authorization": f"Bearer {stack.key}"}
        with httpx.Client(base_url=stack.url(replica), headers=headers, timeout=60) as c:
            due = time.monotonic() + rnd.random() * interval
            while True:
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # pacing to the set rate, not waiting for an event
                if due >= end:
                    close_thread_backend()
                    return
                a = time.perf_counter()
                try:
                    ok = call(c, rnd)
                except Exception:  # noqa: BLE001 - every failure is an error of the soak
                    ok = False
                took = time.perf_counter() - a
                with lock:
                    w = current[0]
                    w.requests += 1
                    w.errors += not ok
                    w.latencies.append(took)
                due += interval

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    while time.monotonic() < end:
        time.sleep(min(window, max(0.0, end - time.monotonic())))
        with lock:
            done, current[0] = current[0], Window(t=time.monotonic() - t0)
        _sample(stack, done)
        windows.append(done)
        say(
            f"  {time.monotonic() - t0:6.0f} s: {done.requests / window:6.0f}/s "
            f"p50 {done.p50() or 0:6.1f} ms, errors {done.errors}, RSS "
            f"{done.rss / (1 << 20):.0f} MiB, fds {done.fds}, db conns {done.db_connections}"
        )
    for t in threads:
        t.join()
    return windows


def verdict(windows: list[Window]) -> dict[str, Any]:
    """The soak's figures and checks: the first fifth of the windows is the warm-up."""
    n = max(1, len(windows) // 5)
    first, last = windows[:n], windows[-n:]
    rss0 = max(w.rss for w in first)
    rss1 = statistics.fmean(w.rss for w in last)
    lat0 = statistics.median([x for w in first for x in w.latencies] or [0.0]) * 1000
    lat1 = statistics.median([x for w in last for x in w.latencies] or [0.0]) * 1000
    fds0, fds1 = max(w.fds for w in first), max(w.fds for w in last)
    conns = [w.db_connections for w in windows if w.db_connections is not None]
    # Pools open connections as bursts need them, up to their bound: one more after the
    # warm-up is the pool, not a leak. A leak keeps growing, so the end is compared with the
    # most the first half of the run needed.
    conn0 = max(conns[: max(1, len(conns) // 2)]) if conns else None
    conn1 = max(conns[-n:]) if conns else None
    errors = sum(w.errors for w in windows)
    requests = sum(w.requests for w in windows)
    growth = rss1 / rss0 - 1 if rss0 else 0.0
    drift = lat1 / lat0 - 1 if lat0 else 0.0
    return {
        "requests": requests,
        "errors": errors,
        "rss_start": rss0,
        "rss_end": rss1,
        "rss_growth": growth,
        "p50_start_ms": lat0,
        "p50_end_ms": lat1,
        "latency_drift": drift,
        "fds_start": fds0,
        "fds_end": fds1,
        "db_connections_start": conn0,
        "db_connections_end": conn1,
        "checks": {
            "no errors": errors == 0,
            f"RSS growth < {RSS_GROWTH:.0%}": growth < RSS_GROWTH,
            f"p50 at the end within {LATENCY_DRIFT:.0%} of the start": drift <= LATENCY_DRIFT,
            "no descriptor leak": fds1 <= fds0 + FD_SLACK,
            "no connection leak": conn0 is None or conn1 is None or conn1 <= conn0 + CONN_SLACK,
        },
    }


def table(v: dict[str, Any]) -> Table:
    t = Table(title="soak", title_justify="left", header_style="bold")
    for col in ("figure", "start", "end", "check", "status"):
        t.add_column(col)
    mib = 1 << 20
    rows = [
        ("requests / errors", str(v["requests"]), str(v["errors"]), "no errors"),
        (
            "server RSS",
            f"{v['rss_start'] / mib:.0f} MiB",
            f"{v['rss_end'] / mib:.0f} MiB ({v['rss_growth']:+.1%})",
            f"RSS growth < {RSS_GROWTH:.0%}",
        ),
        (
            "p50 latency",
            f"{v['p50_start_ms']:.1f} ms",
            f"{v['p50_end_ms']:.1f} ms ({v['latency_drift']:+.0%})",
            f"p50 at the end within {LATENCY_DRIFT:.0%} of the start",
        ),
        ("file descriptors", str(v["fds_start"]), str(v["fds_end"]), "no descriptor leak"),
        (
            "database connections",
            str(v["db_connections_start"]),
            str(v["db_connections_end"]),
            "no connection leak",
        ),
    ]
    for figure, a, b, check in rows:
        ok = v["checks"][check]
        t.add_row(figure, a, b, check, "[green]PASS[/]" if ok else "[red]MISS[/]")
    return t


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__.split("\n")[0]
    )
    p.add_argument("--target", default="cairn-server-pg-s3")
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--workers", type=int, default=1, help="cairn server --workers per replica")
    p.add_argument("--seconds", type=float, default=600.0)
    p.add_argument("--rate", type=float, default=None, help="requests/s (default: half capacity)")
    p.add_argument("--fraction", type=float, default=0.5, help="of the measured capacity")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--window", type=float, default=5.0, help="seconds per sample")
    p.add_argument("--files", type=int, default=20_000, help="files of the paged version")
    p.add_argument("--versions", type=int, default=200, help="versions of the listed collection")
    p.add_argument("--collections", type=int, default=20)
    p.add_argument("--data", type=Path, default=Path("/tmp/cairn-bench"))
    p.add_argument("--out", type=Path, default=None)
    return p.parse_args(argv)


def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    args.data.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="soak-", dir=args.data))
    with Stack(args.target, home, workers=args.workers, replicas=args.replicas) as stack:
        s = Seed(versions=args.versions, files=args.files, collections=args.collections)
        seed(stack, s, say)
        work = home / "work"
        work.mkdir()
        rate = args.rate
        if rate is None:
            probe = closed_loop(
                _mixed(calls(s, stack.url(), stack.key, work)),
                stack.url(),
                stack.key,
                args.clients,
                10.0,
            )
            capacity = probe.requests / probe.seconds
            rate = capacity * args.fraction
            say(f"  capacity of the mix: {capacity:.0f}/s; soaking at {rate:.0f}/s")
        windows = soak(
            stack,
            s,
            seconds=args.seconds,
            rate=rate,
            clients=args.clients,
            window=args.window,
            work=work,
            say=say,
        )
    v = verdict(windows)
    v["rate"] = rate
    v["seconds"] = args.seconds
    v["target"] = args.target
    v["replicas"] = args.replicas
    v["windows"] = [
        {
            "t": w.t,
            "requests": w.requests,
            "errors": w.errors,
            "p50_ms": w.p50(),
            "p99_ms": w.p99(),
            "rss": w.rss,
            "fds": w.fds,
            "threads": w.threads,
            "db_connections": w.db_connections,
        }
        for w in windows
    ]
    return v


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    con = Console(width=max(120, Console().width))

    def say(msg: str) -> None:
        con.print(f"[dim]{dt.datetime.now():%H:%M:%S}[/] {msg}", highlight=False)

    v = run(args, say)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or HERE / "results" / f"soak-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(v, indent=1, default=str))
    con.print(table(v))
    say(f"JSON written to {out}")
    return 0 if all(v["checks"].values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("CAIRN_SILENT", "true")
    sys.exit(main())
