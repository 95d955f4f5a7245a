"""What the admin CLI does to a server's database, so ``cli/`` never reaches into ``core/``."""

from __future__ import annotations

from cairn.core.accounts import Accounts
from cairn.core.databases import Database
from cairn.server.app import check_schema

__all__ = ["Accounts", "migrate", "open_accounts"]


def open_accounts(db_url: str) -> Accounts:
    """Accounts on a server database, creating its schema if it is empty.

    Raises SchemaError if the schema is older than this version of Cairn.
    """
    database = Database(db_url)
    check_schema(database, create=True)
    return Accounts(database)


def migrate(db_url: str) -> tuple[str | None, str | None]:
    """Bring the schema to this version; returns (revision before, revision after)."""
    database = Database(db_url)
    try:
        before = database.current_revision()
        database.migrate()
        return before, database.current_revision()
    finally:
        database.dispose()
