"""``cairn server``: run a team server and migrate its database (the ``server`` extra).

The account commands (``user``, ``team``, ``key``) are in :mod:`cairn.cli.account_cmds`,
``login``/``logout``/``whoami`` in :mod:`cairn.cli.session_cmds`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cairn.errors import CairnError

if TYPE_CHECKING:
    from cairn.server.admin import Accounts

server_app = typer.Typer(help="Run a Cairn team server.", no_args_is_help=False)

ADMIN_KEY_ENV = "CAIRN_ADMIN_KEY"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="CAIRN_SERVER_DB",
        help="Database URL: sqlite:///path, or postgresql://user@host/db (also postgres:// "
        "and postgresql+psycopg://) [default: cairn.db in the server folder, CAIRN_SERVER_DIR].",
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


SERVER_DIR_ENV = "CAIRN_SERVER_DIR"


def _data_dir() -> Path:
    # The server's own folder, never the embedded store's (CAIRN_DIR): serving that would
    # publish a user's personal projects to the team.
    import platformdirs

    return Path(os.environ.get(SERVER_DIR_ENV) or platformdirs.user_data_dir("cairn-server"))


def _db_url(db: str | None) -> str:
    return db or f"sqlite:///{_data_dir() / 'cairn.db'}"


def _store_uri(store: str | None) -> str:
    return store or (_data_dir() / "blobs").as_uri()


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
    log_format: str = "text",
    signing_key: str | None = None,
    s3_single_put_max: int | None = None,
) -> None:
    try:
        import uvicorn

        from cairn.server import ServerConfig, create_app
        from cairn.server.app import SchemaError, open_state
        from cairn.server.logs import FORMATS, uvicorn_log_config
        from cairn.server.metrics import MULTIPROC_ENV
    except ImportError as exc:
        raise _fail(f"the server needs {exc.name}: pip install 'cairn[server]'") from None
    if log_format not in FORMATS:
        raise _fail(f"--log-format is one of {', '.join(FORMATS)}, not {log_format!r}")
    log_config = uvicorn_log_config(log_format, log_level)  # type: ignore[arg-type]
    if insecure_local and not _is_loopback(host):
        raise _fail("--insecure-local serves without API keys and only binds a loopback host")
    options: dict[str, Any] = {}
    if s3_endpoint:
        options["endpoint_url"] = s3_endpoint
    if s3_single_put_max is not None:
        options["single_put_max"] = s3_single_put_max
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
    if signing_key:
        config = dataclasses.replace(config, url_signing_key=signing_key)
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
        uvicorn.run(
            create_app(config, state),
            host=host,
            port=port,
            log_level=log_level,
            log_config=log_config,
        )
        return
    from cairn.server.workers import FACTORY, export_config

    state.db.dispose()  # each worker opens its own pool
    export_config(config)
    if not os.environ.get(MULTIPROC_ENV):
        # Each worker counts in files here, and /metrics adds them up (server/metrics.py).
        import tempfile

        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="cairn-metrics-")
    uvicorn.run(
        FACTORY,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
    )


def _local_user() -> str:
    from cairn.backend.local import local_user_entity

    return local_user_entity()


HostOption = Annotated[str, typer.Option(help="Address to bind.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]
StoreOption = Annotated[
    str | None,
    typer.Option(
        envvar="CAIRN_SERVER_STORE",
        help="Blob store: file:///path or s3://bucket/prefix [default: blobs/ in the server "
        "folder, CAIRN_SERVER_DIR].",
    ),
]
S3Option = Annotated[
    str | None,
    typer.Option(
        "--s3-endpoint", envvar="CAIRN_S3_ENDPOINT_URL", help="S3 endpoint URL (not AWS)."
    ),
]
SinglePutOption = Annotated[
    int | None,
    typer.Option(
        "--s3-single-put-max",
        min=1,
        envvar="CAIRN_S3_SINGLE_PUT_MAX",
        help="On an S3 store: the largest blob a client sends in one presigned PUT; larger ones "
        "go in resumable parts [default: 5 GiB, S3's own limit].",
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
LogOption = Annotated[
    str, typer.Option(help="Log level: critical, error, warning, info, debug or trace.")
]
SigningKeyOption = Annotated[
    str | None,
    typer.Option(
        "--url-signing-key",
        envvar="CAIRN_URL_SIGNING_KEY",
        help="Secret that signs the short-lived download and upload URLs the server hands out "
        "(the W&B client's, on a folder store); replicas behind one address need the same "
        "[default: a random one per start].",
    ),
]
LogFormatOption = Annotated[
    str,
    typer.Option(
        "--log-format",
        envvar="CAIRN_LOG_FORMAT",
        help="text, or json: one object per line with the request id (for a log collector).",
    ),
]
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
        help="Store blobs under --pack-threshold bytes many to an object [default: on for S3, "
        "off for a folder].",
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
    s3_single_put_max: SinglePutOption = None,
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
    log_format: LogFormatOption = "text",
    url_signing_key: SigningKeyOption = None,
) -> None:
    """Serve a database and blob store (same as `cairn server run`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run, **ctx.params)


@server_app.command("run")
def run(
    db: DbOption = None,
    store: StoreOption = None,
    s3_endpoint: S3Option = None,
    s3_single_put_max: SinglePutOption = None,
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
    log_format: LogFormatOption = "text",
    url_signing_key: SigningKeyOption = None,
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
        log_format,
        url_signing_key,
        s3_single_put_max,
    )


@server_app.command("migrate")
def migrate(db: DbOption = None) -> None:
    """Bring the database schema to this version of Cairn (idempotent)."""
    from cairn.server.admin import migrate as migrate_schema

    before, after = migrate_schema(_db_url(db))
    typer.echo(f"schema at {after} (was {before or 'empty'})")


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")
