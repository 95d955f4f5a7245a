"""Restarting servers under a log, for ``tests/server/test_resilience.py`` and
``benchmarks/restart.py``.

* :class:`Balancer`: a TCP load balancer on loopback, as in front of replicas in production:
  each new connection goes to the next replica that accepts it; when a replica dies, the
  connections it carried break.
* :class:`Gate`: the HTTP backend's transport, running an action (kill a replica, say) just
  before the first request of a named step of the log. Restarts so land at known points of
  the log, never after a sleep.
* :func:`log_files` / :func:`read_back`: log files from disk through the HTTP backend, and
  check that every version of a collection reads back intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cairn.backend.base import BlobDownload, BlobUpload
from cairn.backend.http import HttpBackend
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import hex_to_b64, md5_file, stored_blob
from cairn.records import VersionRecord, VersionSpec
from tests import backends


class Balancer:
    """Spreads connections over loopback ``ports`` (round robin, skipping refusals)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._turn = itertools.count()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        first = next(self._turn)
        for i in range(len(self.ports)):
            port = self.ports[(first + i) % len(self.ports)]
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
                upstream.settimeout(None)
                break
            except OSError:
                continue
        else:
            client.close()  # no replica up: the client sees a dropped connection
            return
        with self._lock:
            self._open.update((client, upstream))
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # One side gone: so is the connection (a dead replica's clients see it break).
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._open.difference_update((src, dst))

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for s in list(self._open):
                with contextlib.suppress(OSError):
                    s.close()


class Gate(httpx.BaseTransport):
    """A transport that runs ``steps`` in order: each ``(path fragment, action)`` once, just
    before the first request whose path contains the fragment (other requests wait)."""

    def __init__(self, steps: list[tuple[str, Callable[[], None]]]) -> None:
        self._inner = httpx.HTTPTransport()
        self._steps = list(steps)
        self._lock = threading.Lock()

    @property
    def left(self) -> list[str]:
        """The fragments whose actions have not run (empty: every one landed mid-log)."""
        return [fragment for fragment, _ in self._steps]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._steps and self._steps[0][0] in request.url.path:
                _, action = self._steps.pop(0)
                action()
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclass
class Replica:
    """One ``cairn server`` process that can be killed and started again on its port."""

    home: Path
    db_url: str
    store: str
    env: dict[str, str]
    port: int
    server: backends.RunningServer | None = None
    starts: int = 0
    _restart: threading.Thread | None = field(default=None, repr=False)

    def start(self, **env: str) -> None:
        self.starts += 1
        self.server = backends.start_server(
            self.home / f"run{self.starts}",
            self.db_url,
            self.store,
            env={**self.env, **env},
            port=self.port,
        )

    def kill(self) -> None:
        """SIGKILL, by the process group its pid leads: no graceful shutdown."""
        assert self.server is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.proc.pid, signal.SIGKILL)
        self.server.proc.wait(30)

    def kill_and_restart_in_background(self) -> None:
        self.kill()
        self._restart = threading.Thread(target=self.start)
        self._restart.start()

    def wait_up(self) -> None:
        if self._restart is not None:
            self._restart.join(120)
            self._restart = None
        assert self.server is not None and self.server.proc.poll() is None

    def stop(self) -> None:
        if self._restart is not None:
            self._restart.join(120)
        if self.server is not None:
            backends.stop_server(self.server.proc)


class RetryCount(logging.Handler):
    """Counts the retries the HTTP backend logs (``cairn.http`` warnings)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    @contextlib.contextmanager
    def watching(self) -> Iterator[RetryCount]:
        logger = logging.getLogger("cairn.http")
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)


def write_files(folder: Path, count: int, size: int = 100, big: int = 0) -> dict[str, Path]:
    """``count`` small distinct files (and one of ``big`` bytes, if asked), path → file."""
    out: dict[str, Path] = {}
    for i in range(count):
        p = folder / f"d{i % 50:02d}" / f"f{i:06d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"{i}:".encode().ljust(size, b"x"))
        out[p.relative_to(folder).as_posix()] = p
    if big:
        p = folder / "big.bin"
        with open(p, "wb") as f:
            seed = hashlib.sha256(uuid.uuid4().bytes).digest()
            left = big
            while left > 0:
                block = hashlib.sha256(seed + left.to_bytes(8, "big")).digest() * 32768  # 1 MiB
                f.write(block[:left])
                left -= len(block[:left])
        out["big.bin"] = p
    return out


def log_files(
    backend: HttpBackend, entity: str, project: str, collection: str, files: dict[str, Path]
) -> VersionRecord:
    """Log ``files`` as one version through the commit protocol the SDK uses."""
    entries = []
    for path, local in files.items():
        hexdigest, size = md5_file(local)
        entries.append(
            ManifestEntry(path=path, digest=hex_to_b64(hexdigest), size=size, local_path=str(local))
        )
    manifest = Manifest(entries)
    vid = backend.begin_version(
        VersionSpec(entity=entity, project=project, collection=collection, type="dataset")
    )
    by_hex = {stored_blob(e.digest): e for e in entries}
    missing = set(backend.missing_blobs(list(by_hex)))
    backend.upload_blobs(
        [
            BlobUpload(digest=h, path=str(e.local_path), size=e.size or 0)
            for h, e in by_hex.items()
            if h in missing
        ]
    )
    return backend.commit_version(vid, manifest, aliases=(), tags=())


def read_back(
    backend: HttpBackend, entity: str, project: str, collection: str, tmp: Path
) -> tuple[list[VersionRecord], list[str]]:
    """Every version of the collection, and the versions that do not read back intact."""
    versions, _ = backend.list_versions(entity, project, collection, limit=1000)
    unreadable: list[str] = []
    for v in versions:
        try:
            _, raw = backend.get_manifest(v.id)
            manifest = Manifest.from_bytes(raw)
            plan = {
                stored_blob(e.digest, e.extra): (tmp / uuid.uuid4().hex, e.size)
                for e in manifest
                if e.ref is None
            }
            backend.fetch_blobs(
                [BlobDownload(digest=h, dest=str(d), size=n) for h, (d, n) in plan.items()]
            )
            for h, (dest, _) in plan.items():
                if md5_file(dest)[0] != h:
                    unreadable.append(v.id)
                    break
                dest.unlink()
        except Exception:  # noqa: BLE001 - any failure to read back counts, and is reported
            unreadable.append(v.id)
    return versions, unreadable


def rolling_restart(
    at: tuple[str, str], replicas: list[Replica]
) -> list[tuple[str, Callable[[], None]]]:
    """Gate steps for a rolling restart of two replicas: before the first request whose path
    contains ``at[0]``, the first replica is killed (and started again while the log goes on);
    before the first containing ``at[1]``, once the first is up again, the second."""

    def first() -> None:
        replicas[0].kill_and_restart_in_background()

    def second() -> None:
        replicas[0].wait_up()
        replicas[1].kill_and_restart_in_background()

    return [(at[0], first), (at[1], second)]
