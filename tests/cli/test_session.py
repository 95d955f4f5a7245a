"""``login``/``logout``/``whoami``, the config file they write, and ``CAIRN_BASE_URL=""``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cairn.config import Settings, write_config
from tests.backends import server_for
from tests.cli.helpers import cli, cli_json, fails

CONFIG = """\
# my settings
project = "bikes"  # the usual one

[cache]
max = "10GB"
"""


def test_login_logout_keep_what_they_do_not_know(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    server = server_for("server-sqlite", request)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("CAIRN_CONFIG", str(config))

    assert "logged in" in cli("login", "--host", server.url, "--key", server.admin_key)
    text = config.read_text()
    assert "# my settings" in text and "# the usual one" in text
    saved = tomllib.loads(text)
    assert saved["cache"] == {"max": "10GB"} and saved["project"] == "bikes"
    assert saved["base_url"] == server.url and saved["api_key"] == server.admin_key
    assert config.stat().st_mode & 0o077 == 0
    assert cli_json("whoami")["store"] == server.url

    # An empty CAIRN_BASE_URL: the embedded store, whatever the file says.
    monkeypatch.setenv("CAIRN_BASE_URL", "")
    assert Settings.resolve().base_url is None
    assert cli_json("whoami")["store"] == "embedded"
    monkeypatch.delenv("CAIRN_BASE_URL")

    assert "logged out" in cli("logout")
    assert tomllib.loads(config.read_text()) == tomllib.loads(CONFIG)
    assert "# the usual one" in config.read_text()
    assert cli_json("whoami")["store"] == "embedded"
    assert "not logged in" in cli("logout")


def test_login_with_a_bad_key_saves_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    server = server_for("server-sqlite", request)
    monkeypatch.setenv("CAIRN_CONFIG", str(tmp_path / "config.toml"))
    assert "invalid API key" in fails("login", "--host", server.url, "--key", "cairn_" + "0" * 40)
    assert not (tmp_path / "config.toml").exists()


def test_write_config_refuses_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("this is = = not toml")
    with pytest.raises(ValueError, match="not valid TOML"):
        write_config(path, {"base_url": "http://x"})
    assert path.read_text() == "this is = = not toml"
