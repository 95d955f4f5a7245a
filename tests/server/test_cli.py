"""The issue's walk-through: migrate, create an admin, serve, log in, use the SDK."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cairn
from cairn.cli.main import app
from cairn.core.db.engine import SCHEMA_HEAD
from tests.backends import start_server, stop_server

runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_admin_commands_on_the_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    assert f"schema at {SCHEMA_HEAD} (was empty)" in cli("server", "migrate", "--db", db)
    assert f"schema at {SCHEMA_HEAD} (was {SCHEMA_HEAD})" in cli("server", "migrate", "--db", db)
    out = cli("user", "create", "ml-admin", "--admin", "--db", db)
    key = out.strip().splitlines()[-1]
    assert key.startswith("cairn_") and len(key) > 40
    cli("user", "create", "ana", "--db", db)
    cli("team", "create", "vision", "--db", db)
    cli("team", "add-member", "vision", "ana", "--role", "viewer", "--db", db)
    listing = {u["name"]: u for u in json.loads(cli("user", "list", "--db", db, "--json"))}
    assert listing["ml-admin"]["admin"] is True and listing["ana"]["teams"] == {"vision": "viewer"}
    made = cli("key", "create", "ana", "--label", "ci", "--db", db)
    assert "cairn_" in made
    keys = cli("key", "list", "--db", db)
    assert keys.count("active") == 3
    cli("key", "revoke", made.strip().splitlines()[-1], "--db", db)
    assert cli("key", "list", "--db", db).count("revoked") == 1
    cli("user", "disable", "ana", "--db", db)
    assert json.loads(cli("user", "list", "--db", db, "--json"))[0]["disabled"] is True
    bad = runner.invoke(app, ["user", "create", "ana", "--db", db])
    assert bad.exit_code == 1 and "already exists" in bad.output
    bad = runner.invoke(app, ["team", "add-member", "vision", "ana", "--role", "owner", "--db", db])
    assert bad.exit_code == 1 and "role" in bad.output


def test_insecure_local_only_binds_loopback(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["server", "--insecure-local", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path}/d.db"],
    )
    assert result.exit_code == 1
    assert "loopback" in result.output


@pytest.mark.slow
def test_serve_login_and_use_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = start_server(tmp_path / "srv", db, (tmp_path / "blobs").as_uri(), admin_key="")
    try:
        printed = server.log.read_text()
        assert "created admin user 'admin'; its API key (shown only once):" in printed
        admin_key = printed.split("(shown only once):", 1)[1].split()[0]
        user_key = cli("user", "create", "ml-admin", "--admin", "--db", db).split()[-1]
        assert admin_key != user_key
        config = tmp_path / "config.toml"
        monkeypatch.setenv("CAIRN_CONFIG", str(config))
        out = cli("login", "--host", server.url, "--key", user_key)
        assert "logged in" in out and "'ml-admin'" in out
        saved = tomllib.loads(config.read_text())
        assert saved == {"base_url": server.url, "api_key": user_key}
        assert config.stat().st_mode & 0o077 == 0
        bad = runner.invoke(
            app, ["login", "--host", server.url, "--key", "cairn_wrong_" + "0" * 30]
        )
        assert bad.exit_code == 1 and "invalid API key" in bad.output
        (tmp_path / "hello.txt").write_text("hello")
        art = cairn.Artifact("greeting", type="dataset")
        art.add_file(str(tmp_path / "hello.txt"))
        with cairn.init(project="walkthrough") as run:
            run.log_artifact(art)
        got = cairn.Api().artifact("walkthrough/greeting:latest")
        assert got.entity == "ml-admin"
        assert (Path(got.download(root=str(tmp_path / "out"))) / "hello.txt").read_text() == "hello"
    finally:
        stop_server(server.proc)
