"""Signed-in browsers of the web UI: opaque session tokens kept in the database.

A browser signs in with an API key or a password (:meth:`Accounts.check_password`) and gets a
random token in a cookie; the database keeps only the token's SHA-256, with the user, the key
it signed in with (if any), a CSRF token and an expiry. Any replica can check it; signing out,
revoking the key, disabling the user or changing the password ends it at once. Each check is
one indexed statement that also gives the caller's roles, like an API key's.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from cairn.core.access import Principal
from cairn.core.accounts import hash_key
from cairn.core.db import models as m
from cairn.core.db.engine import Database
from cairn.errors import AuthenticationError

LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class SignedIn:
    """A live session: who it is, and the token every write it makes must carry."""

    principal: Principal
    csrf: str


class Sessions:
    """Browser sessions in the server's database."""

    def __init__(self, db: Database, *, lifetime: timedelta = LIFETIME) -> None:
        self.db = db
        self.lifetime = lifetime

    def start_with_key(self, key: str) -> tuple[str, SignedIn]:
        """A new session for the user an API key names; (cookie token, session).

        Raises:
            AuthenticationError: an unknown or revoked key, or a disabled user.
        """
        with self.db.read() as s:
            row = s.execute(
                select(m.ApiKey.id, m.ApiKey.user_id).where(
                    m.ApiKey.key_hash == hash_key(key), m.ApiKey.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            raise AuthenticationError("invalid API key")
        return self._start(row.user_id, row.id)

    def start_for_user(self, user_id: int) -> tuple[str, SignedIn]:
        """A new session for a user whose password was checked."""
        return self._start(user_id, None)

    def _start(self, user_id: int, key_id: int | None) -> tuple[str, SignedIn]:
        token = secrets.token_urlsafe(32)
        with self.db.write() as s:
            # Sign-ins are rare: sweeping expired sessions here keeps the table small.
            s.execute(delete(m.UiSession).where(m.UiSession.expires_at < m.utcnow()))
            s.add(
                m.UiSession(
                    token_hash=hash_key(token),
                    user_id=user_id,
                    api_key_id=key_id,
                    csrf=secrets.token_urlsafe(32),
                    expires_at=m.utcnow() + self.lifetime,
                )
            )
        return token, self.check(token)

    def check(self, token: str) -> SignedIn:
        """The session a cookie's token names.

        Raises:
            AuthenticationError: no such session, expired, its key revoked or its user disabled.
        """
        team = aliased(m.Entity)
        with self.db.read() as s:
            rows = s.execute(
                select(
                    m.UiSession.token_hash,
                    m.UiSession.csrf,
                    m.UiSession.expires_at,
                    m.ApiKey.revoked_at,
                    m.User.disabled,
                    m.User.is_admin,
                    m.Entity.name,
                    team.name,
                    m.Membership.role,
                )
                .join(m.User, m.User.id == m.UiSession.user_id)
                .join(m.Entity, m.Entity.id == m.User.entity_id)
                .outerjoin(m.ApiKey, m.ApiKey.id == m.UiSession.api_key_id)
                .outerjoin(m.Membership, m.Membership.user_id == m.User.id)
                .outerjoin(team, team.id == m.Membership.entity_id)
                .where(m.UiSession.token_hash == hash_key(token))
            ).all()
        if not rows or not hmac.compare_digest(rows[0][0], hash_key(token)):
            raise AuthenticationError("you are not signed in")
        _, csrf, expires_at, revoked_at, disabled, is_admin, name, _, _ = rows[0]
        if m.as_utc(expires_at) < m.utcnow() or revoked_at is not None or disabled:
            raise AuthenticationError("your session has ended: sign in again")
        roles = {name: "admin"}
        roles.update({t: role for *_, t, role in rows if t is not None})
        return SignedIn(Principal(name=name, is_superuser=is_admin, roles=roles), csrf)

    def end(self, token: str) -> None:
        with self.db.write() as s:
            s.execute(delete(m.UiSession).where(m.UiSession.token_hash == hash_key(token)))
