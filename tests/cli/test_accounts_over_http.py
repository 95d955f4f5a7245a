"""``cairn user|team|key`` through the logged-in server, as a server admin, a team admin and
an ordinary user; and ``--db`` required to work on a database file."""

from __future__ import annotations

import uuid

import pytest

from tests.backends import server_for
from tests.cli.helpers import cli, cli_json, fails

pytest.importorskip("fastapi")


def _as(monkeypatch: pytest.MonkeyPatch, url: str, key: str) -> None:
    monkeypatch.setenv("CAIRN_BASE_URL", url)
    monkeypatch.setenv("CAIRN_API_KEY", key)
    from cairn.sdk import context

    context.reset()


def _key(out: str) -> str:
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize("kind", ["server-sqlite", "server-postgres-s3"])
def test_admin_flows_over_http(
    kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = server_for(kind, request)
    tag = uuid.uuid4().hex[:8]
    alice, bob, team = f"alice-{tag}", f"bob-{tag}", f"vision-{tag}"

    _as(monkeypatch, server.url, server.admin_key)
    assert cli("whoami").startswith(f"admin on {server.url}")
    alice_key = _key(cli("user", "create", alice))
    bob_key = _key(cli("user", "create", bob))
    assert alice_key.startswith("cairn_") and alice_key != bob_key
    cli("team", "create", team)
    cli("team", "add-member", team, alice, "--role", "admin")
    users = {u["name"]: u for u in cli_json("user", "list")}
    assert users[alice]["teams"] == {team: "admin"} and users["admin"]["admin"] is True
    assert "already exists" in fails("user", "create", alice)

    # A team's admin manages its members, and nothing else.
    _as(monkeypatch, server.url, alice_key)
    assert cli_json("whoami")["user"] == alice
    cli("team", "add-member", team, bob, "--role", "viewer")
    assert "server admin" in fails("user", "list")
    assert "server admin" in fails("user", "create", f"eve-{tag}")
    assert "server admin" in fails("team", "create", f"other-{tag}")
    extra = _key(cli("key", "create", "--label", "laptop"))

    # An ordinary user (a viewer of the team) sees and manages only their own keys.
    _as(monkeypatch, server.url, bob_key)
    assert "only an admin of" in fails("team", "add-member", team, bob, "--role", "admin")
    assert "no team named" in fails("team", "add-member", f"nope-{tag}", bob)
    mine = cli_json("key", "list")
    assert [k["user"] for k in mine] == [bob] and mine[0]["prefix"] == bob_key[:12]
    assert "server admin" in fails("key", "list", alice)
    _as(monkeypatch, server.url, alice_key)
    alice_keys = cli_json("key", "list")
    assert {k["label"] for k in alice_keys} == {"first key", "laptop"}
    laptop = next(k for k in alice_keys if k["label"] == "laptop")
    _as(monkeypatch, server.url, bob_key)
    assert "no such API key" in fails("key", "revoke", str(laptop["id"]))
    made = cli("key", "create", "--label", "ci")
    assert f"for {bob!r}" in made
    new = cli_json("key", "list")[-1]
    assert "revoked key" in cli("key", "revoke", str(new["id"]))
    assert cli_json("key", "list")[-1]["revoked"] is True

    # The server admin sees everyone's keys, revokes one, disables a user.
    _as(monkeypatch, server.url, server.admin_key)
    assert {k["user"] for k in cli_json("key", "list")} >= {alice, bob, "admin"}
    cli("key", "revoke", str(laptop["id"]))
    assert f"for {alice!r}" in cli("key", "create", alice, "--label", "by-admin")
    assert {k["label"] for k in cli_json("key", "list", alice)} == {
        "first key",
        "laptop",
        "by-admin",
    }
    _as(monkeypatch, server.url, extra)
    assert "revoked" in fails("whoami")
    _as(monkeypatch, server.url, server.admin_key)
    cli("team", "remove-member", team, bob)
    cli("user", "disable", bob)
    _as(monkeypatch, server.url, bob_key)
    assert "disabled" in fails("whoami")
    _as(monkeypatch, server.url, server.admin_key)
    cli("user", "disable", bob, "--enable")
    _as(monkeypatch, server.url, bob_key)
    assert cli_json("whoami")["user"] == bob


def test_admin_commands_need_a_server_or_db() -> None:
    # The embedded store has no accounts: saying so, not writing some local database.
    assert "--db" in fails("user", "create", "alice")
    assert "--db" in fails("key", "list")
