"""W&B parity of logged versions: aliases and tags given as strings, qualified names, dates,
logging an object twice, and taking ``latest`` off with ``save()`` (issue #15)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import cairn as wandb
from cairn import errors
from tests.conftest import CairnEnv, write


def _art(env: CairnEnv, data: bytes, name: str = "coll") -> wandb.Artifact:
    art = wandb.Artifact(name, type="dataset")
    art.add_file(str(write(env.work / data.hex()[:24] / "f.txt", data)), name="f.txt")
    return art


def _log(project: str, art: wandb.Artifact, **kwargs: object) -> wandb.Artifact:
    with wandb.init(project=project, job_type="log") as run:
        out = run.log_artifact(art, **kwargs)  # type: ignore[arg-type]
        out.wait()
    return out


def test_log_artifact_takes_a_string_as_one_alias_and_one_tag(
    cairn_env: CairnEnv, project: str
) -> None:
    _log(project, _art(cairn_env, b"one"), aliases="best", tags="nightly")
    fetched = wandb.Api().artifact(f"{project}/coll:best")
    assert sorted(fetched.aliases) == ["best", "latest"]
    assert fetched.tags == ["nightly"]


def test_use_artifact_takes_a_string_as_one_alias(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, job_type="use") as run:
        used = run.use_artifact(_art(cairn_env, b"draft"), aliases="gold")
    assert used.version == "v0"
    assert sorted(wandb.Api().artifact(f"{project}/coll:gold").aliases) == ["gold", "latest"]


def test_finish_artifact_takes_a_string_as_one_alias(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, group="g", job_type="write") as run:
        run.upsert_artifact(_art(cairn_env, b"part", name="shared"))
        run.finish_artifact(wandb.Artifact("shared", type="dataset"), aliases="done")
    assert sorted(wandb.Api().artifact(f"{project}/shared:done").aliases) == ["done", "latest"]


def test_alias_and_tag_setters_take_a_string(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Api().artifact(_log(project, _art(cairn_env, b"x")).qualified_name)
    art.aliases = "gold"
    art.tags = "reviewed"
    art.save()
    again = wandb.Api().artifact(f"{project}/coll:gold")
    assert again.aliases == ["gold"]  # `latest` was replaced along with the rest
    assert again.tags == ["reviewed"]


def test_qualified_name_names_the_version(cairn_env: CairnEnv, project: str) -> None:
    v0 = _log(project, _art(cairn_env, b"zero"))
    _log(project, _art(cairn_env, b"one"))
    assert v0.qualified_name == f"{v0.entity}/{project}/coll:v0"
    assert v0.source_qualified_name == v0.qualified_name
    assert wandb.Api().artifact(v0.qualified_name).id == v0.id
    assert wandb.Api().artifact(v0.source_qualified_name).version == "v0"


def test_dates_are_iso_8601_strings(cairn_env: CairnEnv, project: str) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    art = _log(project, _art(cairn_env, b"when"))
    fetched = wandb.Api().artifact(art.qualified_name)
    dates = (art.created_at, art.updated_at, fetched.created_at, fetched.collection.created_at)
    for value in dates:
        assert isinstance(value, str)
        parsed = datetime.fromisoformat(value)
        assert parsed.tzinfo is not None and parsed >= before
    assert fetched.created_at == art.created_at


def test_logging_the_same_object_twice_gives_the_same_version(
    cairn_env: CairnEnv, project: str
) -> None:
    art = _art(cairn_env, b"twice")
    with wandb.init(project=project, job_type="log") as run:
        first = run.log_artifact(art)
        second = run.log_artifact(art, aliases=["again"])
        second.wait()
    assert first is second
    assert art.version == "v0"
    fetched = wandb.Api().artifact(f"{project}/coll:again")
    assert fetched.id == art.id
    assert len(list(fetched.collection.artifacts())) == 1


def test_logging_a_fetched_version_again_gives_that_version(
    cairn_env: CairnEnv, project: str
) -> None:
    logged = _log(project, _art(cairn_env, b"fetched"))
    fetched = wandb.Api().artifact(logged.qualified_name)
    again = _log(project, fetched, aliases=["seen"])
    assert again.id == logged.id and again.version == "v0"
    assert "seen" in wandb.Api().artifact(f"{project}/coll:v0").aliases


def test_removing_latest_and_saving_takes_it_off(cairn_env: CairnEnv, project: str) -> None:
    _log(project, _art(cairn_env, b"zero"))
    _log(project, _art(cairn_env, b"one"))
    art = wandb.Api().artifact(f"{project}/coll:latest")
    art.aliases.append("best")
    art.aliases.remove("latest")
    art.save()
    assert wandb.Api().artifact(f"{project}/coll:v1").aliases == ["best"]
    with pytest.raises(errors.ArtifactNotFoundError):
        wandb.Api().artifact(f"{project}/coll:latest")
    assert "latest" not in wandb.Api().artifact(f"{project}/coll:v0").aliases
    # The next log moves `latest` again.
    _log(project, _art(cairn_env, b"two"))
    assert wandb.Api().artifact(f"{project}/coll:latest").version == "v2"
    assert wandb.Api().artifact(f"{project}/coll:v1").aliases == ["best"]


def test_replacing_the_aliases_takes_latest_off_until_logged_again(
    cairn_env: CairnEnv, project: str
) -> None:
    _log(project, _art(cairn_env, b"same"))
    art = wandb.Api().artifact(f"{project}/coll:latest")
    art.aliases = ["replaced"]
    art.save()
    assert art.aliases == ["replaced"]
    assert wandb.Api().artifact(f"{project}/coll:replaced").aliases == ["replaced"]
    assert not wandb.Api().artifact_exists(f"{project}/coll:latest")
    again = _log(project, _art(cairn_env, b"same"))  # same content: the same version
    assert again.version == "v0"
    assert sorted(wandb.Api().artifact(f"{project}/coll:latest").aliases) == [
        "latest",
        "replaced",
    ]


def test_saving_an_older_version_leaves_latest_alone(cairn_env: CairnEnv, project: str) -> None:
    _log(project, _art(cairn_env, b"zero"))
    _log(project, _art(cairn_env, b"one"))
    old = wandb.Api().artifact(f"{project}/coll:v0")
    old.aliases = ["old"]
    old.save()
    assert wandb.Api().artifact(f"{project}/coll:latest").version == "v1"
