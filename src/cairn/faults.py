"""Deterministic fault injection: a process dies at a named point as under ``kill -9``.

Code marks the moments where a crash would do most harm with ``fault_point("<name>")``. When the
environment variable ``CAIRN_FAULT_POINT`` equals that name, the process exits at once with
status 137 (what a shell reports for ``kill -9``): no ``finally`` blocks, no ``atexit``, no
flushing, so tests see exactly what an abrupt death leaves behind, at a moment chosen by name
rather than by a sleep. Unset, a point costs one dictionary look-up; the variable is read at
each call, never at import. The points and what they prove are listed in ``tests/reliability``.
"""

from __future__ import annotations

import os


def fault_point(name: str) -> None:
    """Exit the process with status 137 at once if ``CAIRN_FAULT_POINT`` equals ``name``."""
    if os.environ.get("CAIRN_FAULT_POINT") == name:
        os._exit(137)
