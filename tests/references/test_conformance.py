"""The reference handler conformance suite: every test runs against every kind (conftest.remote).

Objects are written and changed with each store's own client; Cairn only reads them, through the
handler the registry picks for the URI, as ``add_reference`` and ``download`` do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cairn.cache.memo import ChecksumMemo
from cairn.errors import (
    DigestMismatchError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from cairn.manifest import ManifestEntry
from cairn.references import ReferenceHandler, handler_for
from tests.references.remotes import Remote

BIG = os.urandom(1 << 20) + b"tail"  # crosses the handlers' 1 MiB read size


@pytest.fixture
def memo(tmp_path: Path) -> ChecksumMemo:
    return ChecksumMemo(tmp_path / "memo.sqlite")


def handler(uri: str, memo: ChecksumMemo) -> ReferenceHandler:
    return handler_for(uri, memo)


def store(
    uri: str,
    memo: ChecksumMemo,
    name: str | None = None,
    *,
    checksum: bool = True,
    max_objects: int | None = None,
) -> list[ManifestEntry]:
    return handler(uri, memo).store(uri, name, checksum=checksum, max_objects=max_objects)


def load(entry: ManifestEntry, memo: ChecksumMemo, dest: Path) -> bytes:
    assert entry.ref is not None
    handler(entry.ref, memo).load(entry, str(dest))
    return dest.read_bytes()


class TestReferenceHandler:
    # -- store ---------------------------------------------------------------------------------
    def test_single_object_records_digest_size_and_name(
        self, remote: Remote, memo: ChecksumMemo
    ) -> None:
        remote.put("checkpoints/model.h5", b"weights")
        uri = remote.uri("checkpoints/model.h5")
        (entry,) = store(uri, memo)
        assert entry.path == "model.h5"
        assert entry.digest == remote.digest("checkpoints/model.h5")
        assert entry.size == len(b"weights")
        assert entry.ref == uri
        (named,) = store(uri, memo, "models/mymodel.h5")
        assert named.path == "models/mymodel.h5"
        assert named.digest == entry.digest

    def test_prefix_expands_below_a_folder_boundary(
        self, remote: Remote, memo: ChecksumMemo
    ) -> None:
        if not remote.lists:
            pytest.skip(f"{remote.kind} has no prefixes to expand")
        for key in ("images/cat.png", "images/dog.png", "images/sub/owl.png", "images2/x.png"):
            remote.put(key, key.encode())
        remote.put("imagesfile", b"not under images/")
        entries = store(remote.uri("images"), memo)
        assert {e.path: e.ref for e in entries} == {
            "cat.png": remote.uri("images/cat.png"),
            "dog.png": remote.uri("images/dog.png"),
            "sub/owl.png": remote.uri("images/sub/owl.png"),
        }
        for e in entries:
            key = "images/" + e.path
            assert (e.digest, e.size) == (remote.digest(key), len(key.encode()))
        named = store(remote.uri("images"), memo, "images")
        assert sorted(e.path for e in named) == [
            "images/cat.png",
            "images/dog.png",
            "images/sub/owl.png",
        ]
        slash = store(remote.uri("images") + "/", memo)
        assert sorted(e.path for e in slash) == ["cat.png", "dog.png", "sub/owl.png"]

    def test_max_objects_bounds_an_expansion(self, remote: Remote, memo: ChecksumMemo) -> None:
        if not remote.lists:
            pytest.skip(f"{remote.kind} has no prefixes to expand")
        for i in range(3):
            remote.put(f"many/{i}.txt", b"x")
        assert len(store(remote.uri("many"), memo, max_objects=3)) == 3
        with pytest.raises(ValidationError, match="max_objects=2"):
            store(remote.uri("many"), memo, max_objects=2)

    def test_checksum_false_records_the_uri_only(self, remote: Remote, memo: ChecksumMemo) -> None:
        uri = remote.uri("never-written/model.h5")  # not read: nothing needs to be there
        (entry,) = store(uri, memo, checksum=False)
        assert (entry.path, entry.digest, entry.ref, entry.size) == ("model.h5", uri, uri, None)
        remote.put("never-written/model.h5", b"now it exists")
        (again,) = store(uri, memo, checksum=False)
        assert again.digest == entry.digest  # same URI, same digest: no new version
        if remote.lists:
            remote.put("dir/a", b"a")
            (folder,) = store(remote.uri("dir"), memo, "data", checksum=False)
            assert (folder.path, folder.digest) == ("data", remote.uri("dir"))

    def test_nothing_there_is_not_found(self, remote: Remote, memo: ChecksumMemo) -> None:
        with pytest.raises(NotFoundError):
            store(remote.uri("missing/thing.bin"), memo)

    def test_no_secret_in_entries(self, remote: Remote, memo: ChecksumMemo) -> None:
        remote.put("a.bin", b"a")
        (entry,) = store(remote.uri("a.bin"), memo)
        secret = remote.secret()
        if secret is None:
            pytest.skip(f"{remote.kind} authenticates with no secret")
        assert secret not in json.dumps(entry.to_json())

    def test_wrong_credentials_are_refused_without_echoing_them(
        self, remote: Remote, memo: ChecksumMemo, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        remote.put("a.bin", b"a")
        bad = remote.break_credentials(monkeypatch)
        with pytest.raises(PermissionDeniedError) as info:
            store(remote.uri("a.bin"), memo)
        text = f"{info.value}\n{info.value!r}\n{info.value.details}"
        assert bad not in text
        assert (remote.secret() or bad) not in text

    # -- load ----------------------------------------------------------------------------------
    def test_load_round_trip_is_byte_identical(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        remote.put("blob.bin", BIG)
        (entry,) = store(remote.uri("blob.bin"), memo)
        assert load(entry, memo, tmp_path / "got") == BIG

    def test_load_every_entry_of_a_prefix(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        if not remote.lists:
            pytest.skip(f"{remote.kind} has no prefixes to expand")
        remote.put("set/a.txt", b"alpha")
        remote.put("set/b/c.txt", b"gamma")
        got = {
            e.path: load(e, memo, tmp_path / e.path.replace("/", "_"))
            for e in store(remote.uri("set"), memo)
        }
        assert got == {"a.txt": b"alpha", "b/c.txt": b"gamma"}

    def test_load_after_a_same_size_change_names_the_entry(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        if not remote.sees_same_size_change:
            pytest.skip(f"{remote.kind}: without a validator only the length can show a change")
        remote.put("data.csv", b"a,b\n1,2\n")
        (entry,) = store(remote.uri("data.csv"), memo, "tables/data.csv")
        remote.put("data.csv", b"a,b\n3,4\n")
        with pytest.raises(DigestMismatchError, match=r"tables/data\.csv"):
            load(entry, memo, tmp_path / "got")

    def test_load_after_a_change_of_length_names_the_entry(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        remote.put("data.csv", b"a,b\n1,2\n")
        (entry,) = store(remote.uri("data.csv"), memo, "tables/data.csv")
        remote.put("data.csv", b"a,b\n1,2\n3,4\n")
        with pytest.raises(DigestMismatchError, match=r"tables/data\.csv"):
            load(entry, memo, tmp_path / "got")

    def test_load_after_the_object_vanished_names_the_entry(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        remote.put("gone.bin", b"soon gone")
        (entry,) = store(remote.uri("gone.bin"), memo, "kept/gone.bin")
        remote.delete("gone.bin")
        with pytest.raises(NotFoundError, match=r"kept/gone\.bin"):
            load(entry, memo, tmp_path / "got")

    def test_load_unchecked_entry_gets_the_current_bytes(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        remote.put("live.txt", b"old")
        (entry,) = store(remote.uri("live.txt"), memo, checksum=False)
        remote.put("live.txt", b"newer")
        assert load(entry, memo, tmp_path / "got") == b"newer"

    # -- versions ------------------------------------------------------------------------------
    def test_versioned_store_loads_the_logged_version(
        self, remote: Remote, memo: ChecksumMemo, tmp_path: Path
    ) -> None:
        versioned = remote.versioned()
        versioned.put("model.h5", b"version one")
        versioned.put("dir/x", b"x one")
        (entry,) = store(versioned.uri("model.h5"), memo)
        (member,) = store(versioned.uri("dir"), memo)
        assert entry.extra.get("versionID")
        assert member.extra.get("versionID")
        versioned.put("model.h5", b"version two!")
        versioned.put("dir/x", b"x two")
        assert load(entry, memo, tmp_path / "one") == b"version one"
        assert load(member, memo, tmp_path / "x") == b"x one"
        (newer,) = store(versioned.uri("model.h5"), memo)
        assert newer.extra["versionID"] != entry.extra["versionID"]
        assert load(newer, memo, tmp_path / "two") == b"version two!"
        (pinned,) = store(versioned.pinned_uri("model.h5", str(entry.extra["versionID"])), memo)
        assert pinned == entry  # same path, digest, size, plain ref and versionID
        versioned.delete("model.h5")
        assert load(entry, memo, tmp_path / "after-delete") == b"version one"
