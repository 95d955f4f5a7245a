"""Runs keep what training scripts log (history, summary, config, tags, notes, exit state), and
read back equal through ``Api().run(...)``, on every backend kind."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cairn as wandb
from cairn.errors import ConflictError, ValidationError
from tests.conftest import CairnEnv


def _metrics(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows without the keys whose values are clock readings."""
    return [{k: v for k, v in r.items() if k not in ("_runtime", "_timestamp")} for r in rows]


def test_logged_rows_read_back_equal(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        for i in range(25):
            run.log({"loss": 1 / (i + 1), "epoch": i, "phase": "train"})
    got = wandb.Api().run(f"{run.entity}/{project}/{run.id}")
    rows = got.history(pandas=False)
    assert _metrics(rows) == [
        {"loss": 1 / (i + 1), "epoch": i, "phase": "train", "_step": i} for i in range(25)
    ]
    assert all(isinstance(r["_runtime"], float) and r["_timestamp"] > 1e9 for r in rows)
    assert list(got.scan_history()) == rows
    frame = got.history()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["epoch"]) == list(range(25))


def test_commit_false_and_step_follow_wandb(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        run.log({"a": 1}, commit=False)
        run.log({"b": 2})  # the same row as "a": step 0
        run.log({"c": 3}, step=5)  # moves to step 5; the row is finished by a later step
        run.log({"d": 4}, step=5)
        with pytest.warns(UserWarning, match="less than the current step 5"):
            run.log({"ignored": 0}, step=2)
        run.log({"e": 5}, step=7, commit=True)
        run.log({"f": 6})
        assert run.step == 9
    rows = _metrics(wandb.Api().run(run.path).history(pandas=False))
    assert rows == [
        {"a": 1, "b": 2, "_step": 0},
        {"c": 3, "d": 4, "_step": 5},
        {"e": 5, "_step": 7},
        {"f": 6, "_step": 8},
    ]


def test_nested_dicts_flatten_in_history_and_stay_nested_in_summary(
    cairn_env: CairnEnv, project: str
) -> None:
    with wandb.init(project=project) as run:
        run.log({"acc": {"top1": 0.5, "top5": 0.9}, "train/loss": 2.0})
        run.log({"acc": {"top1": 0.6}})
    got = wandb.Api().run(run.path)
    assert _metrics(got.history(pandas=False)) == [
        {"acc.top1": 0.5, "acc.top5": 0.9, "train/loss": 2.0, "_step": 0},
        {"acc.top1": 0.6, "_step": 1},
    ]
    assert got.summary["acc"]["top1"] == 0.6
    assert got.summary["acc"]["top5"] == 0.9
    assert list(got.scan_history(keys=["acc.top5"])) == [{"_step": 0, "acc.top5": 0.9}]


def test_numpy_values_and_media_are_made_json_as_wandb_does(
    cairn_env: CairnEnv, project: str
) -> None:
    table = wandb.Table(columns=["x", "y"], data=[[1, 2], [3, 4], [5, 6]])
    with wandb.init(project=project) as run:
        run.log(
            {
                "f32": np.float32(0.5),
                "i64": np.int64(7),
                "one": np.array([3.0]),
                "small": np.arange(3),
                "flag": np.bool_(True),
                "table": table,
            }
        )
        with pytest.raises(TypeError, match="1000 elements"):
            run.log({"big": np.zeros(1000)})
    row = wandb.Api().run(run.path).history(pandas=False)[0]
    assert row["f32"] == 0.5 and type(row["f32"]) is float
    assert row["i64"] == 7 and type(row["i64"]) is int
    assert row["one"] == 3.0
    assert row["small"] == [0, 1, 2]
    assert row["flag"] is True
    assert row["table"] == {"_type": "table-file", "ncols": 2, "nrows": 3}
    assert "big" not in row


def test_nan_and_infinity_survive_in_history(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        run.log({"loss": float("nan"), "grad": float("inf")})
    row = wandb.Api().run(run.path).history(pandas=False)[0]
    assert math.isnan(row["loss"]) and row["grad"] == math.inf


def test_summary_is_the_last_logged_value_unless_set(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        run.log({"loss": 3.0, "acc": 0.1})
        run.log({"loss": 1.0, "acc": 0.2})
        run.summary["acc"] = 0.9  # set explicitly after the last log: kept
        run.summary.update({"best_epoch": 4})
        run.log({"loss": 0.5})  # a later log of a key wins again
        assert run.summary["loss"] == 0.5
    got = wandb.Api().run(run.path).summary
    assert got["loss"] == 0.5
    assert got["acc"] == 0.9
    assert got["best_epoch"] == 4
    assert got["_step"] == 2


def test_config_is_kept_with_attribute_and_item_access(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, config={"lr": 0.1, "layers": [64, 32]}) as run:
        assert run.config.lr == 0.1 and run.config["layers"] == [64, 32]
        run.config.batch_size = 32
        run.config["optimizer"] = "adam"
        run.config.update({"epochs": 10, "dropout": np.float64(0.25)})
        with pytest.raises(ConflictError, match="allow_val_change"):
            run.config.update({"lr": 0.2})
        run.config.update({"lr": 0.2}, allow_val_change=True)
    got = wandb.Api().run(run.path).config
    assert got == {
        "lr": 0.2,
        "layers": [64, 32],
        "batch_size": 32,
        "optimizer": "adam",
        "epochs": 10,
        "dropout": 0.25,
    }


def test_tags_notes_group_and_job_type_read_back(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(
        project=project, tags=["baseline", "v1"], notes="first try", group="g", job_type="train"
    ) as run:
        run.tags = (*run.tags, "extra")
        run.notes = "first try, edited"
    got = wandb.Api().run(f"{run.entity}/{project}/runs/{run.id}")  # W&B's URL form
    assert got.tags == ["baseline", "v1", "extra"]
    assert got.notes == "first try, edited"
    assert (got.group, got.job_type) == ("g", "train")


def test_exit_states_and_codes(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as ok:
        ok.log({"a": 1})
    with pytest.raises(RuntimeError), wandb.init(project=project) as failing:
        failing.log({"a": 1})
        raise RuntimeError("boom")
    coded = wandb.init(project=project)
    coded.finish(exit_code=3)
    with pytest.raises(KeyboardInterrupt), wandb.init(project=project) as interrupted:
        raise KeyboardInterrupt
    api = wandb.Api()
    got = {r.id: (api.run(r.path).state, api.run(r.path).exit_code) for r in (ok, failing)}
    assert got == {ok.id: ("finished", 0), failing.id: ("failed", 1)}
    assert (api.run(coded.path).state, api.run(coded.path).exit_code) == ("failed", 3)
    assert api.run(interrupted.path).state == "crashed"
    # What was logged before the failure is kept.
    assert _metrics(api.run(failing.path).history(pandas=False)) == [{"a": 1, "_step": 0}]


def test_module_level_log_config_and_summary(cairn_env: CairnEnv, project: str) -> None:
    with pytest.raises(ValidationError, match="init"):
        wandb.log({"a": 1})
    with pytest.raises(ValidationError, match="init"):
        wandb.config.lr = 0.1
    run = wandb.init(project=project, config={"lr": 0.1})
    wandb.config.batch = 8
    wandb.log({"loss": 0.3})
    wandb.summary["best"] = 0.3
    assert wandb.config.lr == 0.1 and wandb.summary["loss"] == 0.3
    wandb.finish()
    got = wandb.Api().run(run.path)
    assert got.config == {"lr": 0.1, "batch": 8}
    assert got.summary["best"] == 0.3
    assert _metrics(got.history(pandas=False)) == [{"loss": 0.3, "_step": 0}]


def test_scan_history_pages_and_step_range(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        for i in range(10):
            run.log({"i": i})
    got = wandb.Api().run(run.path)
    assert [r["i"] for r in got.scan_history(page_size=3)] == list(range(10))
    assert [r["i"] for r in got.scan_history(min_step=4, max_step=7, page_size=2)] == [4, 5, 6]
    sampled = got.history(samples=4, pandas=False)
    assert [r["i"] for r in sampled] == [0, 3, 6, 9]
    assert got.history(keys=["i"], samples=2, pandas=False) == [
        {"_step": 0, "i": 0},
        {"_step": 9, "i": 9},
    ]


def test_resume_continues_after_the_last_step(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, id="resumable", config={"lr": 0.1}) as run:
        run.log({"x": 0})
        run.log({"x": 1})
    with wandb.init(project=project, id="resumable", resume="allow") as again:
        assert again.resumed and not run.resumed
        assert wandb.Api().run(run.path).state == "running"
        assert again.step == 2
        assert again.config.lr == 0.1
        assert again.summary["x"] == 1
        again.log({"x": 2})
    rows = _metrics(wandb.Api().run(run.path).history(pandas=False))
    assert rows == [{"x": i, "_step": i} for i in range(3)]


def test_a_config_of_many_keys_is_kept(cairn_env: CairnEnv, project: str) -> None:
    # Trainers log a few hundred config keys: more than artifact metadata may have.
    config = {f"k{i}": i for i in range(300)}
    with wandb.init(project=project, config=config) as run:
        run.config.update({f"late{i}": i for i in range(150)})
    assert wandb.Api().run(run.path).config == {**config, **{f"late{i}": i for i in range(150)}}
