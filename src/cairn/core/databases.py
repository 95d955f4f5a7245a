"""The database the core runs on, as the faces see it: a handle they open by URL, pass to the
core, check the schema of and dispose of. Only the core reaches inside (models, sessions,
migrations: :mod:`cairn.core.db`); import-linter keeps ``cairn.server`` off that package.
"""

from __future__ import annotations

from cairn.core.db.engine import Database, shown_url

__all__ = ["Database", "shown_url"]
