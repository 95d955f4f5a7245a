"""Many clients at once, in CI: the load benchmark's requests and a 60-second soak.

The full load benchmark (1 to 128 clients, a million-file version) and the 10-minute soak live
in ``benchmarks/`` (``python -m benchmarks.load``, ``python -m benchmarks.soak``). Here, on the
same real stacks, a short run of each proves that every request kind works under concurrency
without an error, and that two replicas on PostgreSQL + SeaweedFS serving a mixed load of reads
and logs for a minute lose no request and leak no file descriptor or database connection. The
soak's memory and latency drift are printed, not asserted: a minute on a shared 2-core machine
is too short to tell growth from warm-up (the 10-minute soak asserts them). A stack that
cannot start (no PostgreSQL, no SeaweedFS) fails these tests rather than skipping them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

pytest.importorskip("psutil")

load = pytest.importorskip("benchmarks.load")
soak = pytest.importorskip("benchmarks.soak")


def _quiet(_msg: str) -> None:
    pass


@pytest.mark.slow
def test_every_request_kind_under_concurrency(tmp_path: Path) -> None:
    args = load.parse_args(
        [
            "--targets",
            "cairn-server-sqlite",
            "--clients",
            "4",
            "--seconds",
            "1",
            "--files",
            "3000",
            "--versions",
            "60",
            "--collections",
            "5",
            "--data",
            str(tmp_path),
        ]
    )
    rows = load.run(args, _quiet)
    assert {r["kind"] for r in rows} == set(load.KINDS)
    for r in rows:
        assert r["requests"] > 0, r
        assert r["errors"] == 0, r
        assert r["p50_ms"] is not None and r["p99_ms"] >= r["p50_ms"], r
    checks = {c["check"]: c for c in load.checks(rows)}
    assert checks["errors"]["status"] == "PASS"


@pytest.mark.slow
def test_a_minute_of_mixed_load_on_two_replicas(tmp_path: Path) -> None:
    args = soak.parse_args(
        [
            "--target",
            "cairn-server-pg-s3",
            "--seconds",
            "60",
            "--rate",
            "40",
            "--clients",
            "8",
            "--window",
            "5",
            "--files",
            "2000",
            "--versions",
            "20",
            "--collections",
            "5",
            "--data",
            str(tmp_path),
        ]
    )
    v = soak.run(args, _quiet)
    Console(width=120).print(soak.table(v))  # the figures, in the test's output
    assert len(v["windows"]) >= 10
    assert v["requests"] >= 1000  # the paced load really ran (40/s for 60 s, give or take)
    assert v["errors"] == 0
    assert v["checks"]["no descriptor leak"], (v["fds_start"], v["fds_end"])
    assert v["checks"]["no connection leak"], (
        v["db_connections_start"],
        v["db_connections_end"],
    )
    assert v["db_connections_start"] is not None  # PostgreSQL was really watched
