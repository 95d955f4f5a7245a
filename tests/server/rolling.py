"""Restarting servers under a log, for ``tests/server/test_resilience.py`` and
``benchmarks/restart.py``.

* :class:`Balancer`: a TCP load balancer on loopback, as in front of replicas in production:
  each new connection goes to the next replica that accepts it; when a replica dies, the
  connections it carried break. Its tripwires kill a replica just after a named request has
  reached it (:func:`rolling_restart`): the kills land at known points of the log, with a
  request in flight, never after a sleep.
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

from cairn.backend.base import BlobDownload, BlobUpload
from cairn.backend.http import HttpBackend
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import hex_to_b64, md5_file, stored_blob
from cairn.records import VersionRecord, VersionSpec
from tests import backends


class Balancer:
    """Spreads connections over loopback ``ports`` (round robin, skipping refusals; only to
    ``pin`` when set).

    ``tripwires`` are ``(bytes, action)`` pairs, fired in order: the first chunk a client sends
    that holds the bytes (a request line, say) is passed on to its replica, and then
    ``action(port of that replica)`` runs, so a replica can be killed while it holds a request.
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.pin: int | None = None
        self.tripwires: list[tuple[bytes, Callable[[int], None]]] = []
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
        ports = [self.pin] if self.pin is not None else self.ports
        for i in range(len(ports)):
            port = ports[(first + i) % len(ports)]
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
        self._pump(client, upstream, port)

    def _pump(self, src: socket.socket, dst: socket.socket, port: int | None = None) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
                if port is not None:
                    self._trip(data, port)
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

    def _trip(self, data: bytes, port: int) -> None:
        with self._lock:
            if not self.tripwires or self.tripwires[0][0] not in data:
                return
            _, action = self.tripwires.pop(0)
        action(port)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for s in list(self._open):
                with contextlib.suppress(OSError):
                    s.close()


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
        folder.mkdir(parents=True, exist_ok=True)
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


def rolling_restart(balancer: Balancer, replicas: list[Replica], at: tuple[bytes, bytes]) -> None:
    """Arm ``balancer`` for a rolling restart of two replicas under a log.

    When the first request holding ``at[0]`` reaches a replica, that replica is killed with
    the request in its hands and started again in the background, and new connections go to
    the other. When the first holding ``at[1]`` reaches that other one (the only one left
    with connections), it is killed the same way, once the first is back up to take over.
    """
    by_port = {r.port: r for r in replicas}
    killed: list[Replica] = []

    def first(port: int) -> None:
        victim = by_port[port]
        victim.kill_and_restart_in_background()
        killed.append(victim)
        balancer.pin = next(r.port for r in replicas if r is not victim)

    def second(port: int) -> None:
        back = killed[0]
        back.wait_up()
        victim = by_port[port]
        assert victim is not back, "new connections were pinned to the other replica"
        victim.kill_and_restart_in_background()
        killed.append(victim)
        balancer.pin = back.port

    balancer.tripwires = [(at[0], first), (at[1], second)]
