"""Bad input gets a clear 4xx and leaves nothing behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn import layout
from cairn.core.db import models as m
from cairn.errors import BlobNotFoundError, CollectionNotFoundError, DigestMismatchError
from cairn.manifest.digest import md5_b64
from tests.server.conftest import Server, error_of


def count(server: Server, table: type[m.Base]) -> int:
    with server.state.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def begin(server: Server, user: str = "alice") -> str:
    r = server.client(user).post(
        "/api/v1/versions",
        json={"entity": user, "project": "p", "collection": "c", "type": "dataset"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def store_files(server: Server) -> list[Path]:
    """Files of blobs and packs in the store (its installation stamp is not one)."""
    root = Path(server.state.store.root)  # type: ignore[attr-defined]
    return [p for p in root.rglob("*") if p.is_file() and p.name != layout.STAMP]


def test_bytes_that_do_not_match_their_digest_are_not_stored(server: Server) -> None:
    claimed = hashlib.md5(b"what I said").hexdigest()
    r = server.client("alice").put(f"/api/v1/blobs/{claimed}", content=b"what I sent")
    assert r.status_code == 422
    assert error_of(r)["code"] == "digest_mismatch"
    assert store_files(server) == []
    assert count(server, m.Blob) == 0
    assert server.backend("alice").missing_blobs([claimed]) == [claimed]


def test_a_commit_naming_missing_blobs_is_refused(server: Server) -> None:
    vid = begin(server)
    manifest = {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": {"a.txt": {"digest": md5_b64(b"never uploaded"), "size": 14}},
    }
    r = server.client("alice").post(f"/api/v1/versions/{vid}/commit", json={"manifest": manifest})
    assert r.status_code == 404
    err = error_of(r)
    assert err["code"] == "blob_not_found"
    assert err["details"]["missing"] == [hashlib.md5(b"never uploaded").hexdigest()]
    with pytest.raises(CollectionNotFoundError):
        server.backend("alice").get_collection("alice", "p", "c")
    with pytest.raises(BlobNotFoundError):
        server.backend("alice").add_entries(vid, _manifest({"a.txt": b"never uploaded"}))
    assert count(server, m.VersionFile) == 0


def _manifest(files: dict[str, bytes]) -> object:
    from cairn.manifest import Manifest, ManifestEntry

    return Manifest(ManifestEntry(path=p, digest=md5_b64(d), size=len(d)) for p, d in files.items())


@pytest.mark.parametrize(
    "path", ["../escape.txt", "/etc/passwd", "a/../../b", "a//b", "a/./b", "nul\x00byte", ""]
)
def test_entry_paths_that_escape_or_are_not_normal_are_refused(server: Server, path: str) -> None:
    vid = begin(server)
    data = b"x"
    server.client("alice").put(f"/api/v1/blobs/{hashlib.md5(data).hexdigest()}", content=data)
    manifest = {"version": 1, "contents": {path: {"digest": md5_b64(data), "size": 1}}}
    for route in ("commit", "entries"):
        r = server.client("alice").post(
            f"/api/v1/versions/{vid}/{route}", json={"manifest": manifest}
        )
        assert r.status_code == 422, (path, r.text)
        assert error_of(r)["code"] in ("invalid", "invalid_path")
    assert count(server, m.VersionFile) == 0
    assert count(server, m.Version) == 1  # only the PENDING one, still invisible


def test_wrong_types_and_bad_names_leave_nothing(server: Server) -> None:
    alice = server.client("alice")
    bodies = [
        {"entity": "alice", "project": "p", "collection": "c", "type": "dataset", "metadata": []},
        {"entity": "alice", "project": "p", "collection": "c", "type": 3},
        {"entity": "alice", "project": "p", "collection": "../c", "type": "dataset"},
        {"entity": "alice", "project": "p/q", "collection": "c", "type": "dataset"},
        {"entity": "alice", "project": "p", "collection": "c", "type": "wandb-history"},
        {"entity": "alice", "project": "p", "collection": "c", "type": "dataset", "x": 1},
    ]
    for body in bodies:
        r = alice.post("/api/v1/versions", json=body)
        assert r.status_code == 422, (body, r.text)
        error_of(r)
    assert count(server, m.Project) == 0
    assert count(server, m.Version) == 0


def test_too_many_digests_in_one_request(server: Server) -> None:
    r = server.client("alice").post("/api/v1/blobs/missing", json={"digests": ["0" * 32] * 10_001})
    assert r.status_code == 422
    assert error_of(r)["details"]["limit"] == 10_000
    # The backend batches instead.
    assert (
        len(server.backend("alice").missing_blobs([f"{i:032x}" for i in range(25_000)])) == 25_000
    )


def test_a_bad_digest_in_a_url(server: Server) -> None:
    for digest in ("XYZ", "0" * 31, "../../etc/passwd", "0" * 32 + "/x"):
        r = server.client("alice").put(f"/api/v1/blobs/{digest}", content=b"x")
        assert 400 <= r.status_code < 500
        error_of(r)
    assert store_files(server) == []


def test_the_backend_reports_a_changed_file_as_a_digest_mismatch(
    server: Server, tmp_path: Path
) -> None:
    from cairn.backend.base import BlobUpload

    f = tmp_path / "f.bin"
    f.write_bytes(b"changed")
    digest = hashlib.md5(b"original").hexdigest()
    with pytest.raises(DigestMismatchError, match="hash"):
        server.backend("alice").upload_blobs([BlobUpload(digest=digest, path=str(f), size=8)])
    assert store_files(server) == []
