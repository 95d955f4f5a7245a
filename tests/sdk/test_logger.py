"""The `cairn` logger tells at debug level which blobs were skipped, packed or sent."""

from __future__ import annotations

import logging

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write


def test_debug_records_say_what_was_skipped_and_what_travelled(
    cairn_env: CairnEnv, project: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cairn")
    write(cairn_env.work / "a.txt", "one")
    write(cairn_env.work / "b.txt", "two")

    def log_once() -> list[str]:
        caplog.clear()
        art = wandb.Artifact("logged", type="dataset")
        art.add_file(str(cairn_env.work / "a.txt"))
        art.add_file(str(cairn_env.work / "b.txt"))
        with wandb.init(project=project) as run:
            run.log_artifact(art).wait()
        return [r.getMessage() for r in caplog.records if r.name.startswith("cairn")]

    first = log_once()
    assert "0 of 2 blobs already stored: skipped" in first
    travelled = ("packing", "storing blob", "sending")
    assert any(m.startswith(travelled) for m in first), first
    again = log_once()  # the same content: nothing travels
    assert not any(m.startswith(travelled) for m in again), again


def test_the_library_adds_only_a_null_handler() -> None:
    handlers = logging.getLogger("cairn").handlers
    assert handlers and all(isinstance(h, logging.NullHandler) for h in handlers)
