"""Re-logging the latest content: one digest answers it, the manifest is never sent."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import md5_b64
from cairn.records import VersionSpec
from tests.server.conftest import Server, error_of, log_version

FILES = {"a.txt": b"alpha", "b/c.txt": b"gamma"}


def _begin(server: Server, user: str = "alice", collection: str = "coll") -> str:
    spec = VersionSpec(entity="alice", project="p", collection=collection, type="dataset")
    return server.backend(user).begin_version(spec)


def _digest(files: dict[str, bytes]) -> str:
    return Manifest(
        [ManifestEntry(path=p, digest=md5_b64(d), size=len(d)) for p, d in files.items()]
    ).digest()


def test_the_same_digest_answers_with_the_latest_and_drops_the_pending(
    server: Server, tmp_path: Path
) -> None:
    v0 = log_version(server.backend("alice"), tmp_path, "alice", "p", "coll", FILES)
    vid = _begin(server)
    backend = server.backend("alice")
    got = backend.commit_if_unchanged(vid, _digest(FILES), aliases=["best"], tags=["t1"])
    assert got is not None
    assert (got.id, got.index, got.deduplicated) == (v0.id, 0, True)
    assert set(got.aliases) == {"latest", "best"}
    assert "t1" in got.tags
    # The pending version is gone, and no new version exists.
    r = server.client("alice").post(f"/api/v1/versions/{vid}/commit", json={"manifest": None})
    assert r.status_code == 404, r.text
    assert backend.resolve("alice", "p", "coll", "latest").id == v0.id


def test_another_digest_changes_nothing_and_the_commit_goes_on(
    server: Server, tmp_path: Path
) -> None:
    v0 = log_version(server.backend("alice"), tmp_path, "alice", "p", "coll", FILES)
    vid = _begin(server)
    backend = server.backend("alice")
    changed = {**FILES, "a.txt": b"ALPHA"}
    assert backend.commit_if_unchanged(vid, _digest(changed), aliases=["best"], tags=[]) is None
    latest = backend.resolve("alice", "p", "coll", "latest")
    assert latest.id == v0.id and "best" not in latest.aliases  # nothing moved
    # The pending version is still open: commit it as usual.
    v1 = log_version(backend, tmp_path, "alice", "p", "coll", changed)
    assert v1.index == 1


def test_no_latest_version_means_commit_as_usual(server: Server) -> None:
    vid = _begin(server, collection="fresh")
    assert (
        server.backend("alice").commit_if_unchanged(vid, _digest(FILES), aliases=[], tags=[])
        is None
    )


def test_a_bad_digest_is_refused(server: Server, tmp_path: Path) -> None:
    log_version(server.backend("alice"), tmp_path, "alice", "p", "coll", FILES)
    vid = _begin(server)
    for bad in ("", "0" * 31, "G" * 32, "../" + "0" * 29, 7):
        r = server.client("alice").post(
            f"/api/v1/versions/{vid}/commit-unchanged", json={"digest": bad}
        )
        assert r.status_code == 422, (bad, r.text)
        assert error_of(r)["code"] == "invalid"


def test_another_user_cannot_answer_a_pending_version(server: Server, tmp_path: Path) -> None:
    log_version(server.backend("alice"), tmp_path, "alice", "p", "coll", FILES)
    vid = _begin(server)
    r = server.client("bob").post(
        f"/api/v1/versions/{vid}/commit-unchanged", json={"digest": _digest(FILES)}
    )
    assert r.status_code in (403, 404), r.text
    # Alice's pending version is untouched: she can still answer it.
    got = server.backend("alice").commit_if_unchanged(vid, _digest(FILES), aliases=[], tags=[])
    assert got is not None and got.index == 0


class _Recording(httpx.BaseTransport):
    """The in-process transport, noting each request's path and body size."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.seen.append((request.url.path, len(body)))
        return self.inner.handle_request(request)


def test_the_sdk_relog_sends_a_digest_not_the_manifest(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's unchanged re-log over HTTP: commit-unchanged, never commit, no blobs."""
    import cairn
    from cairn.backend.http import HttpBackend
    from cairn.config import Settings
    from cairn.sdk import context

    recording = _Recording(server.transport)
    monkeypatch.setenv("CAIRN_BASE_URL", "http://cairn.test")
    monkeypatch.setenv("CAIRN_API_KEY", server.keys["alice"])

    def backend_for(settings: Settings) -> HttpBackend:
        return HttpBackend(settings, transport=recording)

    monkeypatch.setattr(context, "backend_for", backend_for)
    files = {f"d/{i:03}.txt": f"row {i}".encode() * 20 for i in range(300)}
    src = tmp_path / "data"
    for p, d in files.items():
        (src / p).parent.mkdir(parents=True, exist_ok=True)
        (src / p).write_bytes(d)
    versions = []
    for round_ in range(2):
        recording.seen.clear()
        art = cairn.Artifact("ds", type="dataset")
        art.add_dir(str(src))
        with cairn.init(project="p", entity="alice") as run:
            run.log_artifact(art, aliases=[f"round{round_}"])
        art.wait()
        versions.append(art.version)
    assert versions == ["v0", "v0"]
    paths = [p for p, _ in recording.seen]
    assert any(p.endswith("/commit-unchanged") for p in paths), paths
    assert not any(p.endswith("/commit") for p in paths), paths
    assert not any("/blobs" in p for p in paths), paths
    biggest = max(size for _, size in recording.seen)
    manifest_size = len(json.dumps({p: md5_b64(d) for p, d in files.items()}))
    assert biggest < manifest_size / 10, recording.seen
    got = cairn.Api().artifact("alice/p/ds:round1")
    assert (got.version, set(got.aliases)) == ("v0", {"latest", "round0", "round1"})


def test_an_incremental_version_must_be_committed(server: Server, tmp_path: Path) -> None:
    """An incremental draft patches the latest, so its digest alone says nothing."""
    log_version(server.backend("alice"), tmp_path, "alice", "p", "coll", FILES)
    spec = VersionSpec(
        entity="alice", project="p", collection="coll", type="dataset", incremental=True
    )
    vid = server.backend("alice").begin_version(spec)
    r = server.client("alice").post(
        f"/api/v1/versions/{vid}/commit-unchanged", json={"digest": _digest(FILES)}
    )
    assert r.status_code in (400, 422), r.text
    assert "incremental" in error_of(r)["message"]
