"""Engines, sessions and migrations.

SQLite needs care to be a good multi-process store: WAL so readers never block, a long busy
timeout, and ``BEGIN IMMEDIATE`` for write transactions so two writers queue for the lock up
front instead of both reading and then one failing to upgrade (SQLITE_BUSY mid-transaction).
pysqlite's own transaction handling is switched off so SQLAlchemy's ``begin`` event can emit
the right BEGIN (the recipe in SQLAlchemy's SQLite dialect documentation).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from cairn.sqlite import enable_wal

MIGRATIONS = "cairn.core.db:migrations"
SCHEMA_HEAD = "0010"
_WRITE = "cairn_write"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=120000")
        enable_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:  # one connection for the life of the engine: pool sizes mean nothing
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """An engine with two kinds of session: ``read()`` and ``write()`` (one transaction each)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._writer = self.engine.execution_options(**{_WRITE: True})
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_sessions() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write_sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()

    # -- migrations --------------------------------------------------------------------------
    def _alembic_config(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", MIGRATIONS)
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def head_revision(self) -> str | None:
        # The newest migration. Pinned rather than read from the scripts so a process that
        # only checks the schema never imports Alembic (about a second here); a test checks
        # it equals Alembic's head.
        return SCHEMA_HEAD

    def current_revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except sa_exc.OperationalError:
            return None  # no alembic_version table (SQLite): nothing migrated yet
        except sa_exc.ProgrammingError:
            return None  # the same on PostgreSQL

    def is_current(self) -> bool:
        return self.current_revision() == self.head_revision()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        from alembic import command

        cfg = self._alembic_config()
        with self._writer.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()


_lock = threading.Lock()
_migrated: set[str] = set()


def ensure_migrated(db: Database, lock_path: Path | None = None) -> None:
    """Migrate an embedded database once per process, holding a file lock across processes."""
    with _lock:
        if db.url in _migrated:
            return
        if not db.is_current():
            if lock_path is not None:
                from filelock import FileLock

                with FileLock(str(lock_path)):
                    if not db.is_current():
                        db.migrate()
            else:
                db.migrate()
        _migrated.add(db.url)
