"""``cairn user``, ``cairn team`` and ``cairn key``: accounts of a team server.

By default they go to the server you are logged in to (``cairn login``), which applies its
rules: server admins manage users and teams, a team's admins its members, everyone their own
keys. With ``--db URL`` they work on a server's database directly instead, as its owner (no
rules: whoever can open the database is its admin); that needs the ``server`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.cli.errors import fail
from cairn.cli.output import JsonOption, col, emit, human_time

if TYPE_CHECKING:
    from cairn.sdk.accounts import ServerAccounts
    from cairn.server.admin import Accounts

user_app = typer.Typer(help="Manage a server's users (server admins).", no_args_is_help=True)
team_app = typer.Typer(help="Manage teams and their members.", no_args_is_help=True)
key_app = typer.Typer(
    help="Manage API keys (your own; a server admin: anyone's).", no_args_is_help=True
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Work on this server database directly (sqlite:///path or "
        "postgresql+psycopg://host/db) instead of through the logged-in server.",
    ),
]


def _local(db: str) -> Accounts:
    try:
        from cairn.server.admin import open_accounts
        from cairn.server.app import SchemaError
    except ImportError as exc:
        fail(f"--db needs {exc.name}: pip install 'cairn[server]'")
    try:
        return open_accounts(db)
    except SchemaError as exc:
        fail(str(exc))


def _server() -> ServerAccounts:
    from cairn.sdk import context
    from cairn.sdk.accounts import ServerAccounts

    return ServerAccounts(context.settings())


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="User name (also their entity).")],
    admin: Annotated[bool, typer.Option("--admin", help="A server admin (superuser).")] = False,
    db: DbOption = None,
) -> None:
    """Create a user and print their first API key (shown only once)."""
    if db is not None:
        record, key = _local(db).create_user(name, admin=admin)
        is_admin = record.is_admin
    else:
        row, key = _server().create_user(name, admin=admin)
        is_admin = bool(row["admin"])
    typer.echo(f"created {'admin ' if is_admin else ''}user {name!r}; API key:")
    typer.echo(key)


@user_app.command("list")
def user_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List users, their admin flag, state and teams."""
    rows: list[dict[str, Any]] = (
        [u.to_wire() for u in _local(db).list_users()] if db else _server().list_users()
    )
    emit(
        rows,
        [
            col("name"),
            col("admin"),
            col("disabled"),
            col("teams"),
            col("created_at", "CREATED", human_time),
        ],
        as_json,
    )


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument(help="User name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    db: DbOption = None,
) -> None:
    """Disable a user: their API keys stop working at once."""
    if db is not None:
        _local(db).set_disabled(name, not enable)
    else:
        _server().set_disabled(name, not enable)
    typer.echo(f"{'enabled' if enable else 'disabled'} {name!r}")


@team_app.command("create")
def team_create(
    name: Annotated[str, typer.Argument(help="Team name (an entity).")], db: DbOption = None
) -> None:
    """Create a team entity (a server admin)."""
    if db is not None:
        _local(db).create_team(name)
    else:
        _server().create_team(name)
    typer.echo(f"created team {name!r}")


@team_app.command("add-member")
def team_add_member(
    team: Annotated[str, typer.Argument(help="Team name.")],
    user: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="viewer, member or admin.")] = "member",
    db: DbOption = None,
) -> None:
    """Give a user a role in a team, replacing any role they had (an admin of the team)."""
    if db is not None:
        _local(db).add_member(team, user, role)
    else:
        _server().set_member(team, user, role)
    typer.echo(f"{user!r} is {role} of {team!r}")


@team_app.command("remove-member")
def team_remove_member(
    team: Annotated[str, typer.Argument(help="Team name.")],
    user: Annotated[str, typer.Argument(help="User name.")],
    db: DbOption = None,
) -> None:
    """Take a user out of a team (an admin of the team)."""
    if db is not None:
        _local(db).remove_member(team, user)
    else:
        _server().remove_member(team, user)
    typer.echo(f"{user!r} is no longer in {team!r}")


@team_app.command("default-ttl")
def team_default_ttl(
    entity: Annotated[str, typer.Argument(help="A team or user entity.")],
    days: Annotated[
        float | None, typer.Option(help="Versions that inherit their TTL live this many days.")
    ] = None,
    never: Annotated[
        bool, typer.Option("--never", help="Versions that inherit their TTL never expire.")
    ] = False,
) -> None:
    """Show or set an entity's default TTL, through the configured store or server (an
    admin of the entity). Versions logged with their own TTL, or with ttl=None, keep theirs."""
    from cairn.sdk import context

    if days is not None and never:
        raise typer.BadParameter("give --days or --never, not both")
    if days is not None and days <= 0:
        raise typer.BadParameter("--days must be positive")
    backend = context.backend_for(context.settings())
    if days is not None or never:
        backend.set_default_ttl(entity, round(days * 86_400) if days is not None else None)
    seconds = backend.get_default_ttl(entity)
    shown = (
        "never expire" if seconds is None else f"expire {seconds / 86_400:g} day(s) after logging"
    )
    typer.echo(f"versions of {entity!r} that inherit their TTL {shown}")


@key_app.command("create")
def key_create(
    user: Annotated[
        str | None,
        typer.Argument(help="Whose key (default: yours; another user's needs a server admin)."),
    ] = None,
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    db: DbOption = None,
) -> None:
    """Make another API key and print it (shown only once)."""
    if db is not None:
        if user is None:
            raise typer.BadParameter("with --db, name the user")
        record, key = _local(db).create_key(user, label=label)
        key_id, owner = record.id, record.user
    else:
        row, key = _server().create_key(user, label=label)
        key_id, owner = row["id"], row["user"]
    typer.echo(f"key {key_id} for {owner!r}:")
    typer.echo(key)


@key_app.command("list")
def key_list(
    user: Annotated[
        str | None, typer.Argument(help="Only this user's keys (a server admin's question).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List API keys (yours; a server admin: everyone's): id, user, first characters, label."""
    rows: list[dict[str, Any]] = (
        [k.to_wire() for k in _local(db).list_keys(user)] if db else _server().list_keys(user)
    )
    for r in rows:
        r["state"] = "revoked" if r["revoked"] else "active"
    emit(
        rows,
        [
            col("id"),
            col("user"),
            col("prefix", fmt=lambda p: f"{p}…"),
            col("label"),
            col("state"),
            col("created_at", "CREATED", human_time),
        ],
        as_json,
    )


@key_app.command("revoke")
def key_revoke(
    key: Annotated[
        str, typer.Argument(help="The key's id from `cairn key list` (with --db: or the key).")
    ],
    db: DbOption = None,
) -> None:
    """Revoke an API key; requests with it fail at once."""
    if db is not None:
        record = _local(db).revoke_key(key)
        key_id, owner = record.id, record.user
    else:
        if not key.isdigit():
            raise typer.BadParameter("give the key's id, from `cairn key list`")
        row = _server().revoke_key(int(key))
        key_id, owner = row["id"], row["user"]
    typer.echo(f"revoked key {key_id} of {owner!r}")


def register(app: typer.Typer) -> None:
    from cairn.cli.user_password import user_password

    user_app.command("password")(user_password)
    app.add_typer(user_app, name="user")
    app.add_typer(team_app, name="team")
    app.add_typer(key_app, name="key")
