"""End to end in Chromium: sign in (key, password), browse to a version's files, edit aliases,
tags and a description (CSRF enforced), keys, sign out, and an outsider who sees nothing of a
private project. Screenshots for the README go to docs/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import PASSWORD, Site, shot

pytestmark = pytest.mark.slow


def sign_in_with_key(page: Any, site: Site, user: str) -> None:
    page.goto(site.url + "/")
    page.fill("#key", site.keys[user])
    page.click("#signin-key button[type=submit]")
    page.wait_for_selector("text=Signed in as")


def test_sign_in_with_a_key_and_browse_to_a_versions_files(page: Any, site: Site) -> None:
    page.goto(site.url + "/")
    assert page.locator("h1").inner_text() == "Sign in to Cairn"
    shot(page, "signin")
    sign_in_with_key(page, site, "alice")
    assert page.locator("h1").inner_text() == "Projects"
    page.fill("#q", "bik")
    page.wait_for_url(re.compile(r"q=bik"))
    shot(page, "projects")
    page.click("text=alice/bikes")
    page.wait_for_selector("h2:has-text('dataset')")
    assert page.locator("h2", has_text="model").count() == 1
    shot(page, "project")
    page.click("a:text-is('bike-rides')")
    rows = page.locator("#versions tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).locator("td").nth(0).inner_text() == "v2"  # newest first
    shot(page, "collection")
    page.click("#versions >> a:text-is('v2')")
    page.wait_for_selector("#files")
    assert "Lyon" in page.locator(".metadata").inner_text()
    runs = page.locator("#runs").inner_text()
    assert "prep0001" in runs and "alice/bikes/train001" in runs
    shot(page, "version", full_page=True)
    # Folders open in place (htmx) and keep a shareable URL.
    page.click("#files >> text=images/")
    page.wait_for_selector("#files >> text=ride-000.png")
    assert "dir=images" in page.url
    assert page.locator("#files tbody tr").count() == 25
    shot(page, "files")
    with page.expect_download() as download:
        page.click("#files tr:has-text('ride-003.png') >> text=Download")
    assert Path(download.value.path()).read_bytes() == b"not really a png 3"
    page.click("#files nav >> text=bike-rides:v2")
    page.wait_for_selector("#files >> text=README.md")
    assert not page.problems, page.problems  # no CSP violation, no script error


def test_members_edit_aliases_tags_and_description(page: Any, site: Site) -> None:
    sign_in_with_key(page, site, "alice")
    base = site.url + "/projects/alice/bikes/artifacts/bike-rides"
    page.goto(base + "/v0")
    page.fill("#new-alias", "production")
    page.click("#aliases button:text-is('Add alias')")
    page.wait_for_selector("#aliases .alias:text-is('production')")
    page.fill("#version-tags", "audited, q3")
    page.click("text=Save tags")
    page.wait_for_selector(".tag:text-is('q3')")
    page.click("button[aria-label='Remove alias production']")
    page.wait_for_load_state()
    assert page.locator("#aliases .alias:text-is('production')").count() == 0
    page.goto(base)
    page.click("text=Edit description and tags")
    page.fill("#description", "Edited <b>in</b> the browser")
    page.fill("#tags", "rides, public-data")
    page.click("form.card button:text-is('Save')")
    page.wait_for_selector("#collection-tags .tag:text-is('public-data')")
    assert page.locator("#collection-description").inner_text() == "Edited <b>in</b> the browser"
    # The same write without the session's CSRF token is refused (the cookie alone is not enough).
    forged = page.request.post(base, form={"description": "forged", "tags": ""})
    assert forged.status == 403
    page.reload()
    assert "forged" not in page.content()


def test_sign_in_with_a_password_keys_and_sign_out(page: Any, site: Site) -> None:
    page.goto(site.url + "/signin")
    page.fill("#username", "alice")
    page.fill("#password", "not the password")
    page.click("#signin-password button[type=submit]")
    assert "wrong user name or password" in page.locator(".error").inner_text()
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("#signin-password button[type=submit]")
    page.wait_for_selector("text=Signed in as")
    page.click("text=API keys")
    page.fill("#label", "from the browser")
    page.click("text=Create a key")
    new_key = page.locator("#new-key").inner_text()
    assert new_key.startswith("cairn_")
    shot(page, "keys")
    row = page.locator("#keys tr", has_text="from the browser")
    row.locator("button", has_text="Revoke").click()
    page.wait_for_selector("#keys tr:has-text('from the browser') >> text=revoked")
    assert (
        page.request.get(
            site.url + "/api/v1/viewer", headers={"Authorization": f"Bearer {new_key}"}
        ).status
        == 401
    )
    page.click("text=Sign out")
    page.wait_for_selector("h1:text-is('Sign in to Cairn')")
    page.goto(site.url + "/projects/alice/bikes")
    assert page.locator("h1").inner_text() == "Sign in to Cairn"


def test_an_outsider_sees_nothing_of_a_private_project(page: Any, site: Site) -> None:
    sign_in_with_key(page, site, "eve")
    assert "bikes" not in page.content() and "secret" not in page.content()
    for q in ("bikes", "secret", "alice"):
        page.goto(f"{site.url}/?q={q}")
        assert "alice/" not in page.locator("#projects").inner_text()
    page.goto(site.url + "/projects/alice/secret-plans/artifacts/launch-codes/v0")
    assert page.locator("h1").inner_text() == "Not found"
    assert "codes.txt" not in page.content()
    shot(page, "outsider")


def test_phone_width_and_keyboard(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in_with_key(page, site, "alice")
    page.goto(site.url + "/projects/alice/bikes/artifacts/bike-rides/v2")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at phone width"
    shot(page, "version-phone")
    # The first Tab reaches the skip link, which jumps to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # A folder opens from the keyboard.
    page.focus("#files >> text=images/")
    page.keyboard.press("Enter")
    page.wait_for_selector("#files >> text=ride-000.png")
    context.close()


def test_api_docs_load_from_the_server(page: Any, site: Site) -> None:
    """/docs and /redoc work with no internet: nothing is fetched from anywhere else (ReDoc
    asks for its sidebar logo on cdn.redoc.ly; the CSP blocks it and ReDoc hides it)."""
    fetched: list[str] = []
    page.on("requestfinished", lambda r: fetched.append(r.url))
    page.goto(site.url + "/docs")
    page.wait_for_selector("button.authorize")  # the bearer scheme is declared
    page.goto(site.url + "/redoc")
    page.wait_for_selector("h1:has-text('Cairn')", timeout=30_000)
    assert [u for u in fetched if not u.startswith((site.url, "blob:", "data:"))] == []
