"""Portfolios and registries: link, unlink, reading through a portfolio, and collections.

The reference's link/unlink behaviour (spec/artifact-class-reference.md, behaviour-notes.md),
on every backend kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn as wandb
from cairn.errors import ConflictError, TypeConflictError, VersionLinkedError
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import tree


def _log(
    env: CairnEnv, project: str, name: str, data: bytes, type: str = "model"
) -> wandb.Artifact:
    art = wandb.Artifact(name, type=type)
    art.add_file(str(write(env.work / f"{name}-{len(data)}.bin", data)), name="weights.bin")
    with wandb.init(project=project) as run:
        out = run.log_artifact(art)
        out.wait()
    return out


def test_a_linked_artifact_is_the_portfolios_version_of_the_source(
    cairn_env: CairnEnv, project: str
) -> None:
    _log(cairn_env, project, "mnist", b"v0")
    source = _log(cairn_env, project, "mnist", b"v1 weights")
    linked = source.link("best-models", aliases=["production"])

    assert linked.is_link and not source.is_link
    assert linked.name == "best-models:v0"
    assert linked.version == "v0"
    assert linked.qualified_name == f"{source.entity}/{project}/best-models:v0"
    assert linked.entity == source.entity and linked.project == project
    assert linked.collection.name == "best-models"
    assert not linked.collection.is_sequence()
    assert set(linked.aliases) == {"latest", "production"}
    assert linked.source_name == "mnist:v1"
    assert linked.source_version == "v1"
    assert linked.source_entity == source.entity
    assert linked.source_project == project
    assert linked.source_qualified_name == f"{source.entity}/{project}/mnist:v1"
    assert linked.source_collection.name == "mnist"
    assert linked.source_collection.is_sequence()
    assert linked.source_artifact.id == source.id
    assert linked.source_artifact.is_link is False
    assert source.source_artifact is source
    # Files, manifest and digest are the source's: nothing was copied.
    assert linked.digest == source.digest
    assert linked.manifest.to_json() == source.manifest.to_json()
    assert tree(linked.download(root=str(cairn_env.work / "dl")))["weights.bin"] == b"v1 weights"
    assert [a.name for a in source.linked_artifacts] == ["best-models:v0"]
    assert linked.linked_artifacts == []


def test_every_target_path_form(cairn_env: CairnEnv, project: str) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    entity = source.entity
    other = f"{project}-other"
    assert source.link("p1").qualified_name == f"{entity}/{project}/p1:v0"
    assert source.link(f"{other}/p2").qualified_name == f"{entity}/{other}/p2:v0"
    assert source.link(f"{entity}/{other}/p3").qualified_name == f"{entity}/{other}/p3:v0"
    legacy = source.link(f"model-registry/{project}")
    assert legacy.project == "wandb-registry-model"
    again = source.link(f"{entity}/model-registry/{project}")
    assert (again.qualified_name, again.version) == (legacy.qualified_name, "v0")
    reg = source.link(f"wandb-registry-{project}/cars")
    assert reg.qualified_name == f"{entity}/wandb-registry-{project}/cars:v0"
    assert source.link(f"{entity}/wandb-registry-{project}/trucks").collection.name == "trucks"
    with pytest.raises(ValueError, match="too many parts"):
        source.link("a/b/c/d")
    with pytest.raises(ValueError, match="aliases"):
        source.link("p1:prod")


def test_linking_twice_adds_no_second_membership_but_applies_the_aliases(
    cairn_env: CairnEnv, project: str
) -> None:
    a = _log(cairn_env, project, "m", b"a")
    b = _log(cairn_env, project, "m", b"b")
    assert a.link("best", aliases=["prod"]).version == "v0"
    assert b.link("best", aliases=["staging"]).version == "v1"
    relinked = a.link("best", aliases=["staging"])
    assert relinked.version == "v0"
    assert set(relinked.aliases) == {"prod", "staging"}
    api = wandb.Api()
    versions = api.artifacts("model", f"{project}/best")
    assert [v.version for v in versions] == ["v0", "v1"]
    # One version per alias per portfolio: "staging" moved off v1.
    assert set(api.artifact(f"{project}/best:v1").aliases) == {"latest"}
    assert api.artifact(f"{project}/best:staging").source_version == "v0"
    # latest in a portfolio is the newest membership, not the newest source.
    assert api.artifact(f"{project}/best:latest").source_version == "v1"


def test_api_and_use_artifact_resolve_through_portfolios_and_registries(
    cairn_env: CairnEnv, project: str
) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    source.link(f"wandb-registry-{project}/prod-model", aliases=["champion"])
    source.link("model-registry/legacy", aliases=["champion"])
    entity = source.entity
    api = wandb.Api()
    for path in (
        f"{entity}/wandb-registry-{project}/prod-model:champion",
        f"wandb-registry-{project}/prod-model:v0",
        "model-registry/legacy:champion",
        f"{entity}/wandb-registry-model/legacy:latest",
    ):
        got = api.artifact(path)
        assert got.is_link and got.id == source.id and got.source_name == "m:v0", path
    with wandb.init(project=project) as run:
        used = run.use_artifact(f"wandb-registry-{project}/prod-model:champion")
        assert used.is_link
        assert tree(used.download(root=str(cairn_env.work / "u")))["weights.bin"] == b"weights"
        run_id = run.id
    # Lineage: the run used the source version (through the registry).
    assert [r.id for r in source.used_by()] == [run_id]
    assert [a.id for a in api.run(f"{project}/{run_id}").used_artifacts()] == [source.id]


def test_unlink_and_delete_of_a_link_remove_only_the_membership(
    cairn_env: CairnEnv, project: str
) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    first = source.link("best", aliases=["prod"])
    second = source.link("other")
    first.unlink()
    second.delete()
    api = wandb.Api()
    assert not api.artifact_exists(f"{project}/best:prod")
    assert not api.artifact_exists(f"{project}/other:v0")
    assert api.artifact(f"{project}/m:v0").digest == source.digest
    assert source.linked_artifacts == []
    with pytest.raises(ValueError, match="not a linked artifact"):
        source.unlink()
    # The next membership continues the portfolio's numbering.
    assert source.link("best").version == "v1"


def test_a_linked_source_cannot_be_deleted_without_force(cairn_env: CairnEnv, project: str) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    source.link("best")
    with pytest.raises(VersionLinkedError, match=f"{project}/best:v0") as caught:
        source.delete()
    assert caught.value.details["links"] == [f"{source.entity}/{project}/best:v0"]
    assert isinstance(caught.value, ValueError)
    api = wandb.Api()
    assert api.artifact_exists(f"{project}/m:v0")
    source.delete(delete_links=True)
    assert not api.artifact_exists(f"{project}/m:v0")
    assert not api.artifact_exists(f"{project}/best:v0")


def test_link_refuses_a_sequence_target_and_another_type(cairn_env: CairnEnv, project: str) -> None:
    model = _log(cairn_env, project, "m", b"weights")
    data = _log(cairn_env, project, "d", b"rows", type="dataset")
    with pytest.raises(ConflictError, match="not a portfolio"):
        model.link("d")
    model.link("best")
    with pytest.raises(TypeConflictError, match="'model'"):
        data.link("best")
    # Logging into a portfolio's name is refused too: its versions are links.
    art = wandb.Artifact("best", type="model")
    art.add_file(str(write(cairn_env.work / "x.bin", b"x")))
    with pytest.raises(ConflictError, match="portfolio"), wandb.init(project=project) as run:
        run.log_artifact(art)


def test_portfolio_aliases_are_saved_on_the_membership(cairn_env: CairnEnv, project: str) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    linked = source.link("best", aliases=["prod"])
    linked.aliases = ["canary"]
    linked.metadata = {"accuracy": 0.9}
    linked.save()
    api = wandb.Api()
    assert set(api.artifact(f"{project}/best:v0").aliases) == {"latest", "canary"}
    assert not api.artifact_exists(f"{project}/best:prod")
    # Metadata belongs to the source; the source's own aliases did not change.
    fresh = api.artifact(f"{project}/m:v0")
    assert fresh.metadata == {"accuracy": 0.9}
    assert set(fresh.aliases) == {"latest"}


def test_run_link_artifact_returns_the_linked_artifact(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("m", type="model")
    art.add_file(str(write(cairn_env.work / "w.bin", b"w")))
    with wandb.init(project=project) as run:
        linked = run.link_artifact(art, "best", aliases=["prod"])
    assert linked.is_link and linked.name == "best:v0"
    assert wandb.Api().artifact(f"{project}/best:prod").source_name == "m:v0"


def test_collections_of_both_kinds(cairn_env: CairnEnv, project: str) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    source.link("best", aliases=["prod"])
    api = wandb.Api()
    kinds = {c.name: c.is_sequence() for c in api.artifact_collections(project, "model")}
    assert kinds == {"m": True, "best": False}
    best = api.artifact_collection("model", f"{project}/best")
    assert best.aliases == ["latest", "prod"]
    assert [a.source_name for a in best.artifacts()] == ["m:v0"]
    assert api.artifacts("model", f"{project}/best", tags=["nope"]) == []
    best.description = "promoted **models**"
    best.tags = ["team-a"]
    best.save()
    again = api.artifact_collection("model", f"{project}/best")
    assert (again.description, again.tags) == ("promoted **models**", ["team-a"])
    seq = api.artifact_collection("model", f"{project}/m")
    with pytest.raises(VersionLinkedError):
        seq.delete()
    again.delete()
    assert not api.artifact_collection_exists(f"{project}/best", "model")
    assert api.artifact(f"{project}/m:v0").linked_artifacts == []
    seq.delete()
    assert not api.artifact_exists(f"{project}/m:v0")


def test_registries_lists_those_the_caller_can_see(cairn_env: CairnEnv, project: str) -> None:
    source = _log(cairn_env, project, "m", b"weights")
    source.link(f"wandb-registry-{project}/cars", aliases=["prod"])
    api = wandb.Api()
    mine = [r for r in api.registries() if r.name == project]
    assert len(mine) == 1
    reg = mine[0]
    assert (reg.entity, reg.full_name) == (source.entity, f"wandb-registry-{project}")
    assert reg.organization == source.entity
    assert [c.name for c in reg.collections()] == ["cars"]
    assert [v.source_name for v in reg.versions()] == ["m:v0"]
    assert api.registry(project).full_name == reg.full_name


def test_a_draft_cannot_be_linked(cairn_env: CairnEnv, tmp_path: Path) -> None:
    art = wandb.Artifact("m", type="model")
    with pytest.raises(wandb.ArtifactNotLoggedError):
        art.link("best")
    assert art.is_link is False


def test_a_registry_member_promotes_what_they_may_not_otherwise_touch(
    cairn_env: CairnEnv, project: str, request: pytest.FixtureRequest
) -> None:
    if cairn_env.kind == "embedded":
        pytest.skip("one local user: no one else to share a registry with")
    import uuid

    from cairn.core.accounts import Accounts
    from cairn.core.db.engine import Database
    from tests import backends

    server = backends.server_for(cairn_env.kind, request)
    source = _log(cairn_env, project, "m", b"weights")
    team, other = f"t-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:12]}"
    other_key = backends.make_user(server.db_url, other)
    db = Database(server.db_url)
    try:
        accounts = Accounts(db)
        accounts.create_team(team)
        accounts.add_member(team, source.entity, "member")
        accounts.add_member(team, other, "member")
    finally:
        db.dispose()
    source.link(f"{team}/wandb-registry-models/best")

    theirs = wandb.Api(api_key=other_key)
    assert not theirs.artifact_exists(f"{source.entity}/{project}/m:v0")  # not their project
    linked = theirs.artifact(f"{team}/wandb-registry-models/best:v0")
    root = cairn_env.work / "theirs"
    assert tree(linked.download(root=str(root)))["weights.bin"] == b"weights"
    linked.aliases = ["prod"]
    linked.save()  # portfolio aliases: the registry's, which they may write
    assert theirs.artifact(f"{team}/wandb-registry-models/best:prod").source_name == "m:v0"
    linked.metadata = {"edited": True}
    with pytest.raises((PermissionError, LookupError)):
        linked.save()  # metadata: the source's, which they may not write


def test_links_aliases_and_ttl_are_on_the_history(cairn_env: CairnEnv, project: str) -> None:
    from datetime import timedelta

    source = _log(cairn_env, project, "mnist", b"weights")
    linked = source.link("best", aliases=["production"])
    linked.aliases = ["latest", "staging"]
    linked.save()
    source.ttl = timedelta(days=3)
    source.save()
    best = linked.collection
    linked.unlink()
    events = [(e.action, e.details) for e in source.history()]
    actions = [a for a, _ in events]
    for action in ("link.added", "link.aliases", "ttl.changed", "link.removed"):
        assert action in actions, events
    assert actions.index("link.added") < actions.index("link.removed")
    added = dict(events)["link.added"]
    assert added["portfolio"] == f"{source.entity}/{project}/best" and added["index"] == 0
    alias_sets = [d["aliases"] for a, d in events if a == "link.aliases"]
    assert alias_sets == [["production"], ["staging"]]
    ttl = dict(events)["ttl.changed"]
    assert ttl["before"] == {"seconds": None, "inherit": True}  # a new version inherits
    assert ttl["after"] == {"seconds": 3 * 86400, "inherit": False}
    portfolio = [(e.action, e.details) for e in best.history()]
    assert [a for a, _ in portfolio] == [
        "link.added",
        "link.aliases",
        "link.aliases",
        "link.removed",
    ]
    assert portfolio[0][1]["source"] == f"{source.entity}/{project}/mnist:v0"
