"""Lineage, history and diffs over REST keep the project rules: a graph crossing into a private
project shows a placeholder there (no name or id on the wire), and history and diffs of what the
caller cannot read are 404s."""

from __future__ import annotations

import pytest

from cairn.errors import ArtifactNotFoundError, CollectionNotFoundError
from tests.server.conftest import Server, log_version


def test_private_nodes_are_placeholders_on_the_wire(server: Server) -> None:
    alice, bob = server.backend("alice"), server.backend("bob")
    secret = log_version(alice, server.tmp, "alice", "secret", "raw", {"a": b"private bytes"})
    bob.create_run("bob", "work", run_id="train")
    root = server.backend("root")
    root.use_version("bob", "work", "train", secret.id)  # an admin wired it: the edge exists

    r = server.client("bob").get(
        "/api/v1/projects/bob/work/runs/train/lineage", params={"direction": "upstream"}
    )
    assert r.status_code == 200
    assert secret.id not in r.text and "secret" not in r.text and "raw" not in r.text
    nodes = r.json()["nodes"]
    assert [(n["kind"], n["hidden"], n["name"]) for n in nodes] == [
        ("run", False, "train"),
        ("version", True, None),
    ]
    admin_view = root.run_lineage("bob", "work", "train", direction="upstream", depth=1)
    assert {n.hidden for n in admin_view.nodes} == {False}

    with pytest.raises(ArtifactNotFoundError):
        bob.version_lineage(secret.id, direction="both", depth=1)
    with pytest.raises(ArtifactNotFoundError):
        bob.version_history(secret.id, after=None, limit=10)
    with pytest.raises(CollectionNotFoundError):
        bob.collection_history("alice", "secret", "raw", after=None, limit=10)
    with pytest.raises(ArtifactNotFoundError):
        bob.diff_summary(secret.id, secret.id)
    assert alice.diff_summary(secret.id, secret.id).unchanged == 1
    assert [e.actor for e in alice.version_history(secret.id, after=None, limit=10)[0]] == ["alice"]
