"""``init()`` as W&B 0.31: modes, ``reinit``, ``resume``, and keywords it does not know."""

from __future__ import annotations

import warnings

import pytest

import cairn as wandb
from cairn.backend.local import LocalBackend
from cairn.errors import ConflictError, RunNotFoundError, ValidationError
from cairn.sdk import init as init_module
from tests.conftest import CairnEnv


def test_second_init_returns_the_active_run(cairn_env: CairnEnv, project: str) -> None:
    first = wandb.init(project=project)
    first.log({"a": 1})
    again = wandb.init(project=project, name="ignored")
    assert again is first and wandb.run is first
    again.log({"a": 2})  # still usable: W&B returns the active run, it does not finish it
    wandb.finish()
    assert [r["a"] for r in wandb.Api().run(first.path).scan_history()] == [1, 2]


def test_reinit_create_new_leaves_the_current_run(cairn_env: CairnEnv, project: str) -> None:
    first = wandb.init(project=project)
    second = wandb.init(project=project, reinit="create_new")
    assert second is not first
    assert wandb.run is first  # module-level calls stay with the first run
    wandb.log({"where": "first"})
    second.log({"where": "second"})
    second.finish()
    first.finish()
    api = wandb.Api()
    assert [r["where"] for r in api.run(first.path).scan_history()] == ["first"]
    assert [r["where"] for r in api.run(second.path).scan_history()] == ["second"]


def test_reinit_true_is_deprecated_and_finishes_previous(cairn_env: CairnEnv, project: str) -> None:
    first = wandb.init(project=project)
    with pytest.warns(DeprecationWarning, match="boolean value for 'reinit'"):
        second = wandb.init(project=project, reinit=True)
    assert second is not first and wandb.run is second
    assert wandb.Api().run(first.path).state == "finished"


def test_resume_must_while_a_run_is_active_raises(cairn_env: CairnEnv, project: str) -> None:
    wandb.init(project=project)
    with pytest.raises(ValidationError, match="another run is active"):
        wandb.init(project=project, id="x", resume="must")


def test_resume_must_and_never(cairn_env: CairnEnv, project: str) -> None:
    with pytest.raises(RunNotFoundError):
        wandb.init(project=project, id="nobody", resume="must")
    with wandb.init(project=project, id="someone"):
        pass
    with pytest.raises(ConflictError, match="never"):
        wandb.init(project=project, id="someone", resume="never")
    with wandb.init(project=project, id="someone", resume="must") as run:
        assert run.id == "someone"


def test_unknown_keywords_warn_once_per_keyword(
    cairn_env: CairnEnv, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(init_module, "_warned", set())
    with pytest.warns(UserWarning) as seen:
        wandb.init(project=project, save_code=True, monitor_gym=False).finish()
    assert sorted(str(w.message) for w in seen) == [
        "cairn.init() ignores the keyword 'monitor_gym'",
        "cairn.init() ignores the keyword 'save_code'",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wandb.init(project=project, save_code=True).finish()


def test_disabled_mode_records_nothing_but_returns_usable_objects(
    cairn_env: CairnEnv, project: str
) -> None:
    run = wandb.init(project=project, mode="disabled", config={"lr": 0.1}, tags=["t"])
    assert run.disabled and wandb.run is run
    run.log({"loss": 1.0})
    wandb.log({"loss": 0.5})
    run.config.batch = 4
    run.summary["best"] = 1
    assert run.config.lr == 0.1 and run.summary["best"] == 1
    art = wandb.Artifact("data", type="dataset")
    assert run.log_artifact(art) is art
    used = run.use_artifact("someone/else/model:v3", type="model")
    assert (used.name, used.type) == ("model", "model")
    assert run.logged_artifacts() == [] and list(run.scan_history()) == []
    run.finish()
    assert wandb.run is None
    with pytest.raises(RunNotFoundError):
        wandb.Api().run(f"{project}/{run.id}")


def test_disabled_mode_from_wandb_mode(
    cairn_env: CairnEnv, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with wandb.init(project=project) as run:
        assert run.disabled


def test_offline_mode_logs_to_the_embedded_store(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, mode="offline", entity="me") as run:
        run.log({"x": 1})
        assert run.offline
    local = LocalBackend(cairn_env.data_dir)
    try:
        assert local.get_run("me", project, run.id).state == "finished"
        rows = local.run_history("me", project, run.id, min_step=0, max_step=None, limit=10)
        assert [r["x"] for r in rows] == [1]
    finally:
        local.close()
    if cairn_env.kind != "embedded":  # the server never saw it
        with pytest.raises(RunNotFoundError):
            wandb.Api().run(f"me/{project}/{run.id}")


def test_settings_dict_and_wandb_keywords(cairn_env: CairnEnv, project: str, tmp_path) -> None:
    with wandb.init(
        project=project,
        dir=str(tmp_path),
        settings={"mode": "disabled", "run_name": "from-settings"},
    ) as run:
        assert run.disabled and run.name == "from-settings" and run.dir == str(tmp_path)
    with wandb.init(
        project=project,
        config={"a": 1, "b": 2, "c": 3},
        config_exclude_keys=["c"],
        allow_val_change=True,
    ) as run:
        assert run.config.as_dict() == {"a": 1, "b": 2}


def test_bad_mode_and_reinit_are_refused(cairn_env: CairnEnv, project: str) -> None:
    with pytest.raises(ValidationError, match="mode"):
        wandb.init(project=project, mode="sometimes")
    with pytest.raises(ValidationError, match="reinit"):
        wandb.init(project=project, reinit="perhaps")
    with pytest.raises(ValidationError, match="tags"):
        wandb.init(project=project, tags="one-string")
