"""Accounts of the team server: users, teams, memberships and API keys.

Every user has a personal entity of the same name (where they are ``admin``); a team is an
entity of kind ``team`` whose members hold a role (viewer, member, admin). An API key identifies
one user; the server keeps only its SHA-256 (keys are 256 random bits, so a slow password hash
would add nothing) and shows the key itself once, when it is made.

:meth:`Accounts.principal_for_key` turns a key into the :class:`~cairn.core.access.Principal`
the domain service checks on every call.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache
from sqlalchemy import delete, func, select, true
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, aliased

from cairn import naming
from cairn.core.access import ROLE_RANK, Principal
from cairn.core.db import models as m
from cairn.core.db.engine import Database
from cairn.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ProjectNotFoundError,
    ValidationError,
)

KEY_PREFIX = "cairn_"
_SHOWN = 12  # characters of a key kept in clear, to tell keys apart in listings


def new_api_key() -> str:
    # No "-": the W&B client takes what follows a key's first "-" as the secret and wants 40+
    # characters of it, so a dash early in the random part would make it refuse the key.
    return KEY_PREFIX + secrets.token_urlsafe(32).replace("-", "_")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# scrypt at n=2**14, r=8 (16 MiB, ~50 ms here): passwords are guessable, unlike keys.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex), with a fresh random salt."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT, dklen=32)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        mine = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(mine.hex(), digest)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user has no password, so a miss costs what a wrong one does."""
    return hash_password("no password is set", b"\0" * 16)


@dataclass(frozen=True)
class UserRecord:
    name: str
    is_admin: bool
    disabled: bool
    created_at: datetime
    teams: tuple[tuple[str, str], ...] = ()  # (team, role)

    def to_wire(self) -> dict[str, object]:
        return {
            "name": self.name,
            "admin": self.is_admin,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
            "teams": dict(self.teams),
        }


@dataclass(frozen=True)
class KeyRecord:
    id: int
    user: str
    prefix: str
    label: str | None
    created_at: datetime
    revoked: bool

    def to_wire(self) -> dict[str, object]:
        return {
            "id": self.id,
            "user": self.user,
            "prefix": self.prefix,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "revoked": self.revoked,
        }


def _check_role(role: str) -> str:
    if role not in ROLE_RANK:
        raise ValidationError(f"role {role!r} is not one of {', '.join(ROLE_RANK)}")
    return role


class Accounts:
    """Users, teams and keys in the server's database."""

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = 1.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        # Every request authenticates, and most callers send the same key again and again, so
        # the principal a key names is kept for ``cache_seconds``. A change made through this
        # object (a key revoked, a user disabled, a role changed) drops the whole cache at
        # once; other processes and replicas see it when their entry expires, so
        # ``cache_seconds`` bounds how long a revoked key can still be used. 0: no cache.
        self._principals: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=cache_size, ttl=cache_seconds, timer=clock)
            if cache_seconds > 0
            else None
        )
        self._cache_lock = threading.Lock()

    def _forget_principals(self) -> None:
        if self._principals is not None:
            with self._cache_lock:
                self._principals.clear()

    # -- users -----------------------------------------------------------------------------------
    def has_users(self) -> bool:
        with self.db.read() as s:
            return bool(s.scalar(select(func.count()).select_from(m.User)))

    def create_user(
        self, name: str, *, admin: bool = False, key: str | None = None
    ) -> tuple[UserRecord, str]:
        """Create a user (and their entity) with a first API key; returns the key in clear.

        Raises:
            ValidationError: a bad name, or a ``key`` too short to be safe.
            ConflictError: an entity of that name exists.
        """
        naming.check_name(name, "user name")
        key = self._check_new_key(key)
        try:
            with self.db.write() as s:
                if s.scalar(select(m.Entity.id).where(m.Entity.name == name)) is not None:
                    raise ConflictError(f"an entity named {name!r} already exists")
                ent = m.Entity(name=name, kind="user")
                s.add(ent)
                s.flush()
                user = m.User(entity_id=ent.id, is_admin=admin, disabled=False)
                s.add(user)
                s.flush()
                self._add_key(s, user.id, key, "first key")
                return self._user_record(s, user, ent), key
        except sa_exc.IntegrityError:
            raise ConflictError(f"an entity named {name!r} already exists") from None

    def list_users(self) -> list[UserRecord]:
        with self.db.read() as s:
            rows = s.execute(
                select(m.User, m.Entity)
                .join(m.Entity, m.Entity.id == m.User.entity_id)
                .order_by(m.Entity.name)
            ).all()
            return [self._user_record(s, u, e) for u, e in rows]

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        """Disable (or re-enable) a user: their keys stop working at once on this process,
        and within the cache's lifetime on others."""
        with self.db.write() as s:
            user, _ = self._user(s, name)
            user.disabled = disabled
        self._forget_principals()

    def _user(self, s: Session, name: str) -> tuple[m.User, m.Entity]:
        row = s.execute(
            select(m.User, m.Entity)
            .join(m.Entity, m.Entity.id == m.User.entity_id)
            .where(m.Entity.name == name)
        ).first()
        if row is None:
            raise NotFoundError(f"no user named {name!r}")
        return row[0], row[1]

    def _user_record(self, s: Session, user: m.User, ent: m.Entity) -> UserRecord:
        teams = s.execute(
            select(m.Entity.name, m.Membership.role)
            .join(m.Membership, m.Membership.entity_id == m.Entity.id)
            .where(m.Membership.user_id == user.id)
            .order_by(m.Entity.name)
        ).all()
        return UserRecord(
            name=ent.name,
            is_admin=user.is_admin,
            disabled=user.disabled,
            created_at=m.as_utc(user.created_at),
            teams=tuple((t, r) for t, r in teams),
        )

    # -- teams -----------------------------------------------------------------------------------
    def create_team(self, name: str) -> None:
        """Raises ConflictError if an entity of that name exists."""
        naming.check_name(name, "team name")
        try:
            with self.db.write() as s:
                if s.scalar(select(m.Entity.id).where(m.Entity.name == name)) is not None:
                    raise ConflictError(f"an entity named {name!r} already exists")
                s.add(m.Entity(name=name, kind="team"))
        except sa_exc.IntegrityError:
            raise ConflictError(f"an entity named {name!r} already exists") from None

    def add_member(self, team: str, user: str, role: str = "member") -> None:
        """Give a user a role in a team (replacing the role they had)."""
        _check_role(role)
        with self.db.write() as s:
            ent = s.scalar(select(m.Entity).where(m.Entity.name == team))
            if ent is None or ent.kind != "team":
                raise NotFoundError(f"no team named {team!r}")
            u, _ = self._user(s, user)
            row = s.get(m.Membership, (ent.id, u.id))
            if row is None:
                s.add(m.Membership(entity_id=ent.id, user_id=u.id, role=role))
            else:
                row.role = role
        self._forget_principals()

    def remove_member(self, team: str, user: str) -> None:
        with self.db.write() as s:
            ent = s.scalar(select(m.Entity).where(m.Entity.name == team, m.Entity.kind == "team"))
            if ent is None:
                raise NotFoundError(f"no team named {team!r}")
            u, _ = self._user(s, user)
            row = s.get(m.Membership, (ent.id, u.id))
            if row is not None:
                s.delete(row)
        self._forget_principals()

    # -- keys ------------------------------------------------------------------------------------
    @staticmethod
    def _check_new_key(key: str | None) -> str:
        if key is None:
            return new_api_key()
        if len(key) < 32 or not key.isprintable() or " " in key:
            raise ValidationError("an API key must be at least 32 printable characters, no spaces")
        return key

    def _add_key(self, s: Session, user_id: int, key: str, label: str | None) -> m.ApiKey:
        row = m.ApiKey(user_id=user_id, key_hash=hash_key(key), prefix=key[:_SHOWN], label=label)
        s.add(row)
        s.flush()
        return row

    def create_key(
        self, user: str, *, label: str | None = None, key: str | None = None
    ) -> tuple[KeyRecord, str]:
        """Make another API key for a user; returns it in clear (it is never shown again)."""
        key = self._check_new_key(key)
        if label is not None and len(label) > 128:
            raise ValidationError("a key label has at most 128 characters")
        with self.db.write() as s:
            u, ent = self._user(s, user)
            row = self._add_key(s, u.id, key, label)
            return self._key_record(row, ent.name), key

    def list_keys(self, user: str | None = None) -> list[KeyRecord]:
        with self.db.read() as s:
            q = (
                select(m.ApiKey, m.Entity.name)
                .join(m.User, m.User.id == m.ApiKey.user_id)
                .join(m.Entity, m.Entity.id == m.User.entity_id)
            )
            if user is not None:
                q = q.where(m.Entity.name == user)
            return [self._key_record(k, n) for k, n in s.execute(q.order_by(m.ApiKey.id)).all()]

    @staticmethod
    def _key_record(row: m.ApiKey, user: str) -> KeyRecord:
        return KeyRecord(
            id=row.id,
            user=user,
            prefix=row.prefix,
            label=row.label,
            created_at=m.as_utc(row.created_at),
            revoked=row.revoked_at is not None,
        )

    def revoke_key(self, which: str, *, user: str | None = None) -> KeyRecord:
        """Revoke a key named by its id (from ``list_keys``) or by the key itself; with
        ``user``, only a key of that user (another's is "no such key", as a missing one).

        Raises:
            NotFoundError: no such key.
        """
        with self.db.write() as s:
            if which.isdigit() and len(which) < 16:
                row = s.get(m.ApiKey, int(which))
            else:
                row = s.scalar(select(m.ApiKey).where(m.ApiKey.key_hash == hash_key(which)))
            owner = s.get_one(m.User, row.user_id) if row is not None else None
            name = s.get_one(m.Entity, owner.entity_id).name if owner is not None else None
            if row is None or name is None or (user is not None and name != user):
                raise NotFoundError("no such API key")
            if row.revoked_at is None:
                row.revoked_at = m.utcnow()
            record = self._key_record(row, name)
        self._forget_principals()
        return record

    # -- who is calling --------------------------------------------------------------------------
    def principal_for_key(self, key: str) -> Principal:
        """The caller an API key names: one indexed lookup (the key's hash), then cached.

        Raises:
            AuthenticationError: unknown or revoked key, or a disabled user.
        """
        digest = hash_key(key)
        if self._principals is not None:
            with self._cache_lock:
                hit = self._principals.get(digest)
            if hit is not None:
                return hit
        who = self._principal_from_db(digest)
        if self._principals is not None:
            with self._cache_lock:
                self._principals[digest] = who
        return who

    def _principal_from_db(self, digest: str) -> Principal:
        team = aliased(m.Entity)
        with self.db.read() as s:
            # One statement: the key, its user and entity, and one row per team membership.
            rows = s.execute(
                select(
                    m.ApiKey.key_hash,
                    m.ApiKey.revoked_at,
                    m.User.disabled,
                    m.User.is_admin,
                    m.Entity.name,
                    team.name,
                    m.Membership.role,
                )
                .join(m.User, m.User.id == m.ApiKey.user_id)
                .join(m.Entity, m.Entity.id == m.User.entity_id)
                .outerjoin(m.Membership, m.Membership.user_id == m.User.id)
                .outerjoin(team, team.id == m.Membership.entity_id)
                .where(m.ApiKey.key_hash == digest)
            ).all()
        # The lookup is by hash, so timing reveals nothing of the key; compare anyway to keep
        # the check explicit.
        if not rows or not hmac.compare_digest(rows[0][0], digest):
            raise AuthenticationError("invalid API key (cairn login stores a new one)")
        _, revoked_at, disabled, is_admin, name, _, _ = rows[0]
        if revoked_at is not None:
            raise AuthenticationError("this API key was revoked")
        if disabled:
            raise AuthenticationError(f"user {name!r} is disabled")
        roles = {name: "admin"}
        roles.update({t: role for *_, t, role in rows if t is not None})
        return Principal(name=name, is_superuser=is_admin, roles=roles)

    def principal_for_user(self, name: str) -> Principal:
        """User ``name`` as a caller, for a grant made out to them (a signed URL: no key).

        Raises:
            AuthenticationError: no such user, or a disabled one.
        """
        team = aliased(m.Entity)
        with self.db.read() as s:
            rows = s.execute(
                select(m.User.disabled, m.User.is_admin, team.name, m.Membership.role)
                .join(m.Entity, m.Entity.id == m.User.entity_id)
                .outerjoin(m.Membership, m.Membership.user_id == m.User.id)
                .outerjoin(team, team.id == m.Membership.entity_id)
                .where(m.Entity.name == name)
            ).all()
        if not rows or rows[0][0]:
            raise AuthenticationError(f"user {name!r} is unknown or disabled")
        roles = {name: "admin"}
        roles.update({t: role for *_, t, role in rows if t is not None})
        return Principal(name=name, is_superuser=bool(rows[0][1]), roles=roles)

    # -- passwords (the web UI's sign-in; cairn.core.sessions keeps the sessions) ------------
    def set_password(self, name: str, password: str | None) -> None:
        """Set a user's password (None removes it); ends the sessions it signed in.

        Raises:
            NotFoundError: no such user.
            ValidationError: a password under 10 characters or over 1,024.
        """
        if password is not None and not 10 <= len(password) <= 1024:
            raise ValidationError("a password has 10 to 1,024 characters")
        with self.db.write() as s:
            user, _ = self._user(s, name)
            row = s.get(m.UserPassword, user.id)
            if password is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(m.UserPassword(user_id=user.id, hash=hash_password(password)))
            else:
                row.hash, row.updated_at = hash_password(password), m.utcnow()
            s.execute(
                delete(m.UiSession).where(
                    m.UiSession.user_id == user.id, m.UiSession.api_key_id.is_(None)
                )
            )

    def check_password(self, name: str, password: str) -> int:
        """The id of the enabled user ``name`` if ``password`` is theirs.

        Raises:
            AuthenticationError: no such user, no password set, a wrong one or a disabled user
                (one message for all, and the same hashing work).
        """
        with self.db.read() as s:
            row = s.execute(
                select(m.User.id, m.User.disabled, m.UserPassword.hash)
                .join(m.Entity, m.Entity.id == m.User.entity_id)
                .join(m.UserPassword, m.UserPassword.user_id == m.User.id)
                .where(m.Entity.name == name)
            ).first()
        stored = row.hash if row is not None else _dummy_hash()
        if not verify_password(password, stored) or row is None or row.disabled:
            raise AuthenticationError("wrong user name or password")
        return int(row.id)

    # -- access to projects ------------------------------------------------------------------
    def set_visibility(self, who: Principal, entity: str, project: str, visibility: str) -> None:
        """Make a project ``public`` (readable by every signed-in user) or ``private``.

        Raises:
            ProjectNotFoundError: no such project, or the caller may not read it.
            PermissionDeniedError: the caller may read it but is not an admin of its entity.
        """
        from cairn.core import permissions

        if visibility not in ("public", "private"):
            raise ValidationError("visibility is 'public' or 'private'")
        with self.db.write() as s:
            proj = s.scalar(
                select(m.Project)
                .join(m.Entity, m.Entity.id == m.Project.entity_id)
                .where(m.Entity.name == entity, m.Project.name == project)
            )
            label = f"project {entity}/{project}"
            if proj is None or not permissions.allowed(s, who, proj, "read"):
                raise ProjectNotFoundError(f"{label} not found")
            permissions.require(s, who, proj, "admin", label)
            proj.visibility = visibility

    def ping(self) -> None:
        """A trivial query (readiness)."""
        with self.db.read() as s:
            s.scalar(select(true()))
