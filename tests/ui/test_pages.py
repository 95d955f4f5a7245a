"""The UI's pages through the app in process (no browser): who sees what, escaping, paging,
CSRF, and the headers every page carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from cairn.records import VersionUpdate
from cairn.server import ServerConfig
from tests.server.conftest import Server, log_version, make_server

EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("ui-pages")
    srv = make_server(
        tmp, ServerConfig(db_url=f"sqlite:///{tmp / 'ui.db'}", store_uri=(tmp / "b").as_uri())
    )
    alice = srv.backend("alice")
    log_version(alice, tmp, "alice", "secret-project", "hidden-data", {"a.txt": b"private"})
    v = log_version(
        alice,
        tmp,
        "alice",
        "shown",
        "evil-data",
        {"dir/sub/x.txt": b"x", "dir/y.txt": b"yy", "top.txt": b"t", "zz/q.bin": b"q"},
    )
    svc = srv.state.service.bind(srv.state.accounts.principal_for_key(srv.keys["alice"]))
    svc.update_version(
        v.id, VersionUpdate(description=EVIL, metadata={"html": EVIL, "nested": {"k": [1, EVIL]}})
    )
    yield srv
    for c in srv._open:
        c.close()
    srv.transport.close()
    srv.state.db.dispose()


def signed_in(server: Server, user: str) -> httpx.Client:
    """A browser-like client: signs in with the user's key and keeps the session cookie."""
    c = server.client()
    form = c.get("/signin")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    r = c.post("/signin", data={"nonce": nonce.group(1), "key": server.keys[user], "next": "/"})
    assert r.status_code == 303, r.text
    assert "cairn_session" in c.cookies
    return c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_page_needs_signing_in(server: Server) -> None:
    r = server.client().get("/projects/alice/shown")
    assert r.status_code == 401
    assert "Sign in" in r.text and 'value="/projects/alice/shown"' in r.text


def test_user_supplied_text_is_escaped(server: Server) -> None:
    c = signed_in(server, "alice")
    r = c.get("/projects/alice/shown/artifacts/evil-data/v0")
    assert r.status_code == 200, r.text
    assert EVIL not in r.text
    assert "&lt;script&gt;alert(" in r.text


def test_a_private_project_is_invisible_to_an_outsider(server: Server) -> None:
    bob = signed_in(server, "bob")
    for q in ("", "secret", "alice"):
        page = bob.get("/", params={"q": q} if q else None)
        assert page.status_code == 200
        assert "secret-project" not in page.text and "alice/shown" not in page.text
    for tail in ("", "/artifacts/{c}", "/artifacts/{c}/v0"):
        # A private thing answers exactly as a missing one does, but for the names asked.
        private = bob.get("/projects/alice/secret-project" + tail.format(c="hidden-data"))
        missing = bob.get("/projects/alice/no-such-project" + tail.format(c="no-such-data"))
        assert private.status_code == missing.status_code == 404
        mine = private.text.replace("secret-project", "P").replace("hidden-data", "C")
        theirs = missing.text.replace("no-such-project", "P").replace("no-such-data", "C")
        assert mine == theirs
    alice = signed_in(server, "alice")
    assert "alice/secret-project" in alice.get("/", params={"q": "secret"}).text


def test_a_write_without_the_csrf_token_is_refused(server: Server) -> None:
    c = signed_in(server, "alice")
    url = "/projects/alice/shown/artifacts/evil-data"
    r = c.post(url, data={"description": "no token", "tags": ""})
    assert r.status_code == 403
    r = c.post(url, data={"description": "wrong", "tags": "", "csrf": "guess"})
    assert r.status_code == 403
    token = csrf_of(c.get(url).text)
    r = c.post(url, data={"description": "with token", "tags": "a, b", "csrf": token})
    assert r.status_code == 303
    page = c.get(url).text
    assert "with token" in page and "no token" not in page


def test_pages_carry_security_headers(server: Server) -> None:
    r = server.client().get("/signin")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_folders_page_without_loading_the_version(server: Server) -> None:
    c = signed_in(server, "alice")
    base = "/projects/alice/shown/artifacts/evil-data/v0"
    root = c.get(base).text
    names = re.findall(r'<tr class="dir">\s*<td><a [^>]*>([^<]+)</a>', root)
    assert names == ["dir/", "zz/"]
    assert "top.txt" in root
    inner = c.get(base, params={"dir": "dir/"}).text
    assert re.findall(r'<tr class="dir">\s*<td><a [^>]*>([^<]+)</a>', inner) == ["sub/"]
    assert "y.txt" in inner
    assert "top.txt" not in inner.split('id="files"')[1]


def test_the_session_cookie_is_httponly_lax_and_secure_on_https(server: Server) -> None:
    for scheme, secure in (("http", False), ("https", True)):
        c = server.client()
        c.base_url = httpx.URL(f"{scheme}://cairn.test")
        form = c.get("/signin").text
        nonce = re.search(r'name="nonce" value="([^"]+)"', form)
        assert nonce is not None
        r = c.post("/signin", data={"nonce": nonce.group(1), "key": server.keys["bob"]})
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith("cairn_session=") and "httponly" in cookie
        assert "samesite=lax" in cookie and ("secure" in cookie) == secure


def test_sign_in_refuses_a_form_from_elsewhere_and_goes_only_to_local_pages(
    server: Server,
) -> None:
    c = server.client()
    r = c.post("/signin", data={"nonce": "forged", "key": server.keys["bob"]})
    assert r.status_code == 403 and "cairn_session" not in c.cookies
    form = c.get("/signin").text
    nonce = re.search(r'name="nonce" value="([^"]+)"', form)
    assert nonce is not None
    data = {"nonce": nonce.group(1), "key": server.keys["bob"], "next": "//evil.example/x"}
    r = c.post("/signin", data=data)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_collection_pages_link_to_older_versions(tmp_path: Path) -> None:
    srv = make_server(
        tmp_path,
        ServerConfig(db_url=f"sqlite:///{tmp_path / 'p.db'}", store_uri=(tmp_path / "b").as_uri()),
    )
    try:
        alice = srv.backend("alice")
        for i in range(52):
            log_version(alice, tmp_path, "alice", "p", "many", {"f": str(i).encode()})
        c = signed_in(srv, "alice")
        first = c.get("/projects/alice/p/artifacts/many").text
        shown = re.findall(r'<td><a href="[^"]+">(v\d+)</a></td>', first)
        assert shown[0] == "v51" and shown[-1] == "v2" and len(shown) == 50
        older = re.search(r'href="([^"]+)" rel="next"', first)
        assert older is not None
        rest = c.get(older.group(1).replace("&amp;", "&")).text
        assert re.findall(r'<td><a href="[^"]+">(v\d+)</a></td>', rest) == ["v1", "v0"]
        assert 'rel="next"' not in rest
    finally:
        for client in srv._open:
            client.close()
        srv.transport.close()
        srv.state.db.dispose()


def test_an_open_local_server_needs_no_sign_in(tmp_path: Path) -> None:
    srv = make_server(
        tmp_path,
        ServerConfig(
            db_url=f"sqlite:///{tmp_path / 'l.db'}",
            store_uri=(tmp_path / "b").as_uri(),
            insecure_local=True,
        ),
    )
    try:
        r = srv.client().get("/")
        assert r.status_code == 200 and "Signed in as" in r.text
        cross = srv.client().post(
            "/account/keys", data={"label": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
    finally:
        for client in srv._open:
            client.close()
        srv.transport.close()
        srv.state.db.dispose()


def test_a_portfolio_and_its_members_open_like_collections(server: Server) -> None:
    alice = server.backend("alice")
    v = log_version(alice, server.tmp, "alice", "shown", "to-promote", {"m.bin": b"model"})
    alice.link_version(v.id, "alice", "wandb-registry-model", "classifier", ["production"])
    c = signed_in(server, "alice")
    base = "/projects/alice/wandb-registry-model"
    assert "classifier" in c.get(base).text
    page = c.get(f"{base}/artifacts/classifier")
    assert page.status_code == 200 and "portfolio" in page.text
    member = c.get(f"{base}/artifacts/classifier/v0")
    assert member.status_code == 200, member.text
    assert "production" in member.text and "m.bin" in member.text
    source = c.get("/projects/alice/shown/artifacts/to-promote/v0").text
    assert "alice/wandb-registry-model/classifier:v0" in source  # its links


def test_a_long_history_pages(server: Server) -> None:
    alice = server.backend("alice")
    v = log_version(alice, server.tmp, "alice", "shown", "busy", {"f": b"f"})
    for i in range(30):
        alice.update_version(v.id, VersionUpdate(tags=(f"t{i}",)))  # a tag added, one removed
    c = signed_in(server, "alice")
    first = c.get("/projects/alice/shown/artifacts/busy/v0").text
    later = re.search(r'href="([^"]+)" rel="next">Later changes', first)
    events = first.split('id="history"')[1]
    assert later is not None and "&#34;t0&#34;" in events and "&#34;t29&#34;" not in events
    rest = c.get(later.group(1).replace("&amp;", "&")).text
    assert "&#34;t29&#34;" in rest.split('id="history"')[1] and "Later changes" not in rest
