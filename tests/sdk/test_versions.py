"""Versions, dedup, aliases, tags, new_draft, incremental, delete, save and runs."""

from __future__ import annotations

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, entry_paths, log, tree, versions


def _art(
    env: CairnEnv, files: dict[str, bytes], name: str = "coll", **kwargs: object
) -> wandb.Artifact:
    art = wandb.Artifact(name, type="dataset", **kwargs)  # type: ignore[arg-type]
    for path, data in files.items():
        art.add_file(str(write(env.work / "src" / data.hex()[:24] / "f", data)), name=path)
    return art


def _aliases(project: str, ref: str) -> set[str]:
    return set(wandb.Api().artifact(f"{project}/{ref}").aliases)


def test_versions_count_up(cairn_env: CairnEnv, project: str) -> None:
    first = log(project, _art(cairn_env, {"a": b"1"}))
    second = log(project, _art(cairn_env, {"a": b"2"}))
    third = log(project, _art(cairn_env, {"a": b"3"}))
    assert [first.version, second.version, third.version] == ["v0", "v1", "v2"]
    assert versions(project, "coll", "dataset") == ["v0", "v1", "v2"]
    assert len({first.id, second.id, third.id}) == 3
    assert wandb.Api().artifact(f"{project}/coll:latest").id == third.id
    assert _aliases(project, "coll:v0") == set()
    assert _aliases(project, "coll:v2") == {"latest"}


def test_identical_content_makes_no_new_version(cairn_env: CairnEnv, project: str) -> None:
    first = log(project, _art(cairn_env, {"a": b"same"}, description="first"))
    again = log(
        project,
        _art(cairn_env, {"a": b"same"}, description="second"),
        aliases=["best"],
        tags=["tagged"],
    )
    assert again.version == "v0"
    assert again.id == first.id
    assert again.name == "coll:v0"
    assert versions(project, "coll", "dataset") == ["v0"]
    fetched = wandb.Api().artifact(f"{project}/coll:best")
    assert fetched.id == first.id
    assert set(fetched.aliases) == {"latest", "best"}
    assert "tagged" in fetched.tags


def test_same_content_as_older_version_is_a_new_version(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"A"}))
    log(project, _art(cairn_env, {"a": b"B"}))
    back = log(project, _art(cairn_env, {"a": b"A"}))
    assert back.version == "v2"  # only the latest version's digest is compared


def test_custom_alias_moves(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}), aliases=["best", "keep"])
    log(project, _art(cairn_env, {"a": b"2"}), aliases=["best"])
    assert _aliases(project, "coll:v0") == {"keep"}
    assert _aliases(project, "coll:v1") == {"latest", "best"}
    assert wandb.Api().artifact(f"{project}/coll:best").version == "v1"
    old = wandb.Api().artifact(f"{project}/coll:v0")
    old.aliases.append("best")
    old.save()
    assert wandb.Api().artifact(f"{project}/coll:best").version == "v0"
    assert _aliases(project, "coll:v1") == {"latest"}
    assert _aliases(project, "coll:v0") == {"keep", "best"}


def test_aliases_are_per_collection(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}, name="one"), aliases=["best"])
    log(project, _art(cairn_env, {"a": b"2"}, name="two"), aliases=["best"])
    assert "best" in _aliases(project, "one:v0")
    assert "best" in _aliases(project, "two:v0")


def test_log_latest_alias_explicitly_is_harmless(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}), aliases=["latest", "best"])
    assert _aliases(project, "coll:v0") == {"latest", "best"}


def test_tags_separate_from_aliases(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}), aliases=["best"], tags=["raw", "two words"])
    log(project, _art(cairn_env, {"a": b"2"}), tags=["raw"])
    v0 = wandb.Api().artifact(f"{project}/coll:v0")
    assert v0.tags == ["raw", "two words"]
    assert set(v0.aliases) == {"best"}
    v1 = wandb.Api().artifact(f"{project}/coll:v1")
    assert v1.tags == ["raw"]  # the same tag on many versions: tags do not move
    with pytest.raises((LookupError, ValueError)):
        wandb.Api().artifact(f"{project}/coll:raw")


def test_save_persists_edits(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}, description="d0", metadata={"a": 1, "b": 2}))
    art = wandb.Api().artifact(f"{project}/coll:latest")
    art.description = "new description"
    art.metadata = {"newKey": "new value"}
    art.aliases = ["latest", "replaced"]  # without "latest" it would come off (the spec)
    art.tags = ["t1"]
    art.save()
    got = wandb.Api().artifact(f"{project}/coll:v0")
    assert got.description == "new description"
    assert got.metadata == {"newKey": "new value"}
    assert set(got.aliases) == {"latest", "replaced"}
    assert got.tags == ["t1"]
    got.aliases.remove("replaced")
    got.tags = []
    got.description = None
    got.save()
    final = wandb.Api().artifact(f"{project}/coll:v0")
    assert set(final.aliases) == {"latest"}
    assert final.tags == []
    assert final.description is None
    assert not wandb.Api().artifact_exists(f"{project}/coll:replaced")


def test_save_does_not_change_content(cairn_env: CairnEnv, project: str) -> None:
    first = log(project, _art(cairn_env, {"a": b"1"}))
    art = wandb.Api().artifact(f"{project}/coll:v0")
    art.metadata["k"] = "v"
    art.save()
    assert versions(project, "coll", "dataset") == ["v0"]
    assert wandb.Api().artifact(f"{project}/coll:v0").digest == first.digest


def test_new_draft_logs_next_version(cairn_env: CairnEnv, project: str) -> None:
    v0 = log(
        project,
        _art(cairn_env, {"a.txt": b"A", "b.txt": b"B"}, description="desc", metadata={"m": 1}),
    )
    fetched = wandb.Api().artifact(f"{project}/coll:v0")
    draft = fetched.new_draft()
    assert draft.is_draft()
    assert draft.name == "coll"
    assert draft.type == "dataset"
    assert draft.description == "desc"
    assert draft.metadata == {"m": 1}
    assert entry_paths(draft) == {"a.txt", "b.txt"}
    draft.add_file(str(write(cairn_env.work / "c.txt", b"C")))
    draft.remove("b.txt")
    v1 = log(project, draft)
    assert v1.version == "v1"
    contents = wandb.Api().artifact(f"{project}/coll:v1").manifest.to_json()["contents"]
    assert set(contents) == {"a.txt", "c.txt"}
    assert contents["a.txt"]["birthArtifactID"] == v0.id  # carried over, not uploaded again
    assert contents["c.txt"]["birthArtifactID"] == v1.id
    root = wandb.Api().artifact(f"{project}/coll:v1").download(root=str(cairn_env.work / "o"))
    assert tree(root) == {"a.txt": b"A", "c.txt": b"C"}
    assert fetched.is_draft() is False  # the source is untouched


def test_new_draft_unchanged_is_deduplicated(cairn_env: CairnEnv, project: str) -> None:
    v0 = log(project, _art(cairn_env, {"a.txt": b"A"}))
    again = log(project, wandb.Api().artifact(f"{project}/coll:v0").new_draft())
    assert again.id == v0.id
    assert versions(project, "coll", "dataset") == ["v0"]


def test_incremental_merges_onto_latest(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a.txt": b"A", "b.txt": b"B"}))
    inc = _art(cairn_env, {"b.txt": b"B2", "c.txt": b"C"}, incremental=True)
    v1 = log(project, inc)
    assert v1.version == "v1"
    got = wandb.Api().artifact(f"{project}/coll:v1")
    contents = got.manifest.to_json()["contents"]
    assert {p: c["digest"] for p, c in contents.items()} == {
        "a.txt": b64md5(b"A"),
        "b.txt": b64md5(b"B2"),
        "c.txt": b64md5(b"C"),
    }
    assert got.file_count == 3
    root = got.download(root=str(cairn_env.work / "o"))
    assert tree(root) == {"a.txt": b"A", "b.txt": b"B2", "c.txt": b"C"}


def test_incremental_first_version(cairn_env: CairnEnv, project: str) -> None:
    v0 = log(project, _art(cairn_env, {"a.txt": b"A"}, incremental=True))
    assert v0.version == "v0"
    assert entry_paths(wandb.Api().artifact(f"{project}/coll:v0")) == {"a.txt"}


def test_delete_refused_with_custom_aliases(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}), aliases=["best"])
    log(project, _art(cairn_env, {"a": b"2"}))
    art = wandb.Api().artifact(f"{project}/coll:v0")
    with pytest.raises(ValueError, match="best"):
        art.delete()
    assert versions(project, "coll", "dataset") == ["v0", "v1"]
    assert wandb.Api().artifact(f"{project}/coll:best").version == "v0"
    art.delete(delete_aliases=True)
    assert versions(project, "coll", "dataset") == ["v1"]
    assert not wandb.Api().artifact_exists(f"{project}/coll:v0")
    assert not wandb.Api().artifact_exists(f"{project}/coll:best")


def test_delete_latest_moves_latest_and_index_not_reused(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}))
    log(project, _art(cairn_env, {"a": b"2"}))
    wandb.Api().artifact(f"{project}/coll:v1").delete()  # "latest" is not a custom alias
    assert wandb.Api().artifact(f"{project}/coll:latest").version == "v0"
    assert not wandb.Api().artifact_exists(f"{project}/coll:v1")
    # same content as the deleted v1: still a new version, with a new index
    v2 = log(project, _art(cairn_env, {"a": b"2"}))
    assert v2.version == "v2"
    assert versions(project, "coll", "dataset") == ["v0", "v2"]
    root = wandb.Api().artifact(f"{project}/coll:v2").download(root=str(cairn_env.work / "o"))
    assert tree(root) == {"a": b"2"}


def test_delete_only_version(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}))
    wandb.Api().artifact(f"{project}/coll:v0").delete()
    assert not wandb.Api().artifact_exists(f"{project}/coll")
    assert log(project, _art(cairn_env, {"a": b"1"})).version == "v1"


# -- runs ----------------------------------------------------------------------------------------


def test_save_draft_outside_run_uses_auto_run(cairn_env: CairnEnv, project: str) -> None:
    art = _art(cairn_env, {"a": b"1"})
    assert wandb.run is None
    art.save(project=project)
    art.wait()
    assert wandb.run is None
    assert not art.is_draft()
    got = wandb.Api().artifact(f"{project}/coll:v0")
    producer = got.logged_by()
    assert producer is not None
    assert producer.job_type == "auto"
    assert producer.project == project


def test_save_draft_inside_run_logs_with_that_run(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, job_type="prep") as run:
        art = _art(cairn_env, {"a": b"1"})
        art.save()
        art.wait()
        run_id = run.id
    producer = wandb.Api().artifact(f"{project}/coll:v0").logged_by()
    assert producer is not None and producer.id == run_id


def test_use_artifact_draft_is_idempotent(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, job_type="train") as run:
        first = run.use_artifact(_art(cairn_env, {"model.h5": b"w"}, name="ref-model"))
        second = run.use_artifact(_art(cairn_env, {"model.h5": b"w"}, name="ref-model"))
        first.wait()
        second.wait()
        assert first.id == second.id
        run_id = run.id
    assert versions(project, "ref-model", "dataset") == ["v0"]
    got = wandb.Api().artifact(f"{project}/ref-model:v0")
    assert [r.id for r in got.used_by()] == [run_id]


def test_module_level_functions_need_a_run(cairn_env: CairnEnv, project: str) -> None:
    art = _art(cairn_env, {"a": b"1"})
    assert wandb.run is None
    with pytest.raises(Exception, match="init"):
        wandb.log_artifact(art)
    with pytest.raises(Exception, match="init"):
        wandb.use_artifact("coll:latest")
    assert art.is_draft()


def test_module_level_functions_use_current_run(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, job_type="j") as run:
        assert wandb.run is run
        logged = wandb.log_artifact(_art(cairn_env, {"a": b"1"}), aliases=["x"])
        logged.wait()
        used = wandb.use_artifact("coll:x")
        assert used.id == logged.id
        run_id = run.id
    assert wandb.run is None
    got = wandb.Api().artifact(f"{project}/coll:v0")
    assert got.logged_by().id == run_id  # type: ignore[union-attr]
    assert [r.id for r in got.used_by()] == [run_id]


def test_init_with_finish_previous_finishes_the_active_run(
    cairn_env: CairnEnv, project: str
) -> None:
    first = wandb.init(project=project)
    second = wandb.init(project=project, reinit="finish_previous")
    assert wandb.run is second
    assert first.id != second.id
    assert wandb.Api().run(first.path).state == "finished"
    wandb.finish()
    assert wandb.run is None


def test_log_artifact_path_shorthand(cairn_env: CairnEnv, project: str) -> None:
    f = write(cairn_env.work / "weights.bin", b"w")
    with wandb.init(project=project) as run:
        art = run.log_artifact(str(f), name="weights", type="model")
        art.wait()
    got = wandb.Api().artifact(f"{project}/weights:v0")
    assert got.type == "model"
    assert entry_paths(got) == {"weights.bin"}


def test_edits_without_save_are_not_persisted(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}, metadata={"k": 1}))
    art = wandb.Api().artifact(f"{project}/coll:v0")
    art.metadata["k"] = 2
    art.description = "unsaved"
    art.aliases.append("unsaved")
    again = wandb.Api().artifact(f"{project}/coll:v0")
    assert again.metadata == {"k": 1}
    assert again.description is None
    assert set(again.aliases) == {"latest"}


def test_default_project(cairn_env: CairnEnv) -> None:
    with wandb.init() as run:
        assert run.project == "uncategorized"
        logged = run.log_artifact(_art(cairn_env, {"a": b"default project"}, name="dflt"))
        logged.wait()
    assert logged.project == "uncategorized"
    assert wandb.Api().artifact("dflt:latest").id == logged.id
    assert wandb.Api().artifact("uncategorized/dflt:v0").id == logged.id


def test_use_artifact_type_mismatch(cairn_env: CairnEnv, project: str) -> None:
    log(project, _art(cairn_env, {"a": b"1"}))
    with wandb.init(project=project) as run:
        with pytest.raises(ValueError):
            run.use_artifact("coll:latest", type="model")
        assert run.use_artifact("coll:latest", type="dataset").version == "v0"
