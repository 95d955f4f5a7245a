"""Attributes of a logged artifact, as returned by log_artifact and by the Api."""

from __future__ import annotations

from datetime import datetime

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, version_digest

FILES = {"a.txt": b"alpha", "sub/b.bin": bytes(range(200)), "empty": b""}


@pytest.fixture
def logged(cairn_env: CairnEnv, project: str) -> tuple[wandb.Artifact, str]:
    art = wandb.Artifact(
        "bike-dataset",
        type="dataset",
        description="bikes **md**",
        metadata={"rows": 10, "nested": {"k": [1, 2]}},
    )
    for path, data in FILES.items():
        art.add_file(str(write(cairn_env.work / "src" / path, data)), name=path)
    with wandb.init(project=project, job_type="preprocess") as run:
        out = run.log_artifact(art, aliases=["best"], tags=["raw"])
        out.wait()
        run_id = run.id
    return out, run_id


def _check(art: wandb.Artifact, project: str) -> None:
    assert not art.is_draft()
    assert isinstance(art.id, str) and art.id
    assert art.name == "bike-dataset:v0"
    assert art.version == "v0"
    assert art.source_version == "v0"
    assert art.source_name == "bike-dataset:v0"
    assert set(art.aliases) == {"latest", "best"}
    assert art.tags == ["raw"]
    assert art.state == "COMMITTED"
    assert art.project == project
    assert art.source_project == project
    assert isinstance(art.entity, str) and art.entity
    assert art.source_entity == art.entity
    assert art.qualified_name == f"{art.entity}/{project}/bike-dataset:v0"
    assert art.source_qualified_name == art.qualified_name
    assert art.type == "dataset"
    assert art.description == "bikes **md**"
    assert art.metadata == {"rows": 10, "nested": {"k": [1, 2]}}
    assert art.digest == version_digest(FILES)
    assert art.size == sum(len(v) for v in FILES.values())
    assert art.file_count == 3
    assert isinstance(art.commit_hash, str) and art.commit_hash
    assert isinstance(art.created_at, str) and isinstance(art.updated_at, str)  # as W&B
    assert datetime.fromisoformat(art.updated_at) >= datetime.fromisoformat(art.created_at)
    coll = art.collection
    assert coll.name == "bike-dataset"
    assert coll.type == "dataset"
    src = art.source_collection
    assert src.name == "bike-dataset"
    contents = art.manifest.to_json()["contents"]
    assert {p: c["digest"] for p, c in contents.items()} == {p: b64md5(d) for p, d in FILES.items()}
    assert {p: c["size"] for p, c in contents.items()} == {p: len(d) for p, d in FILES.items()}


def test_returned_artifact_attributes(logged: tuple[wandb.Artifact, str], project: str) -> None:
    _check(logged[0], project)


def test_fetched_artifact_attributes(logged: tuple[wandb.Artifact, str], project: str) -> None:
    fetched = wandb.Api().artifact(f"{project}/bike-dataset:best")
    _check(fetched, project)
    assert fetched.id == logged[0].id
    assert fetched.commit_hash == logged[0].commit_hash
    assert fetched.created_at == logged[0].created_at
    assert fetched == logged[0]


def test_json_encode(logged: tuple[wandb.Artifact, str], project: str) -> None:
    art = wandb.Api().artifact(f"{project}/bike-dataset:v0")
    data = art.json_encode()
    assert data["_type"] == "artifactVersion"
    assert data["id"] == art.id
    assert data["version"] == "v0"
    assert data["sequenceName"] == "bike-dataset"
    import json

    json.dumps(data)  # plain JSON


def test_lineage(logged: tuple[wandb.Artifact, str], project: str) -> None:
    art, producer_id = logged
    with wandb.init(project=project, job_type="train") as run:
        used = run.use_artifact("bike-dataset:best")
        assert used.id == art.id
        consumer_id = run.id
    with wandb.init(project=project, job_type="eval") as run:
        run.use_artifact("bike-dataset:v0")
        run.use_artifact("bike-dataset:latest")  # the same version twice: recorded once
        consumer2 = run.id
    fetched = wandb.Api().artifact(f"{project}/bike-dataset:v0")
    by = fetched.logged_by()
    assert by is not None
    assert by.id == producer_id
    assert by.job_type == "preprocess"
    users = fetched.used_by()
    assert sorted(r.id for r in users) == sorted([consumer_id, consumer2])
    assert {r.job_type for r in users} == {"train", "eval"}


def test_updated_at_moves_on_save(logged: tuple[wandb.Artifact, str], project: str) -> None:
    art = wandb.Api().artifact(f"{project}/bike-dataset:v0")
    before = art.updated_at
    art.description = "changed"
    art.save()
    after = wandb.Api().artifact(f"{project}/bike-dataset:v0")
    assert datetime.fromisoformat(after.updated_at) >= datetime.fromisoformat(before)
    assert after.created_at == art.created_at
    assert after.description == "changed"


def test_wait_returns_the_artifact(logged: tuple[wandb.Artifact, str]) -> None:
    art = logged[0]
    assert art.wait() is art
    assert art.wait(timeout=30) is art
