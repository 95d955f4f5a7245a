"""The public query API: artifact paths, existence, listings, collections, types and runs."""

from __future__ import annotations

import warnings

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import log


def _log(
    env: CairnEnv,
    project: str,
    name: str,
    data: bytes,
    type_: str = "dataset",
    aliases: list[str] | None = None,
) -> wandb.Artifact:
    art = wandb.Artifact(name, type=type_)
    art.add_file(str(write(env.work / "src" / name / data.hex()[:20], data)), name="f")
    return log(project, art, aliases=aliases)


@pytest.fixture
def populated(cairn_env: CairnEnv, project: str) -> dict[str, wandb.Artifact]:
    return {
        "d0": _log(cairn_env, project, "data", b"0", aliases=["old"]),
        "d1": _log(cairn_env, project, "data", b"1", aliases=["best"]),
        "m0": _log(cairn_env, project, "model-a", b"m", type_="model"),
        "m1": _log(cairn_env, project, "model-b", b"n", type_="model"),
    }


def test_artifact_path_forms(populated: dict[str, wandb.Artifact], project: str) -> None:
    api = wandb.Api()
    entity = populated["d1"].entity
    d0, d1 = populated["d0"].id, populated["d1"].id
    assert api.artifact(f"{project}/data:v0").id == d0
    assert api.artifact(f"{project}/data:v1").id == d1
    assert api.artifact(f"{project}/data:latest").id == d1
    assert api.artifact(f"{project}/data").id == d1  # default alias: latest
    assert api.artifact(f"{project}/data:best").id == d1
    assert api.artifact(f"{project}/data:old").id == d0
    assert api.artifact(f"{entity}/{project}/data:v0").id == d0
    assert api.artifact(f"{entity}/{project}/data").id == d1


def test_overrides_give_defaults(populated: dict[str, wandb.Artifact], project: str) -> None:
    api = wandb.Api(overrides={"project": project})
    assert api.artifact("data:v0").id == populated["d0"].id
    assert api.artifact("data").id == populated["d1"].id
    entity = populated["d0"].entity
    api2 = wandb.Api(overrides={"entity": entity, "project": project})
    assert api2.artifact("model-a:v0").id == populated["m0"].id


def test_type_filter(populated: dict[str, wandb.Artifact], project: str) -> None:
    api = wandb.Api()
    assert api.artifact(f"{project}/data:v0", type="dataset").id == populated["d0"].id
    with pytest.raises(ValueError):
        api.artifact(f"{project}/data:v0", type="model")
    assert api.artifact_exists(f"{project}/data:v0", type="dataset")
    assert not api.artifact_exists(f"{project}/data:v0", type="model")


@pytest.mark.parametrize("ref", ["nope:latest", "data:v9", "data:no-such-alias", "nope"])
def test_not_found(populated: dict[str, wandb.Artifact], project: str, ref: str) -> None:
    with pytest.raises(LookupError) as info:
        wandb.Api().artifact(f"{project}/{ref}")
    assert isinstance(info.value, ValueError)
    assert not wandb.Api().artifact_exists(f"{project}/{ref}")


def test_not_found_in_unknown_project(cairn_env: CairnEnv, project: str) -> None:
    with pytest.raises(LookupError) as info:
        wandb.Api().artifact(f"{project}-never-used/data:v0")
    assert isinstance(info.value, ValueError)
    assert not wandb.Api().artifact_exists(f"{project}-never-used/data")


def test_artifacts_lists_versions(populated: dict[str, wandb.Artifact], project: str) -> None:
    api = wandb.Api()
    got = api.artifacts("dataset", f"{project}/data")
    assert [a.version for a in got] == ["v0", "v1"]
    assert [a.id for a in got] == [populated["d0"].id, populated["d1"].id]
    assert [a.version for a in api.artifacts("dataset", f"{project}/data", per_page=1)] == [
        "v0",
        "v1",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert [a.version for a in api.artifact_versions("dataset", f"{project}/data")] == [
            "v0",
            "v1",
        ]


def test_artifacts_of_unknown_collection(
    populated: dict[str, wandb.Artifact], project: str
) -> None:
    with pytest.raises((LookupError, ValueError)):
        list(wandb.Api().artifacts("dataset", f"{project}/missing"))


def test_collections(populated: dict[str, wandb.Artifact], project: str) -> None:
    api = wandb.Api()
    coll = api.artifact_collection("dataset", f"{project}/data")
    assert coll.name == "data"
    assert coll.type == "dataset"
    assert [a.version for a in coll.artifacts()] == ["v0", "v1"]
    models = api.artifact_collections(project, "model")
    assert sorted(c.name for c in models) == ["model-a", "model-b"]
    assert sorted(c.name for c in api.artifact_collections(project, "dataset")) == ["data"]
    with pytest.raises((LookupError, ValueError)):
        api.artifact_collection("model", f"{project}/data")


def test_artifact_types(populated: dict[str, wandb.Artifact], project: str) -> None:
    names = sorted(t.name for t in wandb.Api().artifact_types(project))
    assert names == ["dataset", "model"]


def test_run_lookup(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, job_type="preprocess") as run:
        run_id, entity = run.id, run.entity
    got = wandb.Api().run(f"{entity}/{project}/{run_id}")
    assert got.id == run_id
    assert got.job_type == "preprocess"
    assert got.project == project
    with pytest.raises((LookupError, ValueError)):
        wandb.Api().run(f"{entity}/{project}/nosuchrun")


def test_deleted_version_not_listed(populated: dict[str, wandb.Artifact], project: str) -> None:
    api = wandb.Api()
    api.artifact(f"{project}/data:v0").delete(delete_aliases=True)
    assert [a.version for a in api.artifacts("dataset", f"{project}/data")] == ["v1"]
    with pytest.raises(LookupError):
        api.artifact(f"{project}/data:v0")
