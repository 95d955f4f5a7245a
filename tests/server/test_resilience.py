"""A restart never fails a log: retries, idempotent commits, and errors a person can act on.

* in process (a tiny ASGI app, the server app): what is retried and what is not, Retry-After,
  the request id in errors, commit keys, integrity errors that name files, redacted URLs;
* real servers: one killed at a named point (after its commit transaction, before its answer)
  and restarted on the same port, database and store; a rolling restart of two replicas on
  PostgreSQL + SeaweedFS during a log of many files and during a log of a large one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.backend.base import BlobDownload
from cairn.backend.http import IDEMPOTENCY_HEADER, HttpBackend
from cairn.cache import ObjectCache
from cairn.config import Settings
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    IntegrityError,
    ServerError,
    StorageError,
)
from cairn.manifest import Manifest
from cairn.records import VersionSpec
from cairn.sdk import transfer
from tests import backends
from tests.processes import free_port, free_ports
from tests.server import rolling
from tests.server.asgi import SyncASGITransport
from tests.server.conftest import Server, log_version

BASE = "http://cairn.test"


# -- a tiny server that answers from a script ----------------------------------------------------
class Scripted:
    """An ASGI app answering its n-th request with ``script[n]`` (status, headers, JSON body);
    it records when each request arrived and what it was. ``GET /server`` is answered aside."""

    def __init__(self, script: list[tuple[int, dict[str, str], Any]]) -> None:
        self.script = list(script)
        self.seen: list[tuple[float, str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        if scope["path"].endswith("/server"):
            # What the client asks once before moving bytes: answered, and not part of the script.
            status, headers, body = 200, {}, {"version": "scripted"}
        else:
            self.seen.append((time.monotonic(), scope["method"], scope["path"]))
            status, headers, body = self.script[min(len(self.seen), len(self.script)) - 1]
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")]
                + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": raw})


def _error(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"scripted {code}", "details": {}}}


def scripted_backend(
    app: Scripted, transport: httpx.BaseTransport | None = None, **env: str
) -> HttpBackend:
    settings = Settings.resolve(env={"CAIRN_CONFIG": "/nonexistent", **env}, base_url=BASE)
    return HttpBackend(settings, transport=transport or SyncASGITransport(app))


class Dropping(httpx.BaseTransport):
    """Raises ``error`` for the first ``times`` requests (a connection that broke), then
    passes requests on."""

    def __init__(self, inner: httpx.BaseTransport, error: httpx.HTTPError, times: int) -> None:
        self.inner, self.error, self.times = inner, error, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.times > 0:
            self.times -= 1
            raise self.error
        return self.inner.handle_request(request)


def test_503_and_429_are_retried_and_retry_after_is_honoured() -> None:
    app = Scripted(
        [
            (503, {"Retry-After": "1"}, _error("not_ready")),
            (429, {"Retry-After": "0"}, _error("too_many_requests")),
            (200, {}, {"entity": "ann"}),
        ]
    )
    backend = scripted_backend(app)
    assert backend.default_entity() == "ann"
    assert len(app.seen) == 3
    # Our own first wait is at most half a second: the server asked for one.
    assert app.seen[1][0] - app.seen[0][0] >= 1.0


def test_a_request_that_keeps_failing_raises_the_servers_error_with_its_request_id() -> None:
    app = Scripted([(503, {"X-Request-Id": "req-42"}, _error("not_ready"))])
    backend = scripted_backend(app, CAIRN_HTTP_RETRIES="2")
    with pytest.raises(ServerError) as caught:
        backend.default_entity()
    assert len(app.seen) == 3  # the first try and two retries
    assert "req-42" in str(caught.value)
    assert caught.value.details["request_id"] == "req-42"


def test_no_retries_when_turned_off() -> None:
    app = Scripted([(503, {}, _error("not_ready")), (200, {}, {"entity": "ann"})])
    with pytest.raises(ServerError):
        scripted_backend(app, CAIRN_HTTP_RETRIES="0").default_entity()
    assert len(app.seen) == 1


def test_a_502_is_retried_only_where_repeating_is_harmless() -> None:
    app = Scripted([(502, {}, _error("storage")), (200, {}, {"missing": []})])
    assert scripted_backend(app).missing_blobs(["0" * 32]) == []  # idempotent: asked again
    assert len(app.seen) == 2

    once = Scripted([(502, {}, _error("storage")), (200, {}, {})])
    with pytest.raises(StorageError):  # creating a run might have happened: not repeated
        scripted_backend(once).create_run("ann", "p", run_id="r1")
    assert len(once.seen) == 1


def test_a_dropped_connection_is_retried_for_reads_and_not_for_a_create() -> None:
    app = Scripted([(200, {}, {"entity": "ann"})])
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    backend = scripted_backend(app, Dropping(SyncASGITransport(app), dropped, times=2))
    assert backend.default_entity() == "ann"

    created = Scripted([(200, {}, {})])
    once = scripted_backend(created, Dropping(SyncASGITransport(created), dropped, times=1))
    with pytest.raises(StorageError, match="cannot reach"):
        once.create_run("ann", "p", run_id="r1")
    assert created.seen == []


def test_a_refused_connection_is_retried_for_any_request() -> None:
    run: dict[str, Any] = {
        "id": "r1",
        "entity": "ann",
        "project": "p",
        "name": "r1",
        "job_type": None,
        "group": None,
        "config": {},
        "state": "running",
        "created_at": "2026-12-04T15:00:00+00:00",
    }
    app = Scripted([(200, {}, run)])
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    backend = scripted_backend(app, Dropping(SyncASGITransport(app), refused, times=2))
    assert backend.create_run("ann", "p", run_id="r1").id == "r1"  # it never left: sent again
    assert [m for _, m, _ in app.seen] == ["POST"]


# -- commit keys, in process -----------------------------------------------------------------------
def _begin_and_upload(server: Server, tmp: Path, name: str) -> tuple[HttpBackend, str, Manifest]:
    backend = server.backend("alice")
    first = log_version(backend, tmp, "alice", "p", name, {"a.txt": b"first"})
    assert first.index == 0
    _, raw = backend.get_manifest(first.id)
    vid = backend.begin_version(
        VersionSpec(entity="alice", project="p", collection=name, type="dataset")
    )
    return backend, vid, Manifest.from_bytes(raw)


def test_a_commit_repeated_with_its_key_answers_with_the_version_it_made(
    server: Server, tmp_path: Path
) -> None:
    backend = server.backend("alice")
    made = log_version(backend, tmp_path, "alice", "p", "c", {"a.txt": b"one"})
    _, raw = backend.get_manifest(made.id)
    vid = backend.begin_version(
        VersionSpec(entity="alice", project="p", collection="c", type="dataset")
    )
    manifest = Manifest.from_bytes(raw).copy()
    entry = next(iter(manifest)).with_changes(path="b.txt")
    manifest.add(entry)
    body = {"aliases": ["best"], "tags": [], "manifest": manifest.to_json()}
    client = server.client("alice")
    url = f"/api/v1/versions/{vid}/commit"
    first = client.post(url, json=body, headers={IDEMPOTENCY_HEADER: "k1"})
    assert first.status_code == 200, first.text
    again = client.post(url, json=body, headers={IDEMPOTENCY_HEADER: "k1"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] == vid
    assert again.json()["index"] == 1 and "best" in again.json()["aliases"]
    # Another key is another commit: that version is no longer PENDING.
    other = client.post(url, json=body, headers={IDEMPOTENCY_HEADER: "k2"})
    assert other.status_code == 409
    # Nothing was committed twice.
    versions, _ = backend.list_versions("alice", "p", "c", limit=10)
    assert [v.version for v in versions] == ["v0", "v1"]


def test_a_deduplicated_commit_repeated_with_its_key_answers_with_the_latest(
    server: Server, tmp_path: Path
) -> None:
    _, vid, manifest = _begin_and_upload(server, tmp_path, "d")
    client = server.client("alice")
    url = f"/api/v1/versions/{vid}/commit-unchanged"
    body = {"digest": manifest.digest(), "aliases": [], "tags": []}
    first = client.post(url, json=body, headers={IDEMPOTENCY_HEADER: "k"})
    assert first.json()["version"]["deduplicated"] is True
    again = client.post(url, json=body, headers={IDEMPOTENCY_HEADER: "k"})
    assert again.status_code == 200, again.text
    assert again.json()["version"]["id"] == first.json()["version"]["id"]
    assert again.json()["version"]["deduplicated"] is True
    without = client.post(url, json=body)  # no key: the pending version is gone
    assert without.status_code == 404


def test_a_commit_key_replayed_by_another_user_answers_no_version(
    server: Server, tmp_path: Path
) -> None:
    _, vid, manifest = _begin_and_upload(server, tmp_path, "e")
    body = {"aliases": [], "tags": [], "manifest": manifest.to_json()}
    url = f"/api/v1/versions/{vid}/commit"
    headers = {IDEMPOTENCY_HEADER: "alices-key"}
    assert server.client("alice").post(url, json=body, headers=headers).status_code == 200
    bob = server.client("bob").post(url, json=body, headers=headers)
    assert bob.status_code in (403, 404), bob.text
    assert "error" in bob.json() and "digest" not in bob.json()


@pytest.mark.parametrize("key", ["", "k" * 129, "with space"])
def test_a_malformed_commit_key_is_refused(server: Server, tmp_path: Path, key: str) -> None:
    _, vid, manifest = _begin_and_upload(server, tmp_path, "f")
    body = {"aliases": [], "tags": [], "manifest": manifest.to_json()}
    answer = server.client("alice").post(
        f"/api/v1/versions/{vid}/commit", json=body, headers={IDEMPOTENCY_HEADER: key}
    )
    assert answer.status_code == 422


# -- integrity errors name files -------------------------------------------------------------------
def _download(backend: HttpBackend, manifest: Manifest, tmp: Path) -> None:
    settings = Settings.resolve(
        env={"CAIRN_CONFIG": "/nonexistent"}, data_dir=tmp / "d", cache_dir=tmp / "cache"
    )
    transfer.download(
        manifest,
        list(manifest.entries),
        tmp / "out",
        backend=backend,
        cache=ObjectCache(tmp / "cache"),
        settings=settings,
        artifact="alice/p/art:v0",
    )


def _packed_version(server: Server, tmp: Path) -> tuple[HttpBackend, Manifest, Path]:
    backend = server.backend("alice")
    files = {"keep/a.txt": b"alpha" * 10, "data/b.txt": b"bravo" * 10}
    made = log_version(backend, tmp, "alice", "p", "art", files)
    _, raw = backend.get_manifest(made.id)
    # The server fixture's folder store (blobs0), which keeps small blobs in packs.
    (pack,) = [p for p in (server.tmp / "blobs0" / "packs").rglob("*") if p.is_file()]
    return backend, Manifest.from_bytes(raw), pack


def test_flipped_bytes_in_a_servers_pack_name_the_files(server: Server, tmp_path: Path) -> None:
    backend, manifest, pack = _packed_version(server, tmp_path)
    data = bytearray(pack.read_bytes())
    data[data.index(b"bravo") + 3] ^= 0xFF  # inside data/b.txt's bytes
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    with pytest.raises(DigestMismatchError) as caught:
        _download(backend, manifest, tmp_path)
    assert "'data/b.txt'" in str(caught.value) and "alice/p/art:v0" in str(caught.value)
    assert caught.value.details["paths"] == ["data/b.txt"]


def test_a_cut_pack_on_a_folder_server_is_an_integrity_error_naming_the_files(
    server: Server, tmp_path: Path
) -> None:
    backend, manifest, pack = _packed_version(server, tmp_path)
    pack.chmod(0o644)
    with open(pack, "r+b") as f:
        f.truncate(10)
    with pytest.raises(IntegrityError) as caught:  # not "cannot reach the Cairn server"
        _download(backend, manifest, tmp_path)
    assert not isinstance(caught.value, StorageError)
    assert sorted(caught.value.details["paths"]) == ["data/b.txt", "keep/a.txt"]
    assert "damaged" in str(caught.value)


def test_an_integrity_error_without_a_blob_it_names_is_passed_on_as_it_is(tmp_path: Path) -> None:
    class Broken:
        def fetch_blobs(self, blobs: list[BlobDownload], progress: Any = None) -> set[str]:
            raise DigestMismatchError("no digest given")

    manifest = Manifest.from_json(
        {
            "version": 1,
            "storagePolicy": "wandb-storage-policy-v1",
            "storagePolicyConfig": {},
            "contents": {"a.txt": {"digest": "rL0Y20zC+Fzt72VPzMSk2A==", "size": 3}},
        }
    )
    with pytest.raises(DigestMismatchError, match=r"^no digest given$"):
        _download(Broken(), manifest, tmp_path)  # type: ignore[arg-type]


# -- presigned URLs never reach logs ---------------------------------------------------------------
def test_httpx_request_logs_lose_their_query_strings(caplog: pytest.LogCaptureFixture) -> None:
    app = Scripted([(200, {}, {"entity": "ann"})])
    scripted_backend(app)  # installs the filter
    signed = "http://store.test/bucket/key?X-Amz-Credential=AKIA&X-Amz-Signature=s3cr3t"
    with caplog.at_level(logging.INFO, logger="httpx"):
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))).get(signed)
    assert "HTTP Request: GET http://store.test/bucket/key?[redacted]" in caplog.text
    assert "s3cr3t" not in caplog.text and "AKIA" not in caplog.text


def test_a_failing_presigned_request_logs_and_raises_no_signature(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Scripted([(200, {}, {"entity": "ann"})])
    backend = scripted_backend(app, CAIRN_HTTP_RETRIES="1")
    dead = f"http://127.0.0.1:{free_port()}/bucket/key?X-Amz-Signature=s3cr3t"
    with caplog.at_level(logging.INFO), pytest.raises(StorageError) as caught:
        backend._send("GET", dead, direct=True)
    assert "retry 1 of 1" in caplog.text  # it was retried, and logged
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in str(caught.value)


def test_a_stores_xml_error_becomes_a_sentence() -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
        "<Message>The specified key does not exist.</Message><Key>objects/ab</Key></Error>"
    )
    store = httpx.MockTransport(lambda r: httpx.Response(404, text=xml))
    app = Scripted([(200, {}, {"entity": "ann"})])
    backend = scripted_backend(app)
    backend._direct_client = httpx.Client(transport=store)
    with pytest.raises(BlobNotFoundError) as caught:
        backend._send("GET", "http://store.test/b/k?sig=1", direct=True)
    assert str(caught.value) == (
        "the blob store has no such object (NoSuchKey: The specified key does not exist.)"
    )


# -- real servers, killed --------------------------------------------------------------------------
def _killed_at(
    point: str, tmp: Path, db: str, store: str, env: dict[str, str], files: dict[str, Path]
) -> tuple[Any, int]:
    """Log ``files`` through a server that dies at fault ``point`` and is started again on
    the same port, database and store; check the log's one version reads back. Returns the
    version and how many retries the client made."""
    port = free_port()
    doomed = backends.start_server(
        tmp / "a", db, store, port=port, env={**env, "CAIRN_FAULT_POINT": point}
    )
    key = backends.make_user(db, f"u{port}")
    backend = HttpBackend(
        Settings.resolve(env={"CAIRN_CONFIG": "/nonexistent"}, base_url=doomed.url, api_key=key)
    )
    made: dict[str, Any] = {}

    def log() -> None:
        try:
            made["version"] = rolling.log_files(backend, f"u{port}", "p", "c", files)
        except Exception as exc:  # noqa: BLE001 - reported below
            made["error"] = exc

    with rolling.RetryCount().watching() as retries:
        thread = threading.Thread(target=log)
        thread.start()
        # It died at the named point of this log, not after some sleep.
        assert doomed.proc.wait(120) == 137
        again = backends.start_server(tmp / "b", db, store, port=port, env=env)
        try:
            thread.join(300)
            assert not thread.is_alive()
            assert "error" not in made, made.get("error")
            version = made["version"]
            versions, unreadable = rolling.read_back(backend, f"u{port}", "p", "c", tmp)
            assert [v.id for v in versions] == [version.id]
            assert unreadable == []
            return version, retries.count
        finally:
            backend.close()
            backends.stop_server(again.proc)


def test_a_server_killed_after_committing_is_restarted_and_the_log_succeeds(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    files = rolling.write_files(tmp_path / "src", 200)
    version, retries = _killed_at(
        "server.commit.committed", tmp_path, db, (tmp_path / "blobs").as_uri(), {}, files
    )
    assert retries >= 1
    # The retried commit found the version its first attempt made: reported as made, once.
    assert (version.version, version.file_count, version.deduplicated) == ("v0", 200, False)


def _s3_env(s3: Any) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "CAIRN_S3_ENDPOINT_URL": s3.endpoint_url,
        # Blobs over 32 MiB go in resumable parts (S3 itself would take 5 GiB in one PUT), so
        # a 64 MiB file exercises the multipart requests these tests kill servers during.
        "CAIRN_S3_SINGLE_PUT_MAX": str(32 * 2**20),
    }


@pytest.mark.slow
def test_a_server_killed_between_publishing_and_recording_a_large_upload_gets_it_again(
    postgres_url: str, s3: Any, tmp_path: Path
) -> None:
    files = rolling.write_files(tmp_path / "src", 0, big=64 * 2**20 + 1)
    store = f"s3://{s3.new_bucket()}/killed"
    point = "server.multipart.published"  # the store's upload is used up, the blob unrecorded
    version, retries = _killed_at(point, tmp_path, postgres_url, store, _s3_env(s3), files)
    assert retries >= 1
    assert (version.version, version.size) == ("v0", 64 * 2**20 + 1)


@pytest.fixture
def replicas(postgres_url: str, s3: Any, tmp_path: Path) -> Any:
    env = _s3_env(s3)
    store = f"s3://{s3.new_bucket()}/rolling"
    pair = [
        rolling.Replica(tmp_path / f"r{i}", postgres_url, store, env, port)
        for i, port in enumerate(free_ports(2))
    ]
    try:
        for r in pair:
            r.start()
        yield pair
    finally:
        for r in pair:
            r.stop()


def _rolling_log(
    replicas: list[rolling.Replica],
    postgres_url: str,
    tmp_path: Path,
    files: dict[str, Path],
    at: tuple[bytes, bytes],
    user: str,
) -> tuple[Any, int]:
    balancer = rolling.Balancer([r.port for r in replicas])
    rolling.rolling_restart(balancer, replicas, at)
    key = backends.make_user(postgres_url, user)
    settings = Settings.resolve(
        env={"CAIRN_CONFIG": "/nonexistent"}, base_url=balancer.url, api_key=key
    )
    backend = HttpBackend(settings)
    try:
        with rolling.RetryCount().watching() as retries:
            version = rolling.log_files(backend, user, "p", "c", files)
        # Both replicas were killed holding a request of this log, and came back.
        assert balancer.tripwires == []
        for r in replicas:
            r.wait_up()
        assert [r.starts for r in replicas] == [2, 2]
        assert retries.count >= 2
        versions, unreadable = rolling.read_back(backend, user, "p", "c", tmp_path)
        assert [v.id for v in versions] == [version.id]
        assert unreadable == []
        assert version.file_count == len(files)
        return version, retries.count
    finally:
        backend.close()
        balancer.close()


@pytest.mark.slow
def test_a_rolling_restart_during_a_log_of_many_files_loses_and_fails_nothing(
    replicas: list[rolling.Replica], postgres_url: str, tmp_path: Path
) -> None:
    files = rolling.write_files(tmp_path / "src", 2_000)
    # One replica dies holding the question what is missing, the other holding the commit.
    at = (b"/blobs/missing HTTP", b"/commit HTTP")
    _rolling_log(replicas, postgres_url, tmp_path, files, at, "many")


@pytest.mark.slow
def test_a_rolling_restart_during_a_log_of_a_large_file_loses_and_fails_nothing(
    replicas: list[rolling.Replica], postgres_url: str, tmp_path: Path
) -> None:
    # Just over 64 MiB, the part size: a resumable upload of two parts.
    files = rolling.write_files(tmp_path / "src", 0, big=64 * 2**20 + 1)
    # One replica dies holding the request for a part's URL, the other holding the completion.
    at = (b"/parts HTTP", b"/complete HTTP")
    _rolling_log(replicas, postgres_url, tmp_path, files, at, "large")
