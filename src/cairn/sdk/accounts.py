"""Account administration on a Cairn server: the client of ``/api/v1/admin``, ``/teams`` and
``/keys`` (the rules are the server's, :mod:`cairn.core.account_admin`).

Answers are the wire dictionaries (``{"name", "admin", "disabled", "teams", ...}`` for a user,
``{"id", "user", "prefix", "label", "created_at", "revoked"}`` for a key). Errors are the
:mod:`cairn.errors` the server's error code names, as for every other call.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from cairn.config import Settings
from cairn.errors import ValidationError


def _seg(value: str) -> str:
    return quote(value, safe="")


class ServerAccounts:
    """Users, teams and keys of the server ``settings`` names, as its logged-in user."""

    def __init__(self, settings: Settings) -> None:
        if not settings.base_url:
            raise ValidationError(
                "not logged in to a server: run `cairn login --host URL`, or give --db to work "
                "on a server's database file directly"
            )
        from cairn.sdk import context

        backend = context.backend_for(settings)
        from cairn.backend.http import HttpBackend

        assert isinstance(backend, HttpBackend)
        self._backend = backend
        self.base_url = backend.base_url

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._backend._json(method, url, **kwargs)

    def whoami(self) -> str:
        return self._backend.default_entity()

    def list_users(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/admin/users")["users"])

    def create_user(self, name: str, *, admin: bool = False) -> tuple[dict[str, Any], str]:
        out = self._json("POST", "/admin/users", json={"name": name, "admin": admin})
        return dict(out["user"]), str(out["key"])

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._json("PATCH", f"/admin/users/{_seg(name)}", json={"disabled": disabled})

    def create_team(self, name: str) -> None:
        self._json("POST", "/admin/teams", json={"name": name})

    def set_member(self, team: str, user: str, role: str) -> None:
        self._json("POST", f"/teams/{_seg(team)}/members", json={"user": user, "role": role})

    def remove_member(self, team: str, user: str) -> None:
        self._json("DELETE", f"/teams/{_seg(team)}/members/{_seg(user)}")

    def list_keys(self, user: str | None = None) -> list[dict[str, Any]]:
        params = {"user": user} if user else None
        return list(self._json("GET", "/keys", params=params)["keys"])

    def create_key(
        self, user: str | None = None, *, label: str | None = None
    ) -> tuple[dict[str, Any], str]:
        out = self._json("POST", "/keys", json={"user": user, "label": label})
        return dict(out["key"]), str(out["secret"])

    def revoke_key(self, key_id: int) -> dict[str, Any]:
        return dict(self._json("DELETE", f"/keys/{key_id}")["key"])
