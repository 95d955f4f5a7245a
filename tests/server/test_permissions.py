"""Who may see and change what: private by default, 404 without access, 403 read-only."""

from __future__ import annotations

import hashlib

import pytest

from cairn.errors import (
    ArtifactNotFoundError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
)
from cairn.records import VersionSpec, VersionUpdate
from tests.server.conftest import Server, error_of, log_version


def spec(entity: str, project: str, collection: str = "data") -> VersionSpec:
    return VersionSpec(entity=entity, project=project, collection=collection, type="dataset")


def test_private_projects_are_invisible_to_others(server: Server) -> None:
    alice, bob = server.backend("alice"), server.backend("bob")
    v = log_version(alice, server.tmp, "alice", "secret", "data", {"a.txt": b"alice's bytes"})
    assert alice.get_version(v.id).index == 0
    with pytest.raises(ArtifactNotFoundError):
        bob.get_version(v.id)
    with pytest.raises(ArtifactNotFoundError):
        bob.resolve("alice", "secret", "data", "latest")
    with pytest.raises(NotFoundError):
        bob.list_collections("alice", "secret", None)
    with pytest.raises(NotFoundError):
        bob.get_manifest(v.id)
    with pytest.raises(NotFoundError):
        bob.begin_version(spec("alice", "secret"))
    with pytest.raises(NotFoundError):
        bob.begin_version(spec("alice", "new-project"))
    with pytest.raises(NotFoundError):
        bob.update_version(v.id, VersionUpdate(description="mine now"))
    with pytest.raises(NotFoundError):
        bob.delete_version(v.id, delete_aliases=True)
    # Blobs are shared by content, but a digest alone does not open a private file.
    digest = hashlib.md5(b"alice's bytes").hexdigest()
    r = server.client("bob").get(f"/api/v1/blobs/{digest}")
    assert r.status_code == 404
    assert error_of(r)["code"] == "blob_not_found"
    assert server.client("alice").get(f"/api/v1/blobs/{digest}").content == b"alice's bytes"
    # A server admin sees everything.
    assert server.backend("root").get_version(v.id).id == v.id


def test_no_one_creates_entities_but_admins(server: Server) -> None:
    with pytest.raises(NotFoundError):
        server.backend("bob").begin_version(spec("carol", "p"))
    assert server.backend("root").begin_version(spec("carol", "p"))


def test_a_private_project_and_a_missing_one_look_the_same(server: Server) -> None:
    log_version(server.backend("alice"), server.tmp, "alice", "secret", "data", {"a": b"a"})
    bob = server.client("bob")
    private = bob.get("/api/v1/projects/alice/secret/collections")
    missing = bob.get("/api/v1/projects/alice/nothing/collections")
    assert private.status_code == missing.status_code == 404
    assert error_of(private)["code"] == error_of(missing)["code"]


def test_team_roles(server: Server) -> None:
    server.state.accounts.create_team("vision")
    server.state.accounts.add_member("vision", "alice", "member")
    server.state.accounts.add_member("vision", "bob", "viewer")
    alice, bob = server.backend("alice"), server.backend("bob")
    v = log_version(alice, server.tmp, "vision", "cars", "data", {"x": b"team bytes"})
    # A viewer reads ...
    assert bob.resolve("vision", "cars", "data", "latest").id == v.id
    assert [c.name for c in bob.list_collections("vision", "cars", None)] == ["data"]
    # ... and is told "forbidden", not "not found", when writing.
    with pytest.raises(PermissionDeniedError):
        bob.begin_version(spec("vision", "cars"))
    with pytest.raises(PermissionDeniedError):
        bob.update_version(v.id, VersionUpdate(description="x"))
    with pytest.raises(PermissionDeniedError):
        bob.begin_version(spec("vision", "new-project"))
    r = server.client("bob").post(
        "/api/v1/versions",
        json={"entity": "vision", "project": "cars", "collection": "data", "type": "dataset"},
    )
    assert r.status_code == 403
    assert error_of(r)["code"] == "forbidden"
    # Promoted to member, bob writes.
    server.state.accounts.add_member("vision", "bob", "member")
    assert bob.begin_version(spec("vision", "cars"))


def test_public_projects_are_readable_by_every_user(server: Server) -> None:
    alice, bob = server.backend("alice"), server.backend("bob")
    v = log_version(alice, server.tmp, "alice", "open", "data", {"p": b"public bytes"})
    r = server.client("bob").patch("/api/v1/projects/alice/open", json={"visibility": "public"})
    assert r.status_code == 404  # bob cannot even see it yet
    r = server.client("alice").patch("/api/v1/projects/alice/open", json={"visibility": "public"})
    assert r.status_code == 200, r.text
    assert bob.get_version(v.id).id == v.id
    digest = hashlib.md5(b"public bytes").hexdigest()
    assert server.client("bob").get(f"/api/v1/blobs/{digest}").content == b"public bytes"
    with pytest.raises(PermissionDeniedError):
        bob.update_version(v.id, VersionUpdate(description="x"))
    r = server.client("bob").patch("/api/v1/projects/alice/open", json={"visibility": "private"})
    assert r.status_code == 403


def test_revoked_keys_and_disabled_users_are_refused(server: Server) -> None:
    accounts = server.state.accounts
    record, extra = accounts.create_key("alice", label="ci")
    c = server.client()
    c.headers["Authorization"] = f"Bearer {extra}"
    assert c.get("/api/v1/viewer").json()["name"] == "alice"
    accounts.revoke_key(str(record.id))
    r = c.get("/api/v1/viewer")
    assert r.status_code == 401
    assert "revoked" in error_of(r)["message"]
    accounts.set_disabled("bob")
    with pytest.raises(AuthenticationError):
        server.backend("bob").default_entity()
    accounts.set_disabled("bob", False)
    assert server.backend("bob").default_entity() == "bob"


def test_keys_are_stored_only_as_hashes(server: Server) -> None:
    from sqlalchemy import select

    from cairn.core.db import models as m

    with server.state.db.read() as s:
        stored = s.scalars(select(m.ApiKey.key_hash)).all()
    for key in server.keys.values():
        assert key not in stored
        assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_the_viewer_and_scoped_gc(server: Server) -> None:
    me = server.client("alice").get("/api/v1/viewer").json()
    assert me == {"name": "alice", "entity": "alice", "admin": False, "roles": {"alice": "admin"}}
    alice, bob = server.backend("alice"), server.backend("bob")
    alice.begin_version(spec("alice", "p"))
    from datetime import timedelta

    assert bob.collect_garbage(pending_older_than=timedelta(0)) == 0  # not bob's to drop
    assert alice.collect_garbage(pending_older_than=timedelta(0)) == 1


def test_insecure_local_mode_needs_no_key(make: object) -> None:
    server = make(insecure_local=True, local_user="me")  # type: ignore[operator]
    anonymous = server.client()
    assert anonymous.get("/api/v1/viewer").json()["admin"] is True
    r = anonymous.post(
        "/api/v1/versions",
        json={"entity": "me", "project": "p", "collection": "c", "type": "dataset"},
    )
    assert r.status_code == 200, r.text
