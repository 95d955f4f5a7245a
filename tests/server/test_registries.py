"""Who may link, unlink, read registries and set TTL defaults on a team server; and the
server's background maintenance expiring versions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from cairn.backend.http import HttpBackend
from cairn.errors import ArtifactNotFoundError, NotFoundError, PermissionDeniedError
from cairn.records import VersionUpdate
from cairn.server.maintenance import run_once
from tests.server.conftest import Server, error_of, log_version

REGISTRY = "wandb-registry-models"


@pytest.fixture
def team(server: Server) -> Server:
    """Team ``t``: alice a member, bob a viewer; alice has a version in her own project."""
    server.state.accounts.create_team("t")
    server.state.accounts.add_member("t", "alice", "member")
    server.state.accounts.add_member("t", "bob", "viewer")
    return server


def _alice_version(server: Server) -> tuple[HttpBackend, str]:
    alice = server.backend("alice")
    v = log_version(alice, server.tmp, "alice", "p", "model", {"w.bin": b"weights"})
    return alice, v.id


def test_linking_needs_read_on_the_source_and_write_on_the_target(team: Server) -> None:
    alice, vid = _alice_version(team)
    bob = team.backend("bob")
    with pytest.raises(ArtifactNotFoundError):
        bob.link_version(vid, "bob", "p", "best", [])  # cannot read alice's version
    linked = alice.link_version(vid, "t", REGISTRY, "best", ["prod"])
    assert (linked.entity, linked.project, linked.version) == ("t", REGISTRY, "v0")
    # bob reads it through the registry (a viewer of t), though not alice's project...
    seen = bob.resolve("t", REGISTRY, "best", "prod")
    assert seen.id == vid and seen.source_project == "p"
    _digest, manifest = bob.get_manifest(vid)
    assert b"w.bin" in manifest
    dest = team.tmp / "bob-w.bin"
    from cairn.backend.base import BlobDownload
    from tests.core.helpers import hexmd5

    bob.fetch_blobs([BlobDownload(digest=hexmd5(b"weights"), dest=str(dest), size=7)])
    assert dest.read_bytes() == b"weights"
    # ...but may not link into it, nor unlink from it.
    with pytest.raises(PermissionDeniedError):
        bob.link_version(vid, "t", REGISTRY, "best", [])
    assert linked.link_id is not None
    with pytest.raises(PermissionDeniedError):
        bob.unlink_version(linked.link_id)
    alice.unlink_version(linked.link_id)
    with pytest.raises(ArtifactNotFoundError):
        bob.get_version(vid)  # no longer linked: no longer readable for bob


def test_registries_are_listed_to_those_who_may_read_them(team: Server) -> None:
    alice, vid = _alice_version(team)
    alice.link_version(vid, "t", REGISTRY, "best", [])
    alice.link_version(vid, "alice", "model-registry", "mine", [])
    names = {(r.entity, r.name) for r in alice.list_registries()}
    assert names == {("t", "models"), ("alice", "model")}
    assert {(r.entity, r.name) for r in team.backend("bob").list_registries()} == {("t", "models")}
    assert [r.name for r in alice.list_registries("t")] == ["models"]
    root = team.backend("root")
    assert len(root.list_registries()) == 2


def test_the_default_ttl_is_an_entity_admins(team: Server) -> None:
    alice = team.client("alice")
    r = alice.put("/api/v1/entities/t/ttl", json={"seconds": 3600})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = team.client("bob").get("/api/v1/entities/nobody/ttl")
    assert r.status_code == 404
    r = alice.put("/api/v1/entities/alice/ttl", json={"seconds": 0})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid"
    assert alice.put("/api/v1/entities/alice/ttl", json={"seconds": 60}).json() == {"seconds": 60}
    assert alice.get("/api/v1/entities/alice/ttl").json() == {"seconds": 60}
    team.state.accounts.add_member("t", "alice", "admin")
    assert team.backend("alice").get_default_ttl("t") is None
    team.backend("alice").set_default_ttl("t", 7200)
    assert team.backend("bob").get_default_ttl("t") == 7200


def test_expiry_through_the_route_is_an_admins(team: Server) -> None:
    r = team.client("alice").post("/api/v1/gc/expire", json={"dry_run": True})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    assert team.client("root").post("/api/v1/gc/expire", json={}).json() == {"versions": []}


def _wait_until_due(created_at: datetime, ttl: timedelta) -> None:
    deadline = created_at + ttl + timedelta(milliseconds=200)
    while datetime.now(UTC) < deadline:
        time.sleep(0.05)


def test_maintenance_expires_due_versions(team: Server) -> None:
    alice, vid = _alice_version(team)
    rec = alice.update_version(vid, VersionUpdate(ttl_seconds=1))
    _wait_until_due(rec.created_at, timedelta(seconds=1))
    assert [v.id for v in run_once(team.state)] == [vid]
    with pytest.raises(ArtifactNotFoundError):
        alice.get_version(vid)


def test_the_lifespan_runs_maintenance(make: object) -> None:
    server: Server = make(maintenance_interval=0.05)  # type: ignore[operator]
    alice, vid = _alice_version(server)
    rec = alice.update_version(vid, VersionUpdate(ttl_seconds=1))
    _wait_until_due(rec.created_at, timedelta(seconds=1))

    async def serve_until_expired() -> None:
        # The app's lifespan starts the maintenance task in this event loop.
        async with server.app.router.lifespan_context(server.app):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    await anyio.to_thread.run_sync(alice.get_version, vid)
                except NotFoundError:
                    return
                await anyio.sleep(0.05)
            pytest.fail("the maintenance task did not expire the version")

    anyio.run(serve_until_expired)
