"""Who may manage which accounts: the rules behind ``cairn user|team|key`` over HTTP.

* Users (create, list, disable) and teams (create): a server admin only.
* A team's members: a server admin, or an admin of that team. Someone with a lesser role in
  the team is refused (:class:`~cairn.errors.PermissionDeniedError`); someone with none is told
  there is no such team, as :mod:`cairn.core.permissions` does for entities.
* API keys: everyone their own; a server admin anyone's. A key that is not the caller's is,
  to them, a key that does not exist (its id tells nothing about whose it is).

:class:`AccountAdmin` wraps :class:`~cairn.core.accounts.Accounts` for one caller; the server's
admin routes make one per request. The database-file admin commands (``--db``) use
:class:`~cairn.core.accounts.Accounts` directly: whoever can open the file is its admin.
"""

from __future__ import annotations

from cairn.core.access import ROLE_RANK, Principal
from cairn.core.accounts import Accounts, KeyRecord, UserRecord
from cairn.errors import NotFoundError, PermissionDeniedError


class AccountAdmin:
    """:class:`Accounts` as seen by ``who``: each method checks the rule, then acts."""

    def __init__(self, accounts: Accounts, who: Principal) -> None:
        self.accounts = accounts
        self.who = who

    def _require_server_admin(self, what: str) -> None:
        if not self.who.is_superuser:
            raise PermissionDeniedError(f"only a server admin may {what}")

    def _require_team_admin(self, team: str) -> None:
        if self.who.is_superuser:
            return
        role = self.who.role_in(team)
        if role is None or team == self.who.name:
            raise NotFoundError(f"no team named {team!r}")
        if ROLE_RANK[role] < ROLE_RANK["admin"]:
            raise PermissionDeniedError(f"only an admin of {team!r} may change its members")

    # -- users and teams -------------------------------------------------------------------------
    def list_users(self) -> list[UserRecord]:
        """Raises PermissionDeniedError: not a server admin."""
        self._require_server_admin("list users")
        return self.accounts.list_users()

    def create_user(self, name: str, *, admin: bool = False) -> tuple[UserRecord, str]:
        """Raises PermissionDeniedError (not a server admin), ValidationError, ConflictError."""
        self._require_server_admin("create users")
        return self.accounts.create_user(name, admin=admin)

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Raises PermissionDeniedError (not a server admin), NotFoundError (no such user)."""
        self._require_server_admin("disable or enable users")
        self.accounts.set_disabled(name, disabled)

    def create_team(self, name: str) -> None:
        """Raises PermissionDeniedError (not a server admin), ValidationError, ConflictError."""
        self._require_server_admin("create teams")
        self.accounts.create_team(name)

    def set_member(self, team: str, user: str, role: str) -> None:
        """Give ``user`` a role in ``team``.

        Raises:
            NotFoundError: no such team (or the caller has no role in it), or no such user.
            PermissionDeniedError: the caller is a viewer or member of the team.
            ValidationError: an unknown role.
        """
        self._require_team_admin(team)
        self.accounts.add_member(team, user, role)

    def remove_member(self, team: str, user: str) -> None:
        """Raises as :meth:`set_member`; removing a non-member changes nothing."""
        self._require_team_admin(team)
        self.accounts.remove_member(team, user)

    # -- keys ------------------------------------------------------------------------------------
    def _key_user(self, user: str | None) -> str:
        if user is None or user == self.who.name:
            return self.who.name
        if not self.who.is_superuser:
            raise PermissionDeniedError("only a server admin may manage another user's keys")
        return user

    def list_keys(self, user: str | None = None) -> list[KeyRecord]:
        """The caller's keys; a server admin's ``user=None`` lists everyone's.

        Raises PermissionDeniedError: another user's keys, asked by a non-admin.
        """
        if user is None and self.who.is_superuser:
            return self.accounts.list_keys()
        return self.accounts.list_keys(self._key_user(user))

    def create_key(
        self, user: str | None = None, *, label: str | None = None
    ) -> tuple[KeyRecord, str]:
        """A new key for the caller (a server admin: for ``user``); returned in clear once.

        Raises PermissionDeniedError (another user's, by a non-admin), NotFoundError,
        ValidationError (a label over 128 characters).
        """
        return self.accounts.create_key(self._key_user(user), label=label)

    def revoke_key(self, key_id: int) -> KeyRecord:
        """Revoke a key by its id.

        Raises NotFoundError: no such key, or one of another user's (to a non-admin).
        """
        if not self.who.is_superuser and not any(
            k.id == key_id for k in self.accounts.list_keys(self.who.name)
        ):
            raise NotFoundError("no such API key")
        return self.accounts.revoke_key(str(key_id))
