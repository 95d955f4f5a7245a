"""Proof of possession (issue 13): knowing a blob's MD5 gives nothing.

A caller may name a blob in a commit only if it can read a version that holds it or uploaded
its bytes itself; reads are for blobs of readable versions only. Another project's blob and a
digest nobody has look the same, by status, body and the queries run to answer. Re-uploading
bytes the store has proves possession without storing them twice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from cairn.backend.base import BlobUpload
from cairn.core.db import models as m
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import md5_b64
from cairn.manifest.packstream import encode_header
from cairn.records import VersionSpec
from tests.server.conftest import Server, error_of, log_version
from tests.server.kinds import MiB, kind_server, kinds_bucket, make_kind

__all__ = ["kind_server", "kinds_bucket", "make_kind"]

SECRET = b"alice's private bytes, " * 3  # 69 bytes: a small blob, in a pack
MID = 2000  # a blob that goes by PUT (presigned single PUT on S3)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def random_digest() -> str:
    return os.urandom(16).hex()


def begin(client: httpx.Client, entity: str, project: str, collection: str = "c") -> str:
    spec = VersionSpec(entity=entity, project=project, collection=collection, type="dataset")
    r = client.post("/api/v1/versions", json=spec.to_wire())
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def commit(client: httpx.Client, version_id: str, files: dict[str, bytes]) -> httpx.Response:
    """Commit a manifest naming ``files`` by digest and size, uploading nothing."""
    manifest = Manifest(
        ManifestEntry(path=p, digest=md5_b64(d), size=len(d)) for p, d in files.items()
    )
    return client.post(
        f"/api/v1/versions/{version_id}/commit", json={"manifest": manifest.to_json()}
    )


def same_answer(a: httpx.Response, b: httpx.Response, a_digest: str, b_digest: str) -> None:
    """Equal status and equal body once each names its own digest the same way."""
    assert a.status_code == b.status_code
    assert a.text.replace(a_digest, "D") == b.text.replace(b_digest, "D")


def upload(server: Server, user: str, data: bytes, tmp: Path) -> None:
    """Upload ``data`` the way the SDK does (pack, PUT, presigned PUT or multipart by size)."""
    f = tmp / f"up-{md5(data)}"
    f.write_bytes(data)
    backend = server.backend(user)
    backend.upload_blobs([BlobUpload(digest=md5(data), path=str(f), size=len(data))])


def stored_objects(server: Server) -> tuple[list[str], list[str]]:
    """Every blob object and pack the store holds (by name)."""
    store = server.state.store
    return sorted(store.iter_digests()), sorted(p for p, _ in store.iter_packs())


@contextmanager
def counting(server: Server) -> Iterator[list[str]]:
    """The SQL statements the server's database runs inside the block."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = server.state.db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def secret(kind_server: Server, tmp_path: Path) -> str:
    """Alice's private file, logged in alice/private; its digest."""
    log_version(kind_server.backend("alice"), tmp_path, "alice", "private", "c", {"s.txt": SECRET})
    return md5(SECRET)


def test_a_commit_naming_anothers_digest_is_refused_as_missing(
    kind_server: Server, secret: str
) -> None:
    bob = kind_server.client("bob")
    stolen = commit(bob, begin(bob, "bob", "mine"), {"s.txt": SECRET})
    nobodys = os.urandom(69)
    invented = commit(bob, begin(bob, "bob", "mine"), {"s.txt": nobodys})
    assert stolen.status_code == 404
    assert error_of(stolen)["code"] == "blob_not_found"
    assert error_of(stolen)["details"] == {"missing": [secret]}
    same_answer(stolen, invented, secret, md5(nobodys))
    # Nothing became visible: bob has no version, and still cannot read the bytes.
    assert bob.get(f"/api/v1/blobs/{secret}").status_code == 404


def test_anothers_blob_reads_like_a_digest_nobody_has(kind_server: Server, secret: str) -> None:
    bob = kind_server.client("bob")
    nobodys = random_digest()
    same_answer(
        bob.get(f"/api/v1/blobs/{secret}"), bob.get(f"/api/v1/blobs/{nobodys}"), secret, nobodys
    )
    assert bob.get(f"/api/v1/blobs/{secret}").status_code == 404
    read = bob.post("/api/v1/blobs/read", json={"digests": [secret]})
    assert read.status_code == 404
    same_answer(read, bob.post("/api/v1/blobs/read", json={"digests": [nobodys]}), secret, nobodys)
    if kind_server.state.presigned:
        plan = bob.post("/api/v1/blobs/downloads", json={"digests": [secret, nobodys]})
        assert plan.json() == {"downloads": {}, "ranges": []}
    # Alice reads her own.
    assert kind_server.client("alice").get(f"/api/v1/blobs/{secret}").content == SECRET


def test_missing_tells_nothing_of_other_projects(kind_server: Server, secret: str) -> None:
    nobodys = random_digest()
    ask = {"digests": [secret, nobodys]}
    bob = kind_server.client("bob").post("/api/v1/blobs/missing", json=ask)
    assert bob.json() == {"missing": [secret, nobodys]}
    alice = kind_server.client("alice").post("/api/v1/blobs/missing", json=ask)
    assert alice.json() == {"missing": [nobodys]}


def test_answers_run_the_same_queries_for_anothers_blob_and_nobodys(
    kind_server: Server, secret: str
) -> None:
    """No early exit: the work done (hence the time taken) does not depend on whether the
    digest is another project's."""
    bob = kind_server.client("bob")
    nobodys = random_digest()
    vid = begin(bob, "bob", "mine")
    calls = [
        lambda d: bob.post("/api/v1/blobs/missing", json={"digests": [d]}),
        lambda d: bob.get(f"/api/v1/blobs/{d}"),
        lambda d: bob.post("/api/v1/blobs/read", json={"digests": [d]}),
    ]
    for call in calls:
        with counting(kind_server) as theirs:
            call(secret)
        with counting(kind_server) as none:
            call(nobodys)
        assert len(theirs) == len(none) > 0
        assert [s.split()[0] for s in theirs] == [s.split()[0] for s in none]
    data_nobodys = os.urandom(len(SECRET))
    with counting(kind_server) as theirs:
        commit(bob, vid, {"s.txt": SECRET})
    with counting(kind_server) as none:
        commit(bob, vid, {"s.txt": data_nobodys})
    assert len(theirs) == len(none)


@pytest.mark.parametrize("size", [len(SECRET), MID, 6 * MiB], ids=["pack", "put", "multipart"])
def test_uploading_the_bytes_proves_possession_and_stores_one_copy(
    kind_server: Server, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    digest = md5(data)
    log_version(kind_server.backend("alice"), tmp_path, "alice", "private", "c", {"f": data})
    with kind_server.state.db.read() as s:
        row_before = s.get_one(m.Blob, digest)
        where_before = (row_before.pack_id, row_before.pack_offset, row_before.size)
    objects_before = stored_objects(kind_server)

    bob = kind_server.backend("bob")
    assert bob.missing_blobs([digest]) == [digest]
    upload(kind_server, "bob", data, tmp_path)
    assert bob.missing_blobs([digest]) == []
    # Verified, recorded as bob's, and not stored again: the same objects, the same row.
    assert stored_objects(kind_server) == objects_before
    with kind_server.state.db.read() as s:
        row = s.get_one(m.Blob, digest)
        assert (row.pack_id, row.pack_offset, row.size) == where_before
        assert s.get(m.BlobUpload, ("bob", digest)) is not None
    r = commit(
        kind_server.client("bob"), begin(kind_server.client("bob"), "bob", "mine"), {"f": data}
    )
    assert r.status_code == 200, r.text
    assert kind_server.client("bob").get(f"/api/v1/blobs/{digest}").content == data


def test_uploading_other_bytes_under_anothers_digest_proves_nothing(
    kind_server: Server, secret: str
) -> None:
    bob = kind_server.client("bob")
    wrong = b"x" * len(SECRET)
    r = bob.put(f"/api/v1/blobs/{secret}", content=wrong)
    assert r.status_code == 422
    assert error_of(r)["code"] == "digest_mismatch"
    pack = encode_header([(secret, len(wrong))]) + wrong
    r = bob.post("/api/v1/blobs/packs", content=pack)
    assert error_of(r)["code"] == "digest_mismatch"
    assert bob.post("/api/v1/blobs/missing", json={"digests": [secret]}).json()["missing"] == [
        secret
    ]
    assert kind_server.client("alice").get(f"/api/v1/blobs/{secret}").content == SECRET


def test_a_pack_stores_only_the_blobs_the_store_lacks(kind_server: Server, secret: str) -> None:
    new = os.urandom(100)
    body = encode_header([(secret, len(SECRET)), (md5(new), len(new))]) + SECRET + new
    r = kind_server.client("bob").post("/api/v1/blobs/packs", content=body)
    assert r.status_code == 200, r.text
    with kind_server.state.db.read() as s:
        old_pack = s.get_one(m.Blob, secret).pack_id
        new_row = s.get_one(m.Blob, md5(new))
        assert new_row.pack_id != old_pack
        if new_row.pack_id is not None:  # the new pack holds the new blob only
            assert s.get_one(m.Pack, new_row.pack_id).size == len(new)
        held = set(s.scalars(select(m.BlobUpload.digest).where(m.BlobUpload.account == "bob")))
    assert held == {secret, md5(new)}


def test_a_team_member_dedups_without_uploading(kind_server: Server, tmp_path: Path) -> None:
    accounts = kind_server.state.accounts
    accounts.create_team("vision")
    accounts.add_member("vision", "alice", "member")
    accounts.add_member("vision", "bob", "viewer")
    data = os.urandom(MID)
    log_version(kind_server.backend("alice"), tmp_path, "vision", "cars", "c", {"f": data})
    bob = kind_server.client("bob")
    assert bob.post("/api/v1/blobs/missing", json={"digests": [md5(data)]}).json() == {
        "missing": []
    }
    # He may read the team's version, so he may name its blob in his own project.
    r = commit(bob, begin(bob, "bob", "mine"), {"copy": data})
    assert r.status_code == 200, r.text
    with kind_server.state.db.read() as s:
        assert s.get(m.BlobUpload, ("bob", md5(data))) is None


def test_a_confirmation_needs_the_callers_own_upload(kind_server: Server, tmp_path: Path) -> None:
    if not kind_server.state.presigned:
        pytest.skip("presigned uploads need an S3 store")
    bob = kind_server.client("bob")
    data = os.urandom(MID)
    blob = {"digest": md5(data), "size": len(data)}
    # Bob plans an upload, and waits for someone else to upload the same bytes ...
    plan = bob.post("/api/v1/blobs/uploads", json={"blobs": [blob]}).json()["uploads"]
    assert [p["digest"] for p in plan] == [md5(data)] and "put" in plan[0]
    upload(kind_server, "alice", data, tmp_path)
    # ... then confirms without sending a byte: refused, and he still does not hold it.
    r = bob.post("/api/v1/blobs/confirm", json={"blobs": [blob]})
    assert r.status_code == 404
    assert error_of(r)["code"] == "blob_not_found"
    assert bob.post("/api/v1/blobs/missing", json={"digests": [md5(data)]}).json()["missing"] == [
        md5(data)
    ]
    # His own PUT of the bytes to the URL he was given is what proves it.
    put = plan[0]["put"]
    sent = httpx.request(put["method"], put["url"], headers=put["headers"], content=data)
    assert sent.status_code == 200
    assert bob.post("/api/v1/blobs/confirm", json={"blobs": [blob]}).status_code == 200
    assert bob.post("/api/v1/blobs/missing", json={"digests": [md5(data)]}).json()["missing"] == []


def test_multipart_uploads_belong_to_one_account(kind_server: Server, tmp_path: Path) -> None:
    if not kind_server.state.presigned:
        pytest.skip("presigned uploads need an S3 store")
    size = 6 * MiB
    blob = {"digest": random_digest(), "size": size}

    def plan(user: str) -> dict[str, Any]:
        r = kind_server.client(user).post("/api/v1/blobs/uploads", json={"blobs": [blob]})
        return dict(r.json()["uploads"][0]["multipart"])

    alices, bobs = plan("alice"), plan("bob")
    assert alices["upload_id"] != bobs["upload_id"]
    assert plan("alice")["upload_id"] == alices["upload_id"]  # resumed, for her alone
    steal = kind_server.client("bob").post(
        f"/api/v1/blobs/{blob['digest']}/complete", json={"upload_id": alices["upload_id"]}
    )
    assert steal.status_code == 404
    parts = kind_server.client("bob").post(
        f"/api/v1/blobs/{blob['digest']}/parts",
        json={
            "upload_id": alices["upload_id"],
            "parts": [{"number": 1, "md5": md5_b64(b"x"), "size": 1}],
        },
    )
    assert parts.status_code == 404


def test_reads_are_for_blobs_of_readable_versions(kind_server: Server, tmp_path: Path) -> None:
    """An upload lets its account commit the blob; reading it takes a version it can read."""
    data = os.urandom(MID)
    upload(kind_server, "bob", data, tmp_path)
    bob = kind_server.client("bob")
    assert bob.get(f"/api/v1/blobs/{md5(data)}").status_code == 404
    assert commit(bob, begin(bob, "bob", "mine"), {"f": data}).status_code == 200
    assert bob.get(f"/api/v1/blobs/{md5(data)}").content == data


def test_an_upload_proves_nothing_once_gc_took_the_blob(
    kind_server: Server, tmp_path: Path
) -> None:
    data = os.urandom(MID)
    upload(kind_server, "bob", data, tmp_path)
    bob = kind_server.client("bob")
    assert bob.post("/api/v1/blobs/missing", json={"digests": [md5(data)]}).json()["missing"] == []
    report = kind_server.client("root").post("/api/v1/gc/storage", json={"grace_seconds": 0})
    assert report.json()["blobs_deleted"] == 1
    with kind_server.state.db.read() as s:
        assert s.scalars(select(m.BlobUpload)).all() == []  # gone with its blob
    assert bob.post("/api/v1/blobs/missing", json={"digests": [md5(data)]}).json()["missing"] == [
        md5(data)
    ]
