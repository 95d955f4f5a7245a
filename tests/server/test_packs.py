"""Small files through a server: a few requests per thousands of blobs, each byte verified,
and nobody reads a byte of a pack they may not read."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.backend.base import BlobDownload, BlobUpload
from cairn.core.db import models as m
from cairn.errors import BlobNotFoundError, DigestMismatchError, PermissionDeniedError
from cairn.manifest.packstream import encode_header, read_header
from tests.server.conftest import Server, log_version
from tests.server.test_s3_transfers import watch

KINDS = ["local-files", "local-packs", "s3-packs"]


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest, make: Any) -> Server:
    tuning = {"pack_threshold": 4096, "pack_target": 64 * 1024}
    if request.param == "s3-packs":
        s3 = request.getfixturevalue("s3")
        return make(  # type: ignore[no-any-return]
            store_uri=f"s3://{s3.new_bucket()}/cairn", store_options=s3.store_options(), **tuning
        )
    return make(packs=request.param == "local-packs", **tuning)  # type: ignore[no-any-return]


def small_files(n: int, seed: int = 0) -> dict[str, bytes]:
    return {f"d{i % 7}/f{i:04}.bin": os.urandom(300 + (i * 37 + seed) % 700) for i in range(n)}


def test_many_small_files_go_up_and_down_in_a_few_requests(server: Server, tmp_path: Path) -> None:
    alice = server.backend("alice")
    seen = watch(alice)
    files = small_files(600)
    log_version(alice, tmp_path, "alice", "p", "small", files)
    uploads = [u for meth, u, _ in seen if meth in ("PUT", "POST") and "blobs" in u]
    # 600 blobs of about 650 bytes in 64 KiB pack streams, and the missing-blobs question
    # (the manifest is stored inside the server).
    packs = -(-sum(len(b) for b in files.values()) // (64 * 1024))
    assert [u for u in uploads if u != "/blobs/missing"] == ["/blobs/packs"] * packs
    assert not [u for meth, u, _ in seen if meth == "PUT"]

    seen.clear()
    digests = {hashlib.md5(b).hexdigest(): b for b in files.values()}
    dest = tmp_path / "dl"
    dest.mkdir()
    plan = [BlobDownload(digest=d, dest=str(dest / d), size=len(b)) for d, b in digests.items()]
    alice.fetch_blobs(plan)
    for d, b in digests.items():
        assert (dest / d).read_bytes() == b
    gets = [(meth, u) for meth, u, _ in seen]
    assert len(gets) <= 12, gets  # a plan, and a handful of batched or ranged reads


def test_a_changed_file_rejects_its_whole_pack_and_names_the_file(
    server: Server, tmp_path: Path
) -> None:
    alice = server.backend("alice")
    blobs = []
    for i in range(20):
        f = tmp_path / f"f{i}"
        data = os.urandom(500)
        f.write_bytes(data)
        blobs.append(BlobUpload(digest=hashlib.md5(data).hexdigest(), path=str(f), size=500))
    Path(blobs[13].path).write_bytes(os.urandom(500))  # changed after it was hashed
    with pytest.raises(DigestMismatchError, match="f13"):
        alice.upload_blobs(blobs)
    assert sorted(alice.missing_blobs([b.digest for b in blobs])) == sorted(b.digest for b in blobs)
    with server.state.db.read() as s:
        assert s.query(m.Blob).count() == 0
    assert list(server.state.store.iter_packs()) == []


def test_pack_stream_requests_are_checked(server: Server) -> None:
    c = server.client("alice")
    assert c.post("/api/v1/blobs/packs", content=b"garbage").status_code == 422
    data = b"x" * 100
    body = encode_header([(hashlib.md5(data).hexdigest(), 100)]) + data[:50]
    r = c.post("/api/v1/blobs/packs", content=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    huge = encode_header([(hashlib.md5(b"%d" % i).hexdigest(), 1) for i in range(10_001)])
    assert c.post("/api/v1/blobs/packs", content=huge).status_code == 422
    assert server.client().post("/api/v1/blobs/packs", content=body).status_code == 401


def test_nobody_reads_what_they_may_not_through_a_pack(server: Server, tmp_path: Path) -> None:
    """Bob logs one of alice's files (so dedups into her pack): he gets exactly that one."""
    alice, bob = server.backend("alice"), server.backend("bob")
    files = small_files(30)
    log_version(alice, tmp_path, "alice", "private", "ds", files)
    shared = files["d0/f0000.bin"]
    log_version(bob, tmp_path, "bob", "mine", "ds", {"x.bin": shared})
    digests = [hashlib.md5(b).hexdigest() for b in files.values()]
    c = server.client("bob")
    r = c.post("/api/v1/blobs/read", json={"digests": digests})
    assert r.status_code == 404
    r = c.post("/api/v1/blobs/read", json={"digests": [hashlib.md5(shared).hexdigest()]})
    assert r.status_code == 200
    body = io.BytesIO(r.content)
    assert read_header(body, max_blobs=1) == [(hashlib.md5(shared).hexdigest(), len(shared))]
    assert body.read() == shared
    if server.state.presigned:
        plan = c.post("/api/v1/blobs/downloads", json={"digests": digests}).json()
        assert plan["downloads"] == {}
        (only,) = plan["ranges"]
        assert only["blobs"] == [[hashlib.md5(shared).hexdigest(), len(shared)]]
        wider = dict(only["headers"])
        start = int(wider["Range"].split("=")[1].split("-")[0])
        wider["Range"] = f"bytes=0-{start + 100_000}"
        assert httpx.get(only["url"], headers=wider).status_code == 403
        assert httpx.get(only["url"], headers=only["headers"]).content == shared
    with pytest.raises(BlobNotFoundError):
        size = len(files["d1/f0001.bin"])
        bob.fetch_blobs([BlobDownload(digest=digests[1], dest=str(tmp_path / "no"), size=size)])


def test_storage_reclaim_is_for_admins_and_frees_space(server: Server, tmp_path: Path) -> None:
    alice = server.backend("alice")
    v = log_version(alice, tmp_path, "alice", "p", "ds", small_files(50))
    alice.delete_version(v.id, delete_aliases=True)
    c = server.client("alice")
    r = c.post("/api/v1/gc/storage", json={"grace_seconds": 0})
    assert r.status_code == 403
    with pytest.raises(PermissionDeniedError):
        alice._json("POST", "/gc/storage", json={"grace_seconds": 0})
    report = server.client("root").post("/api/v1/gc/storage", json={"grace_seconds": 0}).json()
    assert report["blobs_deleted"] == 51  # the files and the manifest
    with server.state.db.read() as s:
        assert s.query(m.Blob).count() == 0
    assert list(server.state.store.iter_digests()) == []


def test_the_server_announces_its_pack_sizes(server: Server) -> None:
    info = server.client().get("/api/v1/server").json()
    assert info["packs"]["threshold"] == 4096 and info["packs"]["target"] == 64 * 1024
    assert info["packs"]["stored_in_packs"] == (server.state.service.packs.enabled)
