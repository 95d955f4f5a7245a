"""W&B's environment variables are fallbacks of Cairn's own, resolved once in Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.config import Settings
from cairn.errors import ValidationError

BASE = {"CAIRN_CONFIG": "/nonexistent/cairn.toml", "CAIRN_DIR": "/tmp/cairn-store"}


@pytest.mark.parametrize(
    ("wandb_name", "value", "field", "expected"),
    [
        ("WANDB_PROJECT", "proj", "project", "proj"),
        ("WANDB_ENTITY", "team", "entity", "team"),
        ("WANDB_MODE", "offline", "mode", "offline"),
        ("WANDB_MODE", "dryrun", "mode", "offline"),
        ("WANDB_MODE", "disabled", "mode", "disabled"),
        ("WANDB_SILENT", "true", "silent", True),
        ("WANDB_ARTIFACT_DIR", "/data/arts", "artifact_dir", Path("/data/arts")),
        ("WANDB_CACHE_DIR", "/data/cache", "cache_dir", Path("/data/cache")),
    ],
)
def test_wandb_variable_is_used_when_cairns_is_unset(
    wandb_name: str, value: str, field: str, expected: object
) -> None:
    assert getattr(Settings.resolve(env=BASE), field) != expected
    assert getattr(Settings.resolve(env={**BASE, wandb_name: value}), field) == expected


@pytest.mark.parametrize(
    ("cairn_name", "wandb_name", "field"),
    [
        ("CAIRN_PROJECT", "WANDB_PROJECT", "project"),
        ("CAIRN_ENTITY", "WANDB_ENTITY", "entity"),
        ("CAIRN_MODE", "WANDB_MODE", "mode"),
    ],
)
def test_cairns_variable_wins(cairn_name: str, wandb_name: str, field: str) -> None:
    values = {"CAIRN_MODE": "online", "WANDB_MODE": "offline"}
    ours, theirs = values.get(cairn_name, "ours"), values.get(wandb_name, "theirs")
    got = Settings.resolve(env={**BASE, cairn_name: ours, wandb_name: theirs})
    assert getattr(got, field) == ours


def test_cairn_silent_false_wins_over_wandb_silent() -> None:
    env = {**BASE, "CAIRN_SILENT": "false", "WANDB_SILENT": "true"}
    # An explicit "false" is a value: it is not empty, so W&B's variable is not consulted.
    assert Settings.resolve(env=env).silent is False


def test_an_argument_wins_over_both() -> None:
    env = {**BASE, "CAIRN_PROJECT": "ours", "WANDB_PROJECT": "theirs"}
    assert Settings.resolve(env=env, project="arg").project == "arg"


def test_a_bad_mode_is_refused() -> None:
    with pytest.raises(ValidationError, match="mode"):
        Settings.resolve(env={**BASE, "WANDB_MODE": "sometimes"})
