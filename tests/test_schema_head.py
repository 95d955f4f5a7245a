"""The pinned schema head equals the newest Alembic migration."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from cairn.core.db.engine import SCHEMA_HEAD, Database


def test_pinned_head_is_alembics_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert db.current_revision() is None
    head = ScriptDirectory.from_config(db._alembic_config()).get_current_head()
    assert head == SCHEMA_HEAD
    db.migrate()
    assert db.current_revision() == SCHEMA_HEAD
    assert db.is_current()
    db.dispose()
