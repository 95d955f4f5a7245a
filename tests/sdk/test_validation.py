"""A rejected input raises ValueError and leaves the store exactly as it was."""

from __future__ import annotations

import math

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import log, versions


def _draft(
    env: CairnEnv, name: str = "coll", data: bytes = b"data", type_: str = "dataset"
) -> wandb.Artifact:
    art = wandb.Artifact(name, type=type_)
    art.add_file(str(write(env.work / f"{name}-{data.hex()[:16]}.txt", data)), name="f.txt")
    return art


@pytest.mark.parametrize("aliases", [["a/b"], ["a:b"], ["v3"], ["ok", "v0"], ["x" * 129]])
def test_bad_alias_on_log_leaves_no_version(
    cairn_env: CairnEnv, project: str, aliases: list[str]
) -> None:
    with wandb.init(project=project) as run, pytest.raises(ValueError):
        run.log_artifact(_draft(cairn_env), aliases=aliases)
    assert not wandb.Api().artifact_exists(f"{project}/coll")


def test_bad_alias_on_second_log_keeps_versions(cairn_env: CairnEnv, project: str) -> None:
    log(project, _draft(cairn_env, data=b"one"), aliases=["best"])
    with wandb.init(project=project) as run, pytest.raises(ValueError):
        run.log_artifact(_draft(cairn_env, data=b"two"), aliases=["best", "v7"])
    assert versions(project, "coll", "dataset") == ["v0"]
    assert set(wandb.Api().artifact(f"{project}/coll:best").aliases) == {"latest", "best"}


@pytest.mark.parametrize("tags", [["a.b"], ["a:b"], ["ok", ""]])
def test_bad_tag_on_log_leaves_no_version(
    cairn_env: CairnEnv, project: str, tags: list[str]
) -> None:
    with wandb.init(project=project) as run, pytest.raises(ValueError):
        run.log_artifact(_draft(cairn_env), tags=tags)
    assert not wandb.Api().artifact_exists(f"{project}/coll")


def test_metadata_made_invalid_in_place_is_refused_at_log(
    cairn_env: CairnEnv, project: str
) -> None:
    art = _draft(cairn_env)
    art.metadata["bad"] = math.inf
    with wandb.init(project=project) as run, pytest.raises(ValueError):
        run.log_artifact(art)
    assert not wandb.Api().artifact_exists(f"{project}/coll")


def test_type_conflict_names_existing_type(cairn_env: CairnEnv, project: str) -> None:
    log(project, _draft(cairn_env, name="cats", type_="dataset"))
    with wandb.init(project=project) as run, pytest.raises(ValueError, match="dataset"):
        run.log_artifact(_draft(cairn_env, name="cats", data=b"other", type_="model"))
    assert versions(project, "cats", "dataset") == ["v0"]
    api = wandb.Api()
    assert api.artifact(f"{project}/cats:latest").type == "dataset"
    assert [c.name for c in api.artifact_collections(project, "model")] == []


def test_same_name_in_other_project_may_have_other_type(cairn_env: CairnEnv, project: str) -> None:
    log(project, _draft(cairn_env, name="cats", type_="dataset"))
    other = project + "-b"
    log(other, _draft(cairn_env, name="cats", data=b"x", type_="model"))
    assert wandb.Api().artifact(f"{other}/cats:v0").type == "model"


@pytest.mark.parametrize("alias", ["a/b", "v3", "x:y"])
def test_bad_alias_on_save_leaves_aliases(cairn_env: CairnEnv, project: str, alias: str) -> None:
    log(project, _draft(cairn_env), aliases=["best"])
    art = wandb.Api().artifact(f"{project}/coll:v0")
    art.aliases.append(alias)
    art.description = "changed"
    with pytest.raises(ValueError):
        art.save()
    again = wandb.Api().artifact(f"{project}/coll:v0")
    assert set(again.aliases) == {"latest", "best"}
    assert again.description is None


def test_bad_metadata_on_save_leaves_metadata(cairn_env: CairnEnv, project: str) -> None:
    art = _draft(cairn_env)
    art.metadata["rows"] = 3
    log(project, art)
    fetched = wandb.Api().artifact(f"{project}/coll:v0")
    fetched.metadata["x"] = -math.inf
    with pytest.raises(ValueError):
        fetched.save()
    assert wandb.Api().artifact(f"{project}/coll:v0").metadata == {"rows": 3}


def test_bad_tag_on_save_leaves_tags(cairn_env: CairnEnv, project: str) -> None:
    log(project, _draft(cairn_env), tags=["good"])
    fetched = wandb.Api().artifact(f"{project}/coll:v0")
    fetched.tags.append("bad.tag")
    with pytest.raises(ValueError):
        fetched.save()
    assert wandb.Api().artifact(f"{project}/coll:v0").tags == ["good"]


def test_nan_metadata_stored_as_none(cairn_env: CairnEnv, project: str) -> None:
    art = _draft(cairn_env)
    art.metadata["loss"] = math.nan
    log(project, art)
    assert wandb.Api().artifact(f"{project}/coll:v0").metadata == {"loss": None}


def test_latest_cannot_be_given_to_an_older_version(cairn_env: CairnEnv, project: str) -> None:
    log(project, _draft(cairn_env, data=b"one"))
    log(project, _draft(cairn_env, data=b"two"))
    old = wandb.Api().artifact(f"{project}/coll:v0")
    old.aliases.append("latest")
    try:
        old.save()
    except ValueError:
        pass  # refusing is fine; silently moving latest is not
    assert wandb.Api().artifact(f"{project}/coll:latest").version == "v1"
    assert "latest" not in wandb.Api().artifact(f"{project}/coll:v0").aliases
