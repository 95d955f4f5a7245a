"""Lineage and diff at scale, straight through the core, on SQLite and PostgreSQL (issue 16).

    python -m benchmarks.lineage_diff                     # both databases, full size, 3 runs
    python -m benchmarks.lineage_diff --db sqlite --quick  # 1 run at 1/100 size

Workloads (built once per database by bulk inserts through the core's tables, not timed):

``lineage``  a 10,000-node graph: 50 stages of 100 runs and 100 versions. Every run of stage 1
             used one root version; run ``i`` of stage ``k > 1`` used versions ``i .. i+4``
             (mod 100) of stage ``k - 1``; each run logged one version. 5,000 runs, 5,000
             versions (and the root), ~30,000 edges. Timed: ``lineage.of_version(root,
             downstream, depth=100)``, which reaches every node: one recursive query, then the
             nodes' names.
``diff``     two versions of 1,000,000 entries each (W4-sized: 1,000 folders of 1,000 files);
             the second changes 3 % of the entries, drops 1 % and adds 1 %. Timed:
             ``diff.summary`` (the counts), and ``diff.entries`` paged 10,000 at a time through
             every differing entry (what ``cairn.diff(a, b).entries()`` streams).

Each timed operation runs in a fresh worker process (this module with ``--worker``), so its
peak RSS is its own; the report gives the median time of ``--runs`` and the worker's peak RSS
and its growth over the worker's RSS just before the operation (imports, engine) — the memory
the operation itself took. PostgreSQL is ``CAIRN_BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); a database is made per invocation and
dropped after.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("CAIRN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ENTITY, PROJECT = "bench", "graph"
FAN_IN = 5  # versions of the previous stage each run uses
RESULTS = ("nodes", "edges", "added", "removed", "changed", "unchanged", "entries")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


# -- building the workloads ----------------------------------------------------------------------


def _service(db_url: str, store: Path) -> Any:
    from cairn.core.blobs.local import LocalBlobStore
    from cairn.core.db.engine import Database
    from cairn.core.service import Service

    return Service(Database(db_url), LocalBlobStore(store))


def build_lineage(svc: Any, stages: int, width: int) -> str:
    """The layered graph; returns the root version's id."""
    from sqlalchemy import select

    from cairn.core.db import models as m
    from cairn.core.db.bulk import bulk_insert

    svc.create_run(ENTITY, PROJECT, run_id="setup")
    with svc.db.write() as s:
        proj = s.scalar(select(m.Project).where(m.Project.name == PROJECT))
        colls = {}
        for k in range(stages + 1):
            c = m.Collection(project_id=proj.id, name=f"stage-{k}", type="dataset", next_index=0)
            s.add(c)
            s.flush()
            colls[k] = c.id
        bulk_insert(
            s,
            m.Run,
            (
                {"public_id": f"r-{k}-{i}", "project_id": proj.id, "name": f"r-{k}-{i}",
                 "state": "finished", "config": {}}
                for k in range(1, stages + 1)
                for i in range(width)
            ),
        )  # fmt: skip
        runs = dict(
            s.execute(select(m.Run.public_id, m.Run.id).where(m.Run.project_id == proj.id)).all()
        )

        def version(k: int, i: int, run: int | None) -> dict[str, Any]:
            return {
                "public_id": f"v-{k}-{i}",
                "collection_id": colls[k],
                "version_index": i,
                "digest": hashlib.md5(f"{k}-{i}".encode()).hexdigest(),
                "state": "COMMITTED",
                "metadata": {},
                "size": 0,
                "file_count": 0,
                "incremental": False,
                "run_id": run,
            }

        rows = [version(0, 0, None)]
        rows += [
            version(k, i, runs[f"r-{k}-{i}"]) for k in range(1, stages + 1) for i in range(width)
        ]
        bulk_insert(s, m.Version, rows)
        vers = dict(
            s.execute(
                select(m.Version.public_id, m.Version.id).where(
                    m.Version.collection_id.in_(list(colls.values()))
                )
            ).all()
        )

        def inputs() -> Iterator[dict[str, Any]]:
            for i in range(width):
                yield {"run_id": runs[f"r-1-{i}"], "version_id": vers["v-0-0"]}
            for k in range(2, stages + 1):
                for i in range(width):
                    for j in {(i + d) % width for d in range(FAN_IN)}:
                        yield {"run_id": runs[f"r-{k}-{i}"], "version_id": vers[f"v-{k - 1}-{j}"]}

        bulk_insert(s, m.RunInput, inputs())
    return "v-0-0"


def _entry(i: int, salt: str = "") -> tuple[str, str, int]:
    body = f"{i}{salt}".encode()
    digest = hashlib.md5(body).digest()
    return f"d{i // 1000:04}/f{i:07}.txt", base64.b64encode(digest).decode(), len(body)


def build_diff(svc: Any, entries: int) -> tuple[str, str]:
    """Two W4-sized versions; returns their ids (a, b)."""
    from sqlalchemy import select

    from cairn.core.db import models as m
    from cairn.core.db.bulk import bulk_insert

    svc.create_run(ENTITY, PROJECT, run_id="setup")
    with svc.db.write() as s:
        proj = s.scalar(select(m.Project).where(m.Project.name == PROJECT))
        coll = m.Collection(project_id=proj.id, name="w4", type="dataset", next_index=2)
        s.add(coll)
        s.flush()
        ids = {}
        for index, name in enumerate(("a", "b")):
            ver = m.Version(
                public_id=f"w4-{name}-{uuid.uuid4().hex[:8]}",
                collection_id=coll.id,
                index=index,
                digest=hashlib.md5(name.encode()).hexdigest(),
                state="COMMITTED",
                file_count=entries,
            )
            s.add(ver)
            s.flush()
            ids[name] = (ver.id, ver.public_id)

        def files_a() -> Iterator[dict[str, Any]]:
            for i in range(entries):
                path, digest, size = _entry(i)
                yield {"version_id": ids["a"][0], "path": path, "digest": digest, "size": size}

        def files_b() -> Iterator[dict[str, Any]]:
            for i in range(entries):
                bucket = i % 100
                if bucket == 3:  # 1 % removed
                    continue
                path, digest, size = _entry(i, "-b" if bucket < 3 else "")  # 3 % changed
                yield {"version_id": ids["b"][0], "path": path, "digest": digest, "size": size}
            for i in range(entries // 100):  # 1 % added
                path, digest, size = _entry(entries + i)
                yield {"version_id": ids["b"][0], "path": path, "digest": digest, "size": size}

        bulk_insert(s, m.VersionFile, files_a())
        bulk_insert(s, m.VersionFile, files_b())
    with svc.db.engine.connect() as conn:  # fresh planner statistics, as autovacuum would give
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return ids["a"][1], ids["b"][1]


# -- the timed operations (in a worker process) --------------------------------------------------


def worker(args: argparse.Namespace) -> dict[str, Any]:
    from cairn.core import diff, lineage

    svc = _service(args.db_url, Path(args.store))
    with svc.db.read() as s:  # connect before measuring
        s.connection()
    before = _rss()
    started = time.perf_counter()
    out: dict[str, Any] = {}
    if args.worker == "lineage":
        g = lineage.of_version(svc, args.root, direction="downstream", depth=args.depth)
        out = {"nodes": len(g.nodes), "edges": len(g.edges)}
    elif args.worker == "diff_summary":
        d = diff.summary(svc, args.a, args.b)
        out = {"added": d.added, "removed": d.removed, "changed": d.changed}
        out["unchanged"] = d.unchanged
    elif args.worker == "diff_entries":
        after, n = None, 0
        while True:
            page, after = diff.entries(svc, args.a, args.b, after=after, limit=10_000)
            n += len(page)
            if after is None:
                break
        out = {"entries": n}
    seconds = time.perf_counter() - started
    peak = _peak_rss()
    svc.db.dispose()
    return {"seconds": seconds, "peak_rss": peak, "peak_above_start": max(0, peak - before), **out}


def _run_worker(op: str, db_url: str, store: Path, **extra: Any) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.lineage_diff", "--worker", op, "--db-url", db_url]
    cmd += ["--store", str(store)]
    for k, v in extra.items():
        cmd += [f"--{k}", str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {op} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- databases -----------------------------------------------------------------------------------


def _postgres() -> tuple[str, Any]:
    import psycopg

    name = f"cairn_bench_graph_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


def measure(db: str, work: Path, *, nodes: int, entries: int, runs: int) -> list[dict[str, Any]]:
    """Build both workloads on one database kind and time each operation ``runs`` times."""
    from cairn.core.db.engine import Database

    drop = None
    if db == "postgres":
        url, drop = _postgres()
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    try:
        Database(url).migrate()
        store = work / "blobs"
        svc = _service(url, store)
        # 100 wide at full size; narrower (and so fewer stages) for smaller graphs.
        width = 100 if nodes >= 10_000 else max(2, round(10 * (nodes / 100) ** 0.5))
        stages = max(1, nodes // (2 * width))
        t0 = time.perf_counter()
        root = build_lineage(svc, stages, width)
        built_lineage = time.perf_counter() - t0
        t0 = time.perf_counter()
        a, b = build_diff(svc, entries)
        built_diff = time.perf_counter() - t0
        svc.db.dispose()
        ops: list[tuple[str, str, dict[str, Any], float]] = [
            ("lineage", "lineage", {"root": root, "depth": 2 * stages}, built_lineage),
            ("diff", "diff_summary", {"a": a, "b": b}, built_diff),
            ("diff", "diff_entries", {"a": a, "b": b}, built_diff),
        ]
        rows = []
        for workload, op, extra, build in ops:
            results = [_run_worker(op, url, store, **extra) for _ in range(runs)]
            best = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
            rows.append(
                {
                    "workload": workload,
                    "db": db,
                    "op": op,
                    "seconds": statistics.median(r["seconds"] for r in results),
                    "runs": runs,
                    "build_seconds": round(build, 1),
                    "size": {"nodes": 1 + 2 * stages * width}
                    if workload == "lineage"
                    else {"entries": entries},
                    **{k: v for k, v in best.items() if k != "seconds"},
                }
            )
        return rows
    finally:
        if drop is not None:
            drop()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lineage_diff", description=__doc__)
    p.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both (comma)")
    p.add_argument("--nodes", type=int, default=10_000)
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="1 run at 1/100 size (unless given)")
    p.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    # worker mode
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--db-url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--store", default=None, help=argparse.SUPPRESS)
    p.add_argument("--root", default=None, help=argparse.SUPPRESS)
    p.add_argument("--depth", type=int, default=100, help=argparse.SUPPRESS)
    p.add_argument("--a", default=None, help=argparse.SUPPRESS)
    p.add_argument("--b", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        args.runs = 1
        if "--nodes" not in given:
            args.nodes = 100
        if "--entries" not in given:
            args.entries = 10_000
    rows = []
    for db in args.db.split(","):
        with tempfile.TemporaryDirectory(prefix=f"cairn-graph-{db}-") as work:
            rows += measure(db, Path(work), nodes=args.nodes, entries=args.entries, runs=args.runs)
    for r in rows:
        size = ", ".join(f"{k}={v:,}" for k, v in r["size"].items())
        print(
            f"{r['workload']:8} {r['db']:9} {r['op']:13} {size:18} {r['seconds'] * 1000:9.1f} ms"
            f"  peak {_mib(r['peak_rss'])} (+{_mib(r['peak_above_start'])})  "
            + " ".join(f"{k}={r[k]:,}" for k in RESULTS if k in r)
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
