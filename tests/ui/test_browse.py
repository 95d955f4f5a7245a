"""Paging the catalog for people (:mod:`cairn.core.browse`) and signing in
(:mod:`cairn.core.sessions`, passwords in :mod:`cairn.core.accounts`), on the server's core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("fastapi")

from cairn.cli.main import app as cli_app
from cairn.core import browse
from cairn.core.service import Service
from cairn.core.sessions import Sessions
from cairn.errors import AuthenticationError, NotFoundError, ValidationError
from cairn.server import ServerConfig
from tests.server.conftest import Server, log_version, make_server

FILES = {
    "a.txt": b"a",
    "b/1.txt": b"1",
    "b/2.txt": b"2",
    "b/deep/x.txt": b"x",
    "c/only.txt": b"c",
    "c0.txt": b"next to c/ in path order",
    "d.txt": b"d",
    "e/f/g.txt": b"g",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(
        tmp_path,
        ServerConfig(db_url=f"sqlite:///{tmp_path / 's.db'}", store_uri=(tmp_path / "b").as_uri()),
    )
    yield srv
    for c in srv._open:
        c.close()
    srv.transport.close()
    srv.state.db.dispose()


def as_user(server: Server, user: str) -> Service:
    who = server.state.accounts.principal_for_key(server.keys[user])
    return server.state.service.bind(who)


def test_a_folder_pages_in_path_order_with_folders_skipped_whole(server: Server) -> None:
    v = log_version(server.backend("alice"), server.tmp, "alice", "p", "c", FILES)
    svc = as_user(server, "alice")
    seen, after = [], None
    while True:
        page, after = browse.list_dir(svc, v.id, "", after=after, limit=2)
        seen += [e.name for e in page]
        if after is None:
            break
    assert seen == ["a.txt", "b/", "c/", "c0.txt", "d.txt", "e/"]
    inner, nxt = browse.list_dir(svc, v.id, "b/", limit=10)
    assert [(e.name, e.path, e.is_dir) for e in inner] == [
        ("1.txt", "b/1.txt", False),
        ("2.txt", "b/2.txt", False),
        ("deep/", "b/deep/", True),
    ]
    assert nxt is None and inner[0].size == 1
    assert [e.name for e in browse.list_dir(svc, v.id, "e/f", limit=10)[0]] == ["g.txt"]
    assert browse.list_dir(svc, v.id, "nothing/", limit=10) == ([], None)
    with pytest.raises(NotFoundError):
        browse.list_dir(as_user(server, "bob"), v.id, "")


def test_versions_page_newest_first(server: Server) -> None:
    alice = server.backend("alice")
    for i in range(7):
        log_version(alice, server.tmp, "alice", "p", "c", {"f.txt": str(i).encode()})
    svc = as_user(server, "alice")
    seen, before = [], None
    while True:
        record, page, before = browse.versions_newest_first(
            svc, "alice", "p", "c", before_index=before, limit=3
        )
        seen += [v.version for v in page]
        if before is None:
            break
    assert seen == [f"v{i}" for i in range(6, -1, -1)]
    assert record.version_count == 7
    with pytest.raises(NotFoundError):
        browse.versions_newest_first(as_user(server, "bob"), "alice", "p", "c")


def test_project_search_shows_only_what_the_caller_may_read(server: Server) -> None:
    log_version(server.backend("alice"), server.tmp, "alice", "private-one", "c", {"a": b"a"})
    log_version(server.backend("alice"), server.tmp, "alice", "open_5x", "c", {"a": b"a"})
    log_version(server.backend("alice"), server.tmp, "alice", "openA5x", "c", {"a": b"a"})
    server.state.accounts.set_visibility(
        as_user(server, "alice").principal, "alice", "open_5x", "public"
    )
    names = lambda user, q: [  # noqa: E731
        f"{p.entity}/{p.name}" for p in browse.list_projects(as_user(server, user), search=q)[0]
    ]
    assert names("alice", None) == ["alice/openA5x", "alice/open_5x", "alice/private-one"]
    assert names("bob", None) == ["alice/open_5x"]
    assert names("bob", "private") == []
    assert names("alice", "n_5") == ["alice/open_5x"]  # % and _ are literal
    assert names("alice", "%") == []
    assert names("root", "ALICE/OPEN") == ["alice/openA5x", "alice/open_5x"]


def test_passwords_and_the_sessions_they_start(server: Server) -> None:
    accounts = server.state.accounts
    with pytest.raises(ValidationError):
        accounts.set_password("alice", "short")
    with pytest.raises(AuthenticationError):
        accounts.check_password("alice", "no password set yet")
    accounts.set_password("alice", "a long enough password")
    user_id = accounts.check_password("alice", "a long enough password")
    for name, password in (("alice", "wrong password!"), ("nobody", "a long enough password")):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.check_password(name, password)
    sessions = Sessions(server.state.db)
    token, signed = sessions.start_for_user(user_id)
    assert signed.principal.name == "alice" and sessions.check(token).csrf == signed.csrf
    accounts.set_password("alice", "another long password")  # ends password sessions
    with pytest.raises(AuthenticationError):
        sessions.check(token)
    key_token, _ = sessions.start_with_key(server.keys["bob"])
    assert sessions.check(key_token).principal.name == "bob"
    accounts.revoke_key(server.keys["bob"])  # ends the sessions the key started
    with pytest.raises(AuthenticationError):
        sessions.check(key_token)
    token, _ = sessions.start_for_user(accounts.check_password("alice", "another long password"))
    accounts.set_disabled("alice")
    with pytest.raises(AuthenticationError):
        sessions.check(token)
    with pytest.raises(AuthenticationError):
        sessions.check("not a token")


def test_users_revoke_only_their_own_keys(server: Server) -> None:
    accounts = server.state.accounts
    bobs = accounts.list_keys("bob")[0]
    with pytest.raises(NotFoundError):
        accounts.revoke_key(str(bobs.id), user="alice")
    assert accounts.revoke_key(str(bobs.id), user="bob").revoked


def test_the_cli_sets_a_password(server: Server) -> None:
    db = server.state.config.db_url
    result = CliRunner().invoke(
        cli_app, ["user", "password", "alice", "--stdin", "--db", db], input="from the cli 123\n"
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"set the password of 'alice'", result.output)
    assert server.state.accounts.check_password("alice", "from the cli 123")
    result = CliRunner().invoke(cli_app, ["user", "password", "alice", "--clear", "--db", db])
    assert result.exit_code == 0
    with pytest.raises(AuthenticationError):
        server.state.accounts.check_password("alice", "from the cli 123")
