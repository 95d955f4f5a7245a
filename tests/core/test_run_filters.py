"""W&B-style run filters, decided on one run's fields (cairn.core.run_filters)."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.core.run_filters import check, matches
from cairn.errors import ValidationError

DOC: dict[str, Any] = {
    "name": "abc123",
    "display_name": "lucky-run",
    "state": "finished",
    "group": None,
    "job_type": "train",
    "tags": ["a", "b"],
    "notes": None,
    "created_at": "2026-12-04T10:00:00+00:00",
    "config": {"lr": 0.1, "model": {"depth": 3}, "flat.key": 5, "use_bn": True},
    "summary_metrics": {"acc": 0.9, "loss": float("nan"), "val": {"acc": 0.8}},
}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({}, True),
        ({"config.lr": 0.1}, True),
        ({"config.lr": 0.2}, False),
        ({"config.lr.value": 0.1}, True),
        ({"config.model.depth": {"$gte": 3}}, True),
        ({"config.flat.key": 5}, True),
        ({"config.use_bn": 1}, False),  # a bool is not a number
        ({"config.use_bn": True}, True),
        ({"tags": "a"}, True),
        ({"tags": {"$in": ["c", "b"]}}, True),
        ({"tags": {"$nin": ["a"]}}, False),
        ({"tags": {"$ne": "c"}}, True),
        ({"summary_metrics.acc": {"$gt": 0.5, "$lt": 0.95}}, True),
        ({"summary.val.acc": {"$lt": 0.5}}, False),
        ({"summary_metrics.loss": {"$gt": 0}}, False),  # NaN compares false
        ({"summary_metrics.missing": {"$gt": 0}}, False),
        ({"summary_metrics.missing": {"$exists": False}}, True),
        ({"config.lr": {"$gt": "a"}}, False),  # a number and a string do not compare
        ({"jobType": "train", "state": {"$in": ["finished", "failed"]}}, True),
        ({"$or": [{"state": "running"}, {"display_name": {"$regex": "^lucky"}}]}, True),
        ({"$and": [{"state": "finished"}, {"config.lr": 0.01}]}, False),
        ({"$nor": [{"state": "running"}]}, True),
        ({"createdAt": {"$gt": "2026-12-01"}}, True),
    ],
)
def test_matches(flt: dict[str, Any], expected: bool) -> None:
    assert matches(DOC, check(flt)) is expected


@pytest.mark.parametrize(
    "flt",
    [[1], {"$near": 1}, {"$or": {"a": 1}}, {"config.lr": {"$near": 1}}],
)
def test_malformed_filters_are_refused(flt: Any) -> None:
    with pytest.raises(ValidationError):
        check(flt)


def test_number_filters_on_json_fields_narrow_in_sql(tmp_path: Any) -> None:
    from sqlalchemy import func, select

    from cairn.backend.local import LocalBackend
    from cairn.core.db import models as m
    from cairn.core.run_filters import sql_prefilter
    from cairn.records import RunUpdate

    backend = LocalBackend(tmp_path)
    try:
        for i in range(5):
            r = backend.create_run(
                "me", "p", run_id=None, name=None, job_type=None, group=None, config={"lr": i}
            )
            backend.update_run("me", "p", r.id, RunUpdate(summary={"acc": i / 10}))
        flt = {"config.lr": {"$gte": 2}, "summary_metrics.acc": {"$lt": 0.4}}
        with backend.service.db.read() as s:
            count = s.scalar(
                select(func.count()).select_from(m.Run).where(*sql_prefilter(flt, "sqlite"))
            )
        assert count == 2  # lr 2 and 3: decided by the database, not by reading every run
        assert [r.config["lr"] for r in backend.list_runs("me", "p", filters=flt)[0]] == [3, 2]
    finally:
        backend.close()
