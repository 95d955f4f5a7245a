"""The download and cache settings: ``CAIRN_LINK_MODE`` and ``CAIRN_CACHE_MAX``, from the
environment or the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.config import Settings
from cairn.errors import ValidationError
from cairn.sizes import parse_size


def test_downloads_are_copies_unless_hardlink_is_asked_for(tmp_path: Path) -> None:
    env = {"CAIRN_CONFIG": str(tmp_path / "none.toml")}
    assert Settings.resolve(env).link_mode == "copy"
    assert Settings.resolve({**env, "CAIRN_LINK_MODE": "hardlink"}).link_mode == "hardlink"
    with pytest.raises(ValidationError, match="CAIRN_LINK_MODE"):
        Settings.resolve({**env, "CAIRN_LINK_MODE": "symlink"})


def test_cache_max_from_the_environment_or_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('cache_max = "2GiB"\nlink_mode = "hardlink"\n')
    env = {"CAIRN_CONFIG": str(config)}
    s = Settings.resolve(env)
    assert (s.cache_max, s.link_mode) == (2 << 30, "hardlink")
    assert Settings.resolve({**env, "CAIRN_CACHE_MAX": "10GB"}).cache_max == 10_000_000_000
    assert Settings.resolve({"CAIRN_CONFIG": str(tmp_path / "none.toml")}).cache_max is None
    with pytest.raises(ValidationError, match="CAIRN_CACHE_MAX"):
        Settings.resolve({**env, "CAIRN_CACHE_MAX": "a lot"})


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("1000", 1000), ("10GB", 10 * 10**9), ("512MiB", 512 << 20), ("1.5 k", 1500)],
)
def test_sizes_read_as_people_write_them(text: str, size: int) -> None:
    assert parse_size(text) == size
