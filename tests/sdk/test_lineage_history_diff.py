"""Lineage graphs, audit history and diffs through the public API, on every backend kind."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5


def _art(env: CairnEnv, files: dict[str, bytes], name: str) -> wandb.Artifact:
    art = wandb.Artifact(name, type="dataset")
    for path, data in files.items():
        art.add_file(str(write(Path(env.work) / name / path, data)), name=path)
    return art


def _pipeline(env: CairnEnv, project: str) -> tuple[wandb.Artifact, wandb.Artifact, str, str]:
    """raw ─used▶ train ─logged▶ model ─used▶ evaluate."""
    with wandb.init(project=project, job_type="upload") as run:
        raw = run.log_artifact(_art(env, {"x": b"raw"}, "raw"))
        raw.wait()
    with wandb.init(project=project, job_type="train") as run:
        run.use_artifact("raw:latest")
        model = run.log_artifact(_art(env, {"w": b"weights"}, "model"))
        model.wait()
        train_id = run.id
    with wandb.init(project=project, job_type="evaluate") as run:
        run.use_artifact("model:latest")
        eval_id = run.id
    return raw, model, train_id, eval_id


def test_artifact_lineage_walks_up_and_down(cairn_env: CairnEnv, project: str) -> None:
    raw, model, train_id, eval_id = _pipeline(cairn_env, project)
    model = wandb.Api().artifact(f"{project}/model:v0")

    up = model.lineage(direction="upstream", depth=3)
    assert up.root.path == f"{model.entity}/{project}/model:v0"
    assert [(n.depth, n.kind) for n in up] == [
        (0, "version"),
        (1, "run"),
        (2, "version"),
        (3, "run"),
    ]
    train = up.upstream(up.root)
    assert [(n.kind, n.id, n.type) for n in train] == [("run", train_id, "train")]
    assert [n.path for n in up.upstream(train[0])] == [f"{raw.entity}/{project}/raw:v0"]
    assert [n.name for n in up.artifacts()] == ["model", "raw"]

    down = model.lineage(direction="downstream", depth=1)
    assert [(n.kind, n.id) for n in down.runs()] == [("run", eval_id)]
    assert {(e.kind) for e in down.edges} == {"used"}

    both = model.lineage()  # both ways, depth 10
    assert {n.id for n in both.runs()} >= {train_id, eval_id}


def test_run_lineage_starts_at_the_run(cairn_env: CairnEnv, project: str) -> None:
    raw, model, train_id, _ = _pipeline(cairn_env, project)
    run = wandb.Api().run(f"{project}/{train_id}")
    g = run.lineage(depth=1)
    assert g.root.id == train_id
    assert {n.name for n in g.artifacts()} == {"raw", "model"}
    assert wandb.Api().artifact(g.artifacts()[0].path).id in {raw.id, model.id}
    assert {(g.node(e.source).kind, e.kind, g.node(e.target).kind) for e in g.edges} == {
        ("version", "used", "run"),
        ("run", "logged", "version"),
    }


def test_a_run_that_used_a_portfolio_alias_came_through_the_link(
    cairn_env: CairnEnv, project: str
) -> None:
    _, model, _, _ = _pipeline(cairn_env, project)
    model.link("best", aliases=["prod"])
    with wandb.init(project=project, job_type="deploy") as run:
        run.use_artifact("best:prod")
        deploy_id = run.id
    g = wandb.Api().artifact(f"{project}/model:v0").lineage(direction="downstream", depth=2)
    [link] = g.links()
    assert link.path == f"{model.entity}/{project}/best:v0"
    assert [n.id for n in g.downstream(link)] == [deploy_id]
    assert g.upstream(link) == [g.root]
    assert link not in g.artifacts()
    assert wandb.Api().artifact(link.path).source_artifact.id == model.id


def test_bad_lineage_arguments_are_value_errors(cairn_env: CairnEnv, project: str) -> None:
    _, model, _, _ = _pipeline(cairn_env, project)
    with pytest.raises(ValueError):
        model.lineage(direction="sideways")
    with pytest.raises(ValueError):
        model.lineage(depth=0)


def test_history_records_alias_tag_and_metadata_changes(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        v0 = run.log_artifact(_art(cairn_env, {"a": b"0"}, "d"), aliases=["prod"])
        v0.wait()
        v1 = run.log_artifact(_art(cairn_env, {"a": b"1"}, "d"))
        v1.wait()
    v0 = wandb.Api().artifact(f"{project}/d:v0")
    v0.metadata = {"acc": 0.9}
    v0.tags = ["gold"]
    v0.aliases = []
    v0.save()

    events = [(e.action, e.details) for e in v0.history()]
    assert events[:3] == [
        ("alias.added", {"alias": "latest", "from_version": None}),
        ("alias.added", {"alias": "prod", "from_version": None}),
        ("alias.removed", {"alias": "latest", "to_version": v1.id}),
    ]
    assert sorted(events[3:], key=str) == sorted(
        [
            ("metadata.changed", {"before": {}, "after": {"acc": 0.9}}),
            ("alias.removed", {"alias": "prod", "to_version": None}),
            ("tag.added", {"tag": "gold"}),
        ],
        key=str,
    )
    assert {e.version for e in v0.history()} == {"v0"}
    assert len({e.actor for e in v0.history()}) == 1

    wandb.Api().artifact(f"{project}/d:v1").delete()
    collection = wandb.Api().artifact_collection("dataset", f"{project}/d")
    history = collection.history(per_page=2)  # pages of 2
    assert [e.id for e in history] == sorted(e.id for e in history)
    assert ("version.deleted", v1.id) in [(e.action, e.version_id) for e in history]
    assert history[-1].action == "alias.added" and history[-1].version == "v0"


def test_diff_between_two_collections(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        a = run.log_artifact(_art(cairn_env, {"same": b"s", "gone": b"g", "ch": b"1"}, "a"))
        a.wait()
        b = run.log_artifact(_art(cairn_env, {"same": b"s", "new": b"n", "ch": b"22"}, "b"))
        b.wait()
    b.metadata = {"split": "test"}
    b.save()

    d = wandb.diff(f"{project}/a:v0", b)
    assert (d.added, d.removed, d.changed, d.unchanged) == (1, 1, 1, 1)
    assert [(c.key, c.status, c.new) for c in d.metadata] == [("split", "added", "test")]
    assert not d.identical
    got = [
        (e.path, e.status, e.old_digest, e.new_digest, e.new_size) for e in d.entries(per_page=1)
    ]
    assert got == [
        ("ch", "changed", b64md5(b"1"), b64md5(b"22"), 2),
        ("gone", "removed", b64md5(b"g"), None, None),
        ("new", "added", None, b64md5(b"n"), 1),
    ]
    assert [e.path for e in d.entries(status="added")] == ["new"]
    assert wandb.diff(a, a).identical
