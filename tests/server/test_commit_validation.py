"""Commit validation (issue 13): a version's sizes are its blobs' sizes, no path is both a file
and a folder, and each bound on a version is a clear 4xx naming it — checked by the server,
whatever a client sends (raw HTTP here), and mapped back to the same exceptions by the SDK."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.errors import FileFolderConflictError, LimitExceededError, SizeMismatchError
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import md5_b64
from tests.server.conftest import Server, error_of
from tests.server.kinds import kind_server, kinds_bucket, make_kind
from tests.server.test_possession import begin, upload

__all__ = ["kind_server", "kinds_bucket", "make_kind"]


def manifest(files: dict[str, bytes], sizes: dict[str, int] | None = None) -> dict[str, Any]:
    sizes = sizes or {}
    return Manifest(
        ManifestEntry(path=p, digest=md5_b64(d), size=sizes.get(p, len(d)))
        for p, d in files.items()
    ).to_json()


def uploaded(server: Server, tmp: Path, *blobs: bytes) -> None:
    for data in blobs:
        upload(server, "alice", data, tmp)


def post_commit(client: httpx.Client, vid: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/api/v1/versions/{vid}/commit", json={"manifest": body})


@pytest.mark.parametrize("claimed", [0, 99, 101, 1 << 40])
def test_a_size_other_than_the_blobs_is_refused_naming_the_entry(
    kind_server: Server, tmp_path: Path, claimed: int
) -> None:
    data = os.urandom(100)
    uploaded(kind_server, tmp_path, data)
    alice = kind_server.client("alice")
    r = post_commit(
        alice, begin(alice, "alice", "p"), manifest({"d/x.bin": data}, {"d/x.bin": claimed})
    )
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "size_mismatch"
    assert err["details"] == {"path": "d/x.bin", "claimed": claimed, "stored": 100}
    assert "'d/x.bin'" in err["message"]
    # The true size commits.
    assert (
        post_commit(alice, begin(alice, "alice", "p"), manifest({"d/x.bin": data})).status_code
        == 200
    )


def test_the_sdk_raises_the_same_exception_for_a_size_lie(
    kind_server: Server, tmp_path: Path
) -> None:
    data = os.urandom(100)
    uploaded(kind_server, tmp_path, data)
    backend = kind_server.backend("alice")
    vid = begin(kind_server.client("alice"), "alice", "p")
    lie = Manifest([ManifestEntry(path="x", digest=md5_b64(data), size=7)])
    with pytest.raises(SizeMismatchError) as caught:
        backend.commit_version(vid, lie)
    assert caught.value.details["path"] == "x"


def test_a_file_that_is_also_a_folder_is_refused_at_commit(
    kind_server: Server, tmp_path: Path
) -> None:
    a, b = os.urandom(50), os.urandom(60)
    uploaded(kind_server, tmp_path, a, b)
    alice = kind_server.client("alice")
    r = post_commit(alice, begin(alice, "alice", "p"), manifest({"a": a, "a/b": b}))
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "file_folder_conflict"
    assert err["details"] == {"paths": ["a", "a/b"]}
    # A name that merely starts the same is no folder.
    assert (
        post_commit(alice, begin(alice, "alice", "p"), manifest({"a": a, "a-b/c": b})).status_code
        == 200
    )


def test_a_clash_between_upserts_is_refused_at_commit(kind_server: Server, tmp_path: Path) -> None:
    a, b = os.urandom(50), os.urandom(60)
    uploaded(kind_server, tmp_path, a, b)
    alice = kind_server.client("alice")
    vid = begin(alice, "alice", "p")
    # Two writers of one shared version, each adding one side of the clash.
    for files in ({"m/a": a}, {"m/a/b": b}):
        r = alice.post(f"/api/v1/versions/{vid}/entries", json={"manifest": manifest(files)})
        assert r.status_code == 200, r.text
    r = alice.post(f"/api/v1/versions/{vid}/commit", json={})
    assert r.status_code == 409
    assert error_of(r)["code"] == "file_folder_conflict"
    # Within one upsert it is refused at once.
    r = alice.post(
        f"/api/v1/versions/{begin(alice, 'alice', 'p')}/entries",
        json={"manifest": manifest({"z": a, "z/y": b})},
    )
    assert error_of(r)["code"] == "file_folder_conflict"


@pytest.mark.parametrize(
    ("limit", "config", "files"),
    [
        ("max_entries", {"max_entries": 2}, {"a": b"1", "b": b"2", "c": b"3"}),
        ("max_path_length", {"max_path_length": 10}, {"a" * 11: b"1"}),
        (
            "max_manifest_bytes",
            {"max_manifest_bytes": 300},
            {f"f{i}": bytes([i]) for i in range(4)},
        ),
    ],
)
def test_each_bound_is_a_4xx_naming_it(
    make_kind: Callable[..., Server],
    tmp_path: Path,
    limit: str,
    config: dict[str, int],
    files: dict[str, bytes],
) -> None:
    server = make_kind(**config)
    uploaded(server, tmp_path, *files.values())
    alice = server.client("alice")
    r = post_commit(alice, begin(alice, "alice", "p"), manifest(files))
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "limit_exceeded"
    assert err["details"]["limit"] == limit
    assert err["details"]["max"] == config[limit]
    assert err["details"]["actual"] > config[limit]
    assert limit in err["message"]
    # The SDK raises the same exception.
    with pytest.raises(LimitExceededError):
        server.backend("alice").commit_version(
            begin(alice, "alice", "p"),
            Manifest(
                ManifestEntry(path=p, digest=md5_b64(d), size=len(d)) for p, d in files.items()
            ),
        )
    # Within the bound, the same server commits.
    first = dict(list(files.items())[:1]) if limit != "max_path_length" else {"short": b"1"}
    uploaded(server, tmp_path, *first.values())
    assert post_commit(alice, begin(alice, "alice", "p"), manifest(first)).status_code == 200


def test_a_clash_maps_to_the_same_exception_in_the_sdk(kind_server: Server, tmp_path: Path) -> None:
    a, b = os.urandom(50), os.urandom(60)
    uploaded(kind_server, tmp_path, a, b)
    clash = Manifest(
        ManifestEntry(path=p, digest=md5_b64(d), size=len(d)) for p, d in {"a": a, "a/b": b}.items()
    )
    with pytest.raises(FileFolderConflictError):
        kind_server.backend("alice").commit_version(
            begin(kind_server.client("alice"), "alice", "p"), clash
        )
