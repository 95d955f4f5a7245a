"""SQLite in several processes at once: the one step its busy timeout does not cover."""

from __future__ import annotations

import sqlite3
import time
from typing import Any


def enable_wal(conn: Any, patience: float = 60.0) -> None:
    """Switch a fresh database to WAL, waiting out other processes doing the same.

    Changing the journal mode needs the database to itself and answers "database is locked" at
    once instead of waiting (the busy timeout does not cover it), so several processes that
    open a new cache or embedded store together retry here.
    """
    deadline = time.monotonic() + patience
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
