"""Rolling restarts at full size: does a restart of both replicas lose or fail a log?

Two ``cairn server`` replicas on one PostgreSQL (``CAIRN_BENCH_PG``, default 127.0.0.1:5432,
user postgres) and one SeaweedFS (started by ``tests/seaweed.py``), behind a loopback balancer.
Each case logs through the balancer while the replicas are killed (SIGKILL) one after the
other, each holding a request of the log (``tests/server/rolling.py``), and started again on
their ports:

* ``files``: 20,000 small files; the replicas die holding ``/blobs/missing`` and the commit;
* ``large``: one 1 GiB file (a multipart upload of 16 parts); they die holding a part's URL
  request and the completion.

Then every version of the collection is read back and hashed. Reported per case: seconds,
retries the client made, versions made (1 expected), unreadable versions (0 expected), and
whether the log failed. ``tests/server/test_resilience.py`` runs the same at CI size.

    python -m benchmarks.restart                       # both cases, full size
    python -m benchmarks.restart --files 2000 --large-mib 64 --out restart.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests import backends
from tests.processes import free_ports
from tests.seaweed import seaweed_s3
from tests.server import rolling

MiB = 1 << 20


def run_case(
    name: str,
    files: dict[str, Path],
    at: tuple[bytes, bytes],
    db_url: str,
    s3: Any,
    work: Path,
) -> dict[str, Any]:
    from cairn.backend.http import HttpBackend
    from cairn.config import Settings

    env = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "CAIRN_S3_ENDPOINT_URL": s3.endpoint_url,
    }
    store = f"s3://{s3.new_bucket()}/restart"
    replicas = [
        rolling.Replica(work / f"{name}-r{i}", db_url, store, env, port)
        for i, port in enumerate(free_ports(2))
    ]
    row: dict[str, Any] = {"case": name, "files": len(files)}
    row["bytes"] = sum(p.stat().st_size for p in files.values())
    try:
        for r in replicas:
            r.start()
        balancer = rolling.Balancer([r.port for r in replicas])
        rolling.rolling_restart(balancer, replicas, at)
        user = f"bench{name}"
        key = backends.make_user(db_url, user)
        settings = Settings.resolve(base_url=balancer.url, api_key=key)
        backend = HttpBackend(settings)
        started = time.perf_counter()
        with rolling.RetryCount().watching() as retries:
            try:
                version = rolling.log_files(backend, user, "p", "c", files)
                row["failed"] = None
                row["file_count"] = version.file_count
            except Exception as exc:  # noqa: BLE001 - the report says what failed
                row["failed"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = round(time.perf_counter() - started, 1)
        row["retries"] = retries.count
        row["replicas_killed_mid_log"] = 2 - len(balancer.tripwires)
        for r in replicas:
            r.wait_up()
        versions, unreadable = rolling.read_back(backend, user, "p", "c", work)
        row["versions"] = len(versions)
        row["unreadable"] = len(unreadable)
        backend.close()
        balancer.close()
    finally:
        for r in replicas:
            r.stop()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000, help="small files (0: skip)")
    parser.add_argument("--large-mib", type=int, default=1024, help="large file MiB (0: skip)")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    pg = os.environ.get("CAIRN_BENCH_PG")
    why = None if pg else backends.postgres_available()
    if why:
        print(f"restart benchmark: {why}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="cairn-restart-") as tmp, seaweed_s3() as s3:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            if pg:
                db_url = pg
            else:
                db_url, drop = backends.create_database("cairn_bench_restart")
                stack.callback(drop)
            if args.files:
                files = rolling.write_files(work / "files", args.files)
                at = (b"/blobs/missing HTTP", b"/commit HTTP")
                rows.append(run_case("files", files, at, db_url, s3, work))
            if args.large_mib:
                big = rolling.write_files(work / "large", 0, big=args.large_mib * MiB)
                at = (b"/parts HTTP", b"/complete HTTP")
                rows.append(run_case("large", big, at, db_url, s3, work))
    for row in rows:
        print(json.dumps(row))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    ok = all(r["failed"] is None and r["unreadable"] == 0 and r["versions"] == 1 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
