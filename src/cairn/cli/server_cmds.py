"""``cairn server``, the admin commands (``user``, ``team``, ``key``) and ``cairn login``.

``server``, ``user``, ``team`` and ``key`` work directly on the server's database (``--db``,
default: the SQLite file under ``CAIRN_DIR``), like ``cairn server migrate``; they need the
``server`` extra. ``login`` stores a server URL and API key in the config file the SDK reads.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.errors import CairnError

if TYPE_CHECKING:
    from cairn.server.admin import Accounts

server_app = typer.Typer(help="Run a Cairn team server.", no_args_is_help=False)
user_app = typer.Typer(help="Manage a server's users (on its database).", no_args_is_help=True)
team_app = typer.Typer(help="Manage a server's teams (on its database).", no_args_is_help=True)
key_app = typer.Typer(help="Manage API keys (on the server's database).", no_args_is_help=True)

ADMIN_KEY_ENV = "CAIRN_ADMIN_KEY"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="CAIRN_SERVER_DB",
        help="Database URL: sqlite:///path or postgresql+psycopg://host/db "
        "(default: sqlite under CAIRN_DIR).",
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _data_dir() -> Path:
    from cairn.config import Settings

    return Settings.resolve().data_dir


def _db_url(db: str | None) -> str:
    # The same files as the embedded store, so `cairn server` can serve what was logged
    # locally.
    return db or f"sqlite:///{_data_dir() / 'cairn.db'}"


def _store_uri(store: str | None) -> str:
    return store or (_data_dir() / "blobs").as_uri()


def _accounts(db: str | None) -> Accounts:
    from cairn.server.admin import open_accounts
    from cairn.server.app import SchemaError

    try:
        return open_accounts(_db_url(db))
    except SchemaError as exc:
        raise _fail(str(exc)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bootstrap_admin(accounts: Accounts, name: str, key: str | None) -> str | None:
    """On an empty database, create the first admin; returns the new key if one was made."""
    from cairn.errors import ConflictError

    if accounts.has_users():
        return None
    try:
        _, made = accounts.create_user(name, admin=True, key=key)
    except ConflictError:
        return None  # another replica starting at the same moment made it
    return made


def _serve(
    db: str | None,
    store: str | None,
    s3_endpoint: str | None,
    host: str,
    port: int,
    insecure_local: bool,
    admin_name: str,
    log_level: str,
    packs: bool | None = None,
    pack_threshold: int = 1 << 20,
    workers: int = 1,
    auth_cache_seconds: float = 1.0,
    read_timeout: float = 60.0,
    max_body_bytes: int = 256 << 20,
) -> None:
    try:
        import uvicorn

        from cairn.server import ServerConfig, create_app
        from cairn.server.app import SchemaError, open_state
    except ImportError as exc:
        raise _fail(f"the server needs {exc.name}: pip install 'cairn[server]'") from None
    if insecure_local and not _is_loopback(host):
        raise _fail("--insecure-local serves without API keys and only binds a loopback host")
    options: dict[str, Any] = {}
    if s3_endpoint:
        options["endpoint_url"] = s3_endpoint
    config = ServerConfig(
        db_url=_db_url(db),
        store_uri=_store_uri(store),
        store_options=options,
        insecure_local=insecure_local,
        local_user=_local_user(),
        packs=packs,
        pack_threshold=pack_threshold,
        auth_cache_seconds=auth_cache_seconds,
        read_timeout=read_timeout or None,
        max_json_bytes=max_body_bytes,
    )
    try:
        state = open_state(config)
    except (SchemaError, CairnError, ImportError) as exc:
        raise _fail(str(exc)) from None
    if not insecure_local:
        given = os.environ.get(ADMIN_KEY_ENV) or None
        try:
            made = bootstrap_admin(state.accounts, admin_name, given)
        except CairnError as exc:
            raise _fail(f"{ADMIN_KEY_ENV}: {exc}") from None
        if made is not None and given is None:
            typer.echo(f"created admin user {admin_name!r}; its API key (shown only once):")
            typer.echo(f"  {made}")
        elif made is not None:
            typer.echo(f"created admin user {admin_name!r} with the key in ${ADMIN_KEY_ENV}")
    typer.echo(f"serving {config.db_url} and {config.store_uri} on http://{host}:{port}")
    if workers == 1:
        uvicorn.run(create_app(config, state), host=host, port=port, log_level=log_level)
        return
    from cairn.server.workers import FACTORY, export_config

    state.db.dispose()  # each worker opens its own pool
    export_config(config)
    uvicorn.run(FACTORY, factory=True, workers=workers, host=host, port=port, log_level=log_level)


def _local_user() -> str:
    from cairn.backend.local import local_user_entity

    return local_user_entity()


HostOption = Annotated[str, typer.Option(help="Address to bind.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
StoreOption = Annotated[
    str | None,
    typer.Option(
        envvar="CAIRN_SERVER_STORE",
        help="Blob store: file:///path or s3://bucket/prefix (default: a folder under CAIRN_DIR).",
    ),
]
S3Option = Annotated[
    str | None,
    typer.Option(
        "--s3-endpoint", envvar="CAIRN_S3_ENDPOINT_URL", help="S3 endpoint URL (not AWS)."
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure-local", help="No API keys: one local user, loopback only. Never shared."
    ),
]
AdminOption = Annotated[
    str, typer.Option("--admin-name", help="Name of the admin created on first start.")
]
LogOption = Annotated[str, typer.Option(help="uvicorn log level.")]
ThresholdOption = Annotated[
    int,
    typer.Option(
        "--pack-threshold",
        min=0,
        help="Blobs under this many bytes travel (and, with packs, are stored) many together; "
        "0: every blob on its own.",
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        help="Server processes on this host, sharing the port (each with its own database "
        "connections); the server is stateless, so this and replicas on other hosts add up.",
    ),
]
AuthCacheOption = Annotated[
    float,
    typer.Option(
        "--auth-cache-seconds",
        min=0,
        envvar="CAIRN_AUTH_CACHE_SECONDS",
        help="How long a key's user and roles are remembered. A key revoked or a role changed "
        "through another process (or replica) takes effect within this time; 0: check every "
        "request in the database.",
    ),
]
PacksOption = Annotated[
    bool | None,
    typer.Option(
        "--packs/--no-packs",
        help="Store blobs under 1 MiB many to an object (default: on for S3, off for a folder).",
    ),
]
ReadTimeoutOption = Annotated[
    float,
    typer.Option(
        "--read-timeout",
        envvar="CAIRN_SERVER_READ_TIMEOUT",
        min=0,
        help="Seconds a request body may go without sending a byte before a 408; 0: no limit.",
    ),
]
MaxBodyOption = Annotated[
    int,
    typer.Option(
        "--max-body-bytes",
        envvar="CAIRN_SERVER_MAX_BODY_BYTES",
        min=1,
        help="Largest request body other than blob and pack uploads (larger: 413).",
    ),
]


@server_app.callback(invoke_without_command=True)
def server(
    ctx: typer.Context,
    db: DbOption = None,
    store: StoreOption = None,
    s3_endpoint: S3Option = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    insecure_local: InsecureOption = False,
    admin_name: AdminOption = "admin",
    log_level: LogOption = "info",
    packs: PacksOption = None,
    pack_threshold: ThresholdOption = 1 << 20,
    workers: WorkersOption = 1,
    auth_cache_seconds: AuthCacheOption = 1.0,
    read_timeout: ReadTimeoutOption = 60.0,
    max_body_bytes: MaxBodyOption = 256 << 20,
) -> None:
    """Serve a database and blob store (same as `cairn server run`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run, **ctx.params)


@server_app.command("run")
def run(
    db: DbOption = None,
    store: StoreOption = None,
    s3_endpoint: S3Option = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    insecure_local: InsecureOption = False,
    admin_name: AdminOption = "admin",
    log_level: LogOption = "info",
    packs: PacksOption = None,
    pack_threshold: ThresholdOption = 1 << 20,
    workers: WorkersOption = 1,
    auth_cache_seconds: AuthCacheOption = 1.0,
    read_timeout: ReadTimeoutOption = 60.0,
    max_body_bytes: MaxBodyOption = 256 << 20,
) -> None:
    """Serve a database and blob store. On an empty database, create the first admin."""
    _serve(
        db,
        store,
        s3_endpoint,
        host,
        port,
        insecure_local,
        admin_name,
        log_level,
        packs,
        pack_threshold,
        workers,
        auth_cache_seconds,
        read_timeout,
        max_body_bytes,
    )


@server_app.command("migrate")
def migrate(db: DbOption = None) -> None:
    """Bring the database schema to this version of Cairn (idempotent)."""
    from cairn.server.admin import migrate as migrate_schema

    before, after = migrate_schema(_db_url(db))
    typer.echo(f"schema at {after} (was {before or 'empty'})")


# -- users, teams, keys ----------------------------------------------------------------------------
@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="User name (also their entity).")],
    admin: Annotated[bool, typer.Option("--admin", help="A server admin (superuser).")] = False,
    db: DbOption = None,
) -> None:
    """Create a user and print their first API key (shown only once)."""
    try:
        user, key = _accounts(db).create_user(name, admin=admin)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"created {'admin ' if user.is_admin else ''}user {user.name!r}; API key:")
    typer.echo(key)


@user_app.command("list")
def user_list(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List users, their admin flag, state and teams."""
    users = _accounts(db).list_users()
    rows: list[dict[str, Any]] = [
        {
            "name": u.name,
            "admin": u.is_admin,
            "disabled": u.disabled,
            "teams": {t: r for t, r in u.teams},
        }
        for u in users
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        flags = ("admin " if r["admin"] else "") + ("disabled" if r["disabled"] else "")
        teams = ", ".join(f"{t}:{role}" for t, role in r["teams"].items())
        typer.echo(f"{r['name']}  {flags.strip() or '-'}  {teams or '-'}")


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument(help="User name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    db: DbOption = None,
) -> None:
    """Disable a user: their API keys stop working at once."""
    try:
        _accounts(db).set_disabled(name, not enable)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{'enabled' if enable else 'disabled'} {name!r}")


@team_app.command("create")
def team_create(
    name: Annotated[str, typer.Argument(help="Team name (an entity).")],
    db: DbOption = None,
) -> None:
    """Create a team entity."""
    try:
        _accounts(db).create_team(name)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"created team {name!r}")


@team_app.command("add-member")
def team_add_member(
    team: Annotated[str, typer.Argument(help="Team name.")],
    user: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="viewer, member or admin.")] = "member",
    db: DbOption = None,
) -> None:
    """Give a user a role in a team (replacing any role they had)."""
    try:
        _accounts(db).add_member(team, user, role)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{user!r} is {role} of {team!r}")


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
    try:
        backend = context.backend_for(context.settings())
        if days is not None or never:
            backend.set_default_ttl(entity, round(days * 86_400) if days is not None else None)
        seconds = backend.get_default_ttl(entity)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    shown = (
        "never expire" if seconds is None else f"expire {seconds / 86_400:g} day(s) after logging"
    )
    typer.echo(f"versions of {entity!r} that inherit their TTL {shown}")


@key_app.command("create")
def key_create(
    user: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    db: DbOption = None,
) -> None:
    """Make another API key for a user and print it (shown only once)."""
    try:
        record, key = _accounts(db).create_key(user, label=label)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"key {record.id} for {user!r}:")
    typer.echo(key)


@key_app.command("list")
def key_list(
    user: Annotated[str | None, typer.Argument(help="Only this user's keys.")] = None,
    db: DbOption = None,
) -> None:
    """List keys: id, user, first characters, label, revoked."""
    for k in _accounts(db).list_keys(user):
        state = "revoked" if k.revoked else "active"
        typer.echo(f"{k.id}  {k.user}  {k.prefix}…  {k.label or '-'}  {state}")


@key_app.command("revoke")
def key_revoke(
    key: Annotated[str, typer.Argument(help="The key itself, or its id from `cairn key list`.")],
    db: DbOption = None,
) -> None:
    """Revoke an API key; requests with it fail at once."""
    try:
        record = _accounts(db).revoke_key(key)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"revoked key {record.id} of {record.user!r}")


# -- login ---------------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string is a valid TOML basic string for the printable text stored here.
    return json.dumps(str(value))


def write_config(path: Path, values: dict[str, Any]) -> None:
    """Merge top-level keys into the TOML config file (kept private: it holds a key)."""
    from cairn.config import read_config_file

    data = read_config_file(path)
    data.update(values)
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def login(
    host: Annotated[str, typer.Option("--host", help="Server URL, e.g. http://127.0.0.1:8080")],
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="CAIRN_API_KEY", help="API key (asked for if not given)."),
    ] = None,
) -> None:
    """Check an API key against a server and store both for the SDK and CLI."""
    from cairn.backend.http import HttpBackend
    from cairn.config import Settings, default_config_path

    if key is None:
        key = typer.prompt("API key", hide_input=True)
    base_url = host.rstrip("/")
    settings = Settings.resolve(base_url=base_url, api_key=key)
    backend = HttpBackend(settings)
    try:
        name = backend.default_entity()
    except CairnError as exc:
        raise _fail(str(exc)) from None
    finally:
        backend.close()
    path = default_config_path()
    write_config(path, {"base_url": base_url, "api_key": key})
    typer.echo(f"logged in to {base_url} as {name!r} (saved in {path})")


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")
    from cairn.cli.user_password import user_password

    user_app.command("password")(user_password)
    app.add_typer(user_app, name="user")
    app.add_typer(team_app, name="team")
    app.add_typer(key_app, name="key")
    app.command("login")(login)
