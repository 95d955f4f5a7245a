"""The W&B run stream stored on Cairn's run records: what ``file_stream`` carries lands where
Cairn's own ``run.log`` writes, a resent request stores nothing twice, ``complete`` finishes."""

from __future__ import annotations

import json

import pytest

from cairn.core import run_stream
from cairn.core.run_data import RunData
from cairn.errors import RunNotFoundError, ValidationError
from tests.core.conftest import Core


def _body(
    history: list[dict[str, object]] | None = None,
    offset: int = 0,
    summary: dict[str, object] | None = None,
    **more: object,
) -> dict[str, object]:
    files: dict[str, object] = {}
    if history is not None:
        files[run_stream.HISTORY] = {
            "offset": offset,
            "content": [json.dumps(r) for r in history],
        }
    if summary is not None:
        files[run_stream.SUMMARY] = {"offset": 0, "content": [json.dumps(summary)]}
    return {"files": files, **more}


def _send(core: Core, run_id: str, body: dict[str, object]) -> run_stream.StreamResult:
    return run_stream.apply(core.service, "e", "p", run_id, run_stream.parse_body(body))


def test_history_summary_and_exit_land_on_the_run(core: Core) -> None:
    run = core.service.create_run("e", "p")
    rows = [{"_step": i, "loss": 1 / (i + 1), "acc": {"top1": 0.9}} for i in range(3)]
    _send(core, run.id, _body(rows))
    out = {"offset": 0, "content": ["hello"]}
    result = _send(
        core,
        run.id,
        {"files": {"output.log": out, "wandb-events.jsonl": {"offset": 0, "content": ["{}"]}}},
    )
    assert result.state == "running"
    end = _send(core, run.id, _body(summary={"loss": 0.25, "best": 1}, complete=True, exitcode=0))
    assert end.state == "finished"
    stored = core.service.get_run("e", "p", run.id)
    assert stored.state == "finished" and stored.exit_code == 0
    assert stored.finished_at is not None
    assert stored.summary == {"loss": 0.25, "best": 1}
    # Nested dicts stay nested, as the W&B client logged them.
    assert RunData(core.service).history("e", "p", run.id) == rows


def test_a_resent_request_stores_nothing_twice(core: Core) -> None:
    run = core.service.create_run("e", "p")
    first = [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}]
    assert _send(core, run.id, _body(first)).stored_rows == 2
    assert _send(core, run.id, _body(first)).stored_rows == 0
    # A resend from an earlier offset that also carries new lines stores only the new ones.
    more = [*first[1:], {"_step": 2, "a": 3}]
    assert _send(core, run.id, _body(more, offset=1)).stored_rows == 1
    assert [r["a"] for r in RunData(core.service).history("e", "p", run.id)] == [1, 2, 3]


def test_a_nonzero_exit_code_fails_the_run(core: Core) -> None:
    run = core.service.create_run("e", "p")
    _send(core, run.id, {"complete": True, "exitcode": 3})
    stored = core.service.get_run("e", "p", run.id)
    assert (stored.state, stored.exit_code) == ("failed", 3)


def test_the_last_summary_line_wins(core: Core) -> None:
    run = core.service.create_run("e", "p")
    lines = [json.dumps({"x": 1}), json.dumps({"x": 2})]
    _send(core, run.id, {"files": {run_stream.SUMMARY: {"offset": 0, "content": lines}}})
    assert core.service.get_run("e", "p", run.id).summary == {"x": 2}


def test_an_unknown_run_is_not_found(core: Core) -> None:
    core.service.create_run("e", "p")
    with pytest.raises(RunNotFoundError):
        _send(core, "nosuchrun", _body([{"_step": 0}]))


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"files": []},
        {"files": {run_stream.HISTORY: {"offset": -1, "content": []}}},
        {"files": {run_stream.HISTORY: {"offset": 0, "content": [1]}}},
        {"files": {run_stream.HISTORY: {"offset": 0, "content": ["not json"]}}},
        {"files": {run_stream.HISTORY: {"offset": 0, "content": ["[1]"]}}},
        {"files": {run_stream.SUMMARY: {"offset": 0, "content": ["3"]}}},
        {"complete": True, "exitcode": "zero"},
    ],
)
def test_malformed_bodies_are_refused(core: Core, body: object) -> None:
    run = core.service.create_run("e", "p")
    with pytest.raises(ValidationError):
        run_stream.apply(core.service, "e", "p", run.id, run_stream.parse_body(body))


def test_config_converts_both_ways() -> None:
    wire = json.dumps({"lr": {"value": 0.1, "desc": None}, "_wandb": {"value": {"t": 1}}})
    assert run_stream.config_from_wandb(wire) == {"lr": 0.1}
    assert run_stream.config_from_wandb(None) is None
    back = json.loads(run_stream.config_to_wandb({"lr": 0.1, "layers": [1, 2]}))
    assert back == {"lr": {"value": 0.1, "desc": None}, "layers": {"value": [1, 2], "desc": None}}
