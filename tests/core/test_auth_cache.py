"""A key is checked in the database at most once per cache lifetime, and a revocation is never
honoured later than that — at once on the process that made it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from cairn.core.accounts import Accounts
from cairn.core.db.engine import Database
from cairn.errors import AuthenticationError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'cairn.db'}")
    db.migrate()
    return db


def _lookups(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(
        db.engine,
        "before_cursor_execute",
        lambda _c, _cur, stmt, *_: seen.append(stmt) if "api_keys" in stmt else None,
    )
    return seen


def test_one_lookup_per_lifetime_and_roles_from_the_same_statement(db: Database) -> None:
    clock = Clock()
    accounts = Accounts(db, cache_seconds=5, clock=clock)
    _, key = accounts.create_user("ada")
    accounts.create_team("lab")
    accounts.add_member("lab", "ada", "viewer")
    seen = _lookups(db)
    for _ in range(10):
        who = accounts.principal_for_key(key)
    assert who.roles == {"ada": "admin", "lab": "viewer"}
    assert len(seen) == 1  # one statement: the key, the user and every role
    clock.now += 5.1
    accounts.principal_for_key(key)
    assert len(seen) == 2


def test_revoked_here_fails_at_once_elsewhere_within_the_lifetime(db: Database) -> None:
    clock = Clock()
    here = Accounts(db, cache_seconds=5, clock=clock)
    elsewhere = Accounts(db, cache_seconds=5, clock=clock)  # another replica, same database
    _, key = here.create_user("bob")
    here.principal_for_key(key)
    elsewhere.principal_for_key(key)
    here.revoke_key(key)
    with pytest.raises(AuthenticationError, match="revoked"):
        here.principal_for_key(key)
    assert elsewhere.principal_for_key(key).name == "bob"  # still within its lifetime
    clock.now += 5.1
    with pytest.raises(AuthenticationError, match="revoked"):
        elsewhere.principal_for_key(key)


def test_role_changes_and_disabling_drop_the_cache(db: Database) -> None:
    accounts = Accounts(db, cache_seconds=60, clock=Clock())
    _, key = accounts.create_user("cy")
    accounts.create_team("ops")
    assert "ops" not in accounts.principal_for_key(key).roles
    accounts.add_member("ops", "cy", "member")
    assert accounts.principal_for_key(key).roles["ops"] == "member"
    accounts.remove_member("ops", "cy")
    assert "ops" not in accounts.principal_for_key(key).roles
    accounts.set_disabled("cy")
    with pytest.raises(AuthenticationError, match="disabled"):
        accounts.principal_for_key(key)


def test_no_cache_means_every_call_reads(db: Database) -> None:
    accounts = Accounts(db, cache_seconds=0)
    _, key = accounts.create_user("dee")
    seen = _lookups(db)
    accounts.principal_for_key(key)
    accounts.principal_for_key(key)
    assert len(seen) == 2
