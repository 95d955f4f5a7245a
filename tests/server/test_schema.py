"""Migrations: the models and the Alembic history agree, on SQLite and PostgreSQL, and a server
refuses a database whose schema is behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cairn.core.db.engine import SCHEMA_HEAD, Database
from cairn.core.db.models import Base
from cairn.server import ServerConfig
from cairn.server.app import SchemaError, open_state


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.migrate()
    assert db.is_current()
    assert _diff(db) == []
    db.dispose()


def test_postgres_migrations_match_the_models() -> None:
    from tests import backends

    why = backends.postgres_available()
    if why:
        pytest.skip(why)
    with backends.postgres_database("cairn_schema_test") as url:
        db = Database(url)
        db.migrate()
        assert db.current_revision() == db.head_revision() == SCHEMA_HEAD
        assert _diff(db) == []
        db.dispose()


def test_an_outdated_schema_is_refused_until_migrated(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    with db._writer.begin() as conn:
        cfg = db._alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    config = ServerConfig(db_url=url, store_uri=(tmp_path / "b").as_uri())
    with pytest.raises(SchemaError, match="cairn server migrate"):
        open_state(config)
    db.migrate()
    state = open_state(config)
    assert state.db.is_current()
    state.db.dispose()
    db.dispose()


def test_an_empty_database_gets_the_schema_on_first_start(tmp_path: Path) -> None:
    state = open_state(
        ServerConfig(db_url=f"sqlite:///{tmp_path / 'new.db'}", store_uri=tmp_path.as_uri())
    )
    assert state.db.is_current()
    assert not state.accounts.has_users()
    state.db.dispose()
