"""What this machine can do at best: the "limit" rows every other number is compared with.

Machine-wide (workload ``machine``), on an in-memory buffer so no disk is involved:

    md5_1core      MD5 of the buffer in one process (MB/s per core)
    xxh128_1core   XXH128 (``xxhash``) of the buffer in one process
    md5_2core      MD5 in 2 processes at once (the machine's 2 cores), total MB/s

Per workload, on its folder (from the page cache, like the runs they are compared with):

    cp_r           ``cp -r`` of the folder into an empty one
    cp_al          ``cp -al``: the folder's tree with every file hard-linked, no bytes copied
    tar            ``tar -cf`` of the folder into a file
    stat           ``os.stat`` of every file (the walk that lists them is not timed)
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.targets.base import Target
from benchmarks.workloads import Workload

MACHINE_OPS = ("md5_1core", "xxh128_1core", "md5_2core")
FOLDER_OPS = ("cp_r", "cp_al", "tar", "stat")
MiB = 1 << 20


class Limits(Target):
    name = "limits"

    def spec(self, workload: Workload, op: str, data: Path) -> dict[str, Any]:
        out = super().spec(workload, op, data)
        out["hash_bytes"] = self.hash_bytes
        return out

    hash_bytes = 1024 * MiB  # set from the scale by the harness


def _buffer(n: int) -> bytes:
    # Incompressible and cheap to make; the hash does not care what the bytes are.
    return os.urandom(min(n, 64 * MiB))


def _hash_loop(kind: str, total: int, data: bytes | None = None) -> float:
    """Seconds to hash ``total`` bytes in 1 MiB chunks (as a file would be read)."""
    buf = memoryview(data if data is not None else _buffer(total))
    chunk = MiB
    if kind == "md5":
        h: Any = hashlib.md5()
    else:
        import xxhash

        h = xxhash.xxh3_128()
    t0 = time.perf_counter()
    done = 0
    while done < total:
        for i in range(0, len(buf), chunk):
            h.update(buf[i : i + chunk])
        done += len(buf)
    return time.perf_counter() - t0


def _md5_child(total: int, start: Any, out: Any) -> None:
    buf = _buffer(total)
    start.wait()  # both processes hold their buffer: start hashing together
    out.put(_hash_loop("md5", total, buf))


def prepare(spec: dict[str, Any]) -> None:
    pass


def md5_1core(spec: dict[str, Any]) -> dict[str, Any]:
    n = spec["hash_bytes"]
    return {"seconds": _hash_loop("md5", n), "bytes": n}


def xxh128_1core(spec: dict[str, Any]) -> dict[str, Any]:
    n = spec["hash_bytes"]
    return {"seconds": _hash_loop("xxh128", n), "bytes": n}


def md5_2core(spec: dict[str, Any]) -> dict[str, Any]:
    """Two processes hash ``hash_bytes`` each, started together; total bytes over the slower."""
    n = spec["hash_bytes"]
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_md5_child, args=(n, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    seconds = max(out.get(), out.get())
    for p in procs:
        p.join()
    return {"seconds": seconds, "bytes": 2 * n}


def cp_r(spec: dict[str, Any]) -> dict[str, Any]:
    subprocess.run(["cp", "-r", spec["data"], spec["dest"]], check=True)
    return {}


def cp_al(spec: dict[str, Any]) -> dict[str, Any]:
    subprocess.run(["cp", "-al", spec["data"], spec["dest"] + "-links"], check=True)
    return {}


def tar(spec: dict[str, Any]) -> dict[str, Any]:
    """Read every file of the folder: ``tar`` piped to ``cat``, which creates no file (so it
    is steady where ``cp -r`` swings with file creation). Not ``tar -f /dev/null``: GNU tar
    notices that and reads nothing."""
    tar = subprocess.Popen(["tar", "-cf", "-", "-C", spec["data"], "."], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    with tar.stdout:
        subprocess.run(["cat"], stdin=tar.stdout, stdout=subprocess.DEVNULL, check=True)
    if tar.wait() != 0:
        raise RuntimeError(f"tar exited {tar.returncode}")
    return {}


def stat(spec: dict[str, Any]) -> dict[str, Any]:
    paths = [os.path.join(d, n) for d, _ds, ns in os.walk(spec["data"]) for n in ns]
    t0 = time.perf_counter()
    for p in paths:
        os.stat(p)
    return {"seconds": time.perf_counter() - t0, "files": len(paths)}


OPS = {
    "md5_1core": md5_1core,
    "xxh128_1core": xxh128_1core,
    "md5_2core": md5_2core,
    "cp_r": cp_r,
    "cp_al": cp_al,
    "tar": tar,
    "stat": stat,
}
