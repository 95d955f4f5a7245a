"""Timing, memory and bytes on the wire.

* **Time**: the worker process times the operation itself (``time.perf_counter``), after its
  imports, so a library's import cost is not counted as its transfer speed.
* **Client memory**: the worker's own peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``) and that of
  any process it ran (``RUSAGE_CHILDREN``), combined with the harness sampling the worker's whole
  process tree with psutil every 50 ms; the largest of these is reported.
* **Server memory**: the server's process tree (workers included), sampled with psutil every
  50 ms while the operation runs; the peak of the sum of PSS (proportional set size: pages
  shared by forked workers counted once, not once per worker as a sum of RSS would).
* **Bytes on the wire**: every client→server connection of a server target goes through
  :class:`CountingProxy`, a loopback TCP relay that counts the bytes it passes each way. It moves
  them with ``splice(2)`` (kernel to kernel, no copy into Python), so it costs little CPU, and it
  sees exactly what crossed the socket: HTTP headers, bodies, retries. Loopback counters for the
  whole machine (``psutil.net_io_counters``) would also count other people's traffic.
* **Bytes read from files**: ``rchar`` of ``/proc/self/io`` in the worker (every ``read()``), to
  show that an unchanged re-log reads no file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

SAMPLE_EVERY = 0.05
MiB = 1 << 20


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a server started in its own session: SIGTERM to the group its PID leads, SIGKILL
    after 15 s, then reap it. Never by name."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} during startup")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def proc_io_rchar() -> int | None:
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def own_peak_rss() -> tuple[int, int]:
    """(this process's peak RSS, the largest peak RSS of its waited-for children), in bytes."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return me, kids


class CountingProxy:
    """A loopback TCP relay in front of a server that counts the bytes each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(512)
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self.up = 0  # client → server
        self.down = 0  # server → client
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def counts(self) -> tuple[int, int, int]:
        with self._lock:
            return self.up, self.down, self.connections

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
            done = threading.Barrier(2, action=lambda c=client, s=server: (c.close(), s.close()))
            for src, dst, up in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(src, dst, up, done), daemon=True, name="proxy-pump"
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool, done: Any) -> None:
        r, w = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(w, 1031, MiB)  # F_SETPIPE_SZ: fewer splice calls per MiB
        try:
            while True:
                n = os.splice(src.fileno(), w, MiB)
                if n == 0:
                    break
                left = n
                while left:
                    left -= os.splice(r, dst.fileno(), left)
                with self._lock:
                    if up:
                        self.up += n
                    else:
                        self.down += n
        except OSError:
            pass
        finally:
            os.close(r)
            os.close(w)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            with contextlib.suppress(threading.BrokenBarrierError):
                done.wait(timeout=600)


def _pss(p: psutil.Process) -> int:
    """PSS from ``smaps_rollup``: the kernel sums it, far cheaper than parsing ``smaps``."""
    try:
        with open(f"/proc/{p.pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(p.memory_info().rss)


class ProxyGroup:
    """Several proxies counted as one (a server's API and the S3 store its clients write to)."""

    def __init__(self, proxies: Sequence[CountingProxy]) -> None:
        self.proxies = list(proxies)

    def counts(self) -> tuple[int, int, int]:
        up = down = conns = 0
        for p in self.proxies:
            u, d, c = p.counts()
            up, down, conns = up + u, down + d, conns + c
        return up, down, conns


class Sampler:
    """Peak summed RSS of process trees, sampled in a background thread."""

    def __init__(self, groups: dict[str, Sequence[int]]) -> None:
        self.groups = {
            k: [psutil.Process(p) for p in pids if psutil.pid_exists(p)]
            for k, pids in groups.items()
        }
        self.peak = dict.fromkeys(groups, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _tree_rss(self, roots: list[psutil.Process]) -> int:
        """RSS of a lone process; PSS summed over a tree (forked workers share pages)."""
        procs: list[psutil.Process] = []
        for root in roots:
            with contextlib.suppress(psutil.Error):
                procs += [root, *root.children(recursive=True)]
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss if len(procs) == 1 else _pss(p)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            for k, roots in self.groups.items():
                self.peak[k] = max(self.peak[k], self._tree_rss(roots))
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class OpResult:
    """One measured operation of one run."""

    ok: bool
    seconds: float | None = None
    client_rss: int | None = None
    server_rss: int | None = None
    wire_up: int | None = None
    wire_down: int | None = None
    connections: int | None = None
    blobs_added: int | None = None
    read_bytes: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_worker(
    target: str,
    op: str,
    spec: dict[str, Any],
    *,
    env: dict[str, str],
    server_pids: Sequence[int],
    log_path: Path,
    timeout: float,
) -> OpResult:
    """Run one operation in a fresh worker process and measure it (see the module docstring)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path = log_path.with_suffix(".spec.json")
    result_path = log_path.with_suffix(".result.json")
    spec_path.write_text(json.dumps(spec))
    result_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.worker", target, op, str(spec_path), str(result_path)]
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), full_env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        with Sampler({"client": [proc.pid], "server": list(server_pids)}) as sampler:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return OpResult(ok=False, error=f"timed out after {timeout:.0f} s")
            except BaseException:  # interrupted: leave no worker behind
                _kill_group(proc)
                raise
    if proc.returncode != 0 or not result_path.is_file():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-6:]
        return OpResult(ok=False, error=f"exit {proc.returncode}: " + " | ".join(tail))
    data = json.loads(result_path.read_text())
    client = max(sampler.peak["client"], data.pop("rss_self", 0), data.pop("rss_children", 0))
    return OpResult(
        ok=True,
        seconds=data.pop("seconds"),
        client_rss=client,
        server_rss=sampler.peak["server"] or None,
        read_bytes=data.pop("read_bytes", None),
        extra=data,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the worker's process group (it leads it: started with ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)
    proc.wait()


def count_files(root: Path) -> int:
    n = 0
    for _dirpath, _dirs, names in os.walk(root):
        n += len(names)
    return n


@contextlib.contextmanager
def wire(proxy: CountingProxy | ProxyGroup | None) -> Iterator[dict[str, int]]:
    """Bytes the proxy passed while the block ran."""
    out: dict[str, int] = {}
    if proxy is None:
        yield out
        return
    up0, down0, c0 = proxy.counts()
    yield out
    time.sleep(0.05)  # let the pumps account for the last bytes of closing connections
    up1, down1, c1 = proxy.counts()
    out.update(up=up1 - up0, down=down1 - down0, connections=c1 - c0)
