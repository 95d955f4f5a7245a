"""Accounts over HTTP: users and teams (server admins), a team's members (its admins), API
keys (everyone their own). The rules are :class:`cairn.core.account_admin.AccountAdmin`'s;
``cairn user|team|key`` call these routes on the server the CLI is logged in to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from cairn.core.account_admin import AccountAdmin
from cairn.server.auth import State, Who
from cairn.server.schemas import _In

router = APIRouter(tags=["admin"])


class UserIn(_In):
    name: str = Field(max_length=128)
    admin: bool = False


class UserChangeIn(_In):
    disabled: bool


class TeamIn(_In):
    name: str = Field(max_length=128)


class MemberIn(_In):
    user: str = Field(max_length=128)
    role: str = Field(default="member", max_length=16)


class KeyIn(_In):
    user: str | None = Field(default=None, max_length=128)  # a server admin's: someone else's
    label: str | None = Field(default=None, max_length=128)


@router.get("/admin/users")
def list_users(state: State, who: Who) -> dict[str, Any]:
    """Every user, with their admin flag, state and teams (a server admin)."""
    return {"users": [u.to_wire() for u in AccountAdmin(state.accounts, who).list_users()]}


@router.post("/admin/users")
def create_user(body: UserIn, state: State, who: Who) -> dict[str, Any]:
    """Create a user and their first API key, returned once (a server admin)."""
    user, key = AccountAdmin(state.accounts, who).create_user(body.name, admin=body.admin)
    return {"user": user.to_wire(), "key": key}


@router.patch("/admin/users/{user}")
def change_user(user: str, body: UserChangeIn, state: State, who: Who) -> dict[str, Any]:
    """Disable a user (their keys stop working) or enable them again (a server admin)."""
    AccountAdmin(state.accounts, who).set_disabled(user, body.disabled)
    return {"name": user, "disabled": body.disabled}


@router.post("/admin/teams")
def create_team(body: TeamIn, state: State, who: Who) -> dict[str, Any]:
    """Create a team entity (a server admin)."""
    AccountAdmin(state.accounts, who).create_team(body.name)
    return {"name": body.name}


@router.post("/teams/{team}/members")
def set_member(team: str, body: MemberIn, state: State, who: Who) -> dict[str, Any]:
    """Give a user a role in the team, replacing the one they had (an admin of the team)."""
    AccountAdmin(state.accounts, who).set_member(team, body.user, body.role)
    return {"team": team, "user": body.user, "role": body.role}


@router.delete("/teams/{team}/members/{user}")
def remove_member(team: str, user: str, state: State, who: Who) -> dict[str, Any]:
    """Take a user out of the team (an admin of the team)."""
    AccountAdmin(state.accounts, who).remove_member(team, user)
    return {"team": team, "user": user}


@router.get("/keys")
def list_keys(state: State, who: Who, user: str | None = None) -> dict[str, Any]:
    """The caller's API keys (a server admin: everyone's, or ``user``'s)."""
    return {"keys": [k.to_wire() for k in AccountAdmin(state.accounts, who).list_keys(user)]}


@router.post("/keys")
def create_key(body: KeyIn, state: State, who: Who) -> dict[str, Any]:
    """Make another API key for the caller (a server admin: for ``user``); returned once."""
    record, key = AccountAdmin(state.accounts, who).create_key(body.user, label=body.label)
    return {"key": record.to_wire(), "secret": key}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: int, state: State, who: Who) -> dict[str, Any]:
    """Revoke one of the caller's keys (a server admin: anyone's); it stops working at once."""
    return {"key": AccountAdmin(state.accounts, who).revoke_key(key_id).to_wire()}
