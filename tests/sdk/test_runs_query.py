"""``Api().runs(project, filters=...)`` with W&B's common filter forms, on every backend."""

from __future__ import annotations

import pytest

import cairn as wandb
from cairn.errors import ValidationError
from tests.conftest import CairnEnv


@pytest.fixture
def three_runs(cairn_env: CairnEnv, project: str) -> dict[str, str]:
    """Three runs: their ids by name, created in the order a, b, c."""
    specs = [
        ("a", {"lr": 0.1, "opt": "adam"}, ["baseline"], 0.70, "finished"),
        ("b", {"lr": 0.01, "opt": "sgd"}, ["tuned", "v2"], 0.85, "finished"),
        ("c", {"lr": 0.001, "opt": "adam"}, ["tuned"], 0.90, "failed"),
    ]
    ids = {}
    for name, config, tags, acc, state in specs:
        run = wandb.init(project=project, name=name, config=config, tags=tags, job_type="train")
        run.log({"acc": acc})
        run.finish(exit_code=0 if state == "finished" else 1)
        ids[name] = run.id
    return ids


def _names(project: str, filters: dict[str, object], **kw: object) -> list[str]:
    return [r.name for r in wandb.Api().runs(project, filters=filters, **kw)]


def test_filter_forms(three_runs: dict[str, str], project: str) -> None:
    assert _names(project, {}) == ["c", "b", "a"]  # newest first, as W&B
    assert _names(project, {}, order="+created_at") == ["a", "b", "c"]
    assert _names(project, {"config.lr": 0.1}) == ["a"]
    assert _names(project, {"config.opt.value": "adam"}) == ["c", "a"]
    assert _names(project, {"state": "finished"}) == ["b", "a"]
    assert _names(project, {"tags": {"$in": ["tuned"]}}) == ["c", "b"]
    assert _names(project, {"tags": "baseline"}) == ["a"]
    assert _names(project, {"tags": {"$nin": ["tuned"]}}) == ["a"]
    assert _names(project, {"summary_metrics.acc": {"$gt": 0.8}}) == ["c", "b"]
    assert _names(project, {"config.lr": {"$gte": 0.01, "$lt": 0.1}}) == ["b"]
    assert _names(project, {"$or": [{"config.lr": 0.1}, {"state": "failed"}]}) == ["c", "a"]
    assert _names(
        project, {"$and": [{"config.opt": "adam"}, {"summary_metrics.acc": {"$lt": 0.8}}]}
    ) == ["a"]
    assert _names(project, {"display_name": {"$regex": "^[ab]$"}}) == ["b", "a"]
    assert _names(project, {"name": three_runs["b"]}) == ["b"]
    assert _names(project, {"jobType": "train", "config.missing": {"$exists": False}}) == [
        "c",
        "b",
        "a",
    ]


def test_runs_are_paged(three_runs: dict[str, str], project: str) -> None:
    runs = wandb.Api().runs(project, filters={"state": {"$ne": "running"}}, per_page=1)
    assert [r.name for r in runs] == ["c", "b", "a"]
    assert len(runs) == 3 and runs[0].name == "c"
    assert runs[0].summary["acc"] == 0.90


def test_malformed_filters_are_refused(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project):
        pass
    with pytest.raises(ValidationError, match=r"\$near"):
        list(wandb.Api().runs(project, filters={"config.lr": {"$near": 1}}))
    with pytest.raises(ValidationError, match=r"\$or"):
        list(wandb.Api().runs(project, filters={"$or": {"state": "finished"}}))


def test_json_filters_tolerate_mixed_types_and_lists(cairn_env: CairnEnv, project: str) -> None:
    # Number comparisons go to SQL too: a string or a list at the same key must neither break
    # the query (PostgreSQL casts) nor hide a run that matches through a list item.
    for name, lr in (("num", 0.5), ("text", "auto"), ("listed", [0.01, 0.5]), ("flag", True)):
        with wandb.init(project=project, name=name, config={"lr": lr}):
            pass
    assert sorted(_names(project, {"config.lr": {"$gt": 0.1}})) == ["listed", "num"]
    assert sorted(_names(project, {"config.lr": 0.5})) == ["listed", "num"]
    assert _names(project, {"config.lr": "auto"}) == ["text"]
    assert _names(project, {"config.lr": True}) == ["flag"]
