"""One measured operation in its own process: ``python -m benchmarks.worker TARGET OP SPEC OUT``.

The harness starts one worker per operation, so each gets a clean interpreter (no import, memo
or connection left warm by an earlier operation, and its own peak RSS). The target's module is
imported and its ``prepare`` hook runs first (imports, untimed); then only the operation itself
is timed. The result JSON goes to OUT.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.measure import own_peak_rss, proc_io_rchar
from benchmarks.targets import WORKER_MODULES


def _watch_opens(folder: str | None) -> list[int] | None:
    """Count files opened under ``folder`` (the workload) from Python, in every thread.

    ``open``/``os.open`` raise the ``open`` audit event (PEP 578); reading a file's bytes needs
    one, while stat() does not. This is how "an unchanged re-log reads no file" is checked:
    ``rchar`` alone also counts the interpreter and SQLite reading their own files.
    """
    if not folder:
        return None
    prefix = os.path.abspath(folder) + os.sep
    count = [0]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            path = os.fsdecode(args[0])
            if os.path.abspath(path).startswith(prefix):
                count[0] += 1

    sys.addaudithook(hook)
    return count


def main(argv: list[str]) -> int:
    target, op, spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text())
    mod = importlib.import_module(WORKER_MODULES[target])
    mod.prepare(spec)
    fn = mod.OPS[op]
    opened = _watch_opens(spec.get("data"))
    rchar0 = proc_io_rchar()
    t0 = time.perf_counter()
    extra = fn(spec) or {}
    seconds = time.perf_counter() - t0
    rchar1 = proc_io_rchar()
    rss_self, rss_children = own_peak_rss()
    result = {
        # An operation may time only part of itself (e.g. os.stat without the walk before it).
        "seconds": extra.pop("seconds", seconds),
        "read_bytes": None if rchar0 is None or rchar1 is None else rchar1 - rchar0,
        "rss_self": rss_self,
        "rss_children": rss_children,
        "data_files_opened": opened[0] if opened else None,
        **extra,
    }
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
