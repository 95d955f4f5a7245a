"""Many processes opening a brand-new cache memo or embedded store at the same moment."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

PROCESSES = 6
ROUNDS = 8


def _open_both(root: str, barrier: mp.synchronize.Barrier) -> None:
    from cairn.cache.memo import ChecksumMemo
    from cairn.core.db.engine import Database

    for i in range(ROUNDS):  # each round, every process opens the same new files at once
        barrier.wait(timeout=60)
        memo = ChecksumMemo(Path(root) / f"memo-{i}.db")
        memo.close()
        db = Database(f"sqlite:///{root}/store-{i}.db")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        db.dispose()


def test_processes_opening_a_new_database_together_all_succeed(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    procs = [
        ctx.Process(target=_open_both, args=(str(tmp_path), barrier)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
