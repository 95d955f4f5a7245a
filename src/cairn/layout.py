"""Where bytes lie on disk and in every store: one set of names for the cache and the stores.

The cache (``~/.cache/cairn``), a local blob folder and an S3 prefix all share one tree::

    <root>/
        objects/md5/ab/cdef…                     a blob, named by the hex MD5 of its bytes
        packs/3f/3f9a0c51e0b44f6d8a8b2c7de6a1b0f4  small blobs back to back (stores only;
                                                 which blob lies where is in the database)
        tmp/.cairn-tmp-<pid>-<32 hex>[<hint>]    a write in progress: a process-unique name,
                                                 renamed into objects/ or packs/ once complete

A writer never writes a final name directly: it writes a temporary name in the same root's
``tmp/`` (so the rename stays on one filesystem and is atomic) and renames. A process killed
between the two leaves its temporary file behind; :func:`stale_temporaries` finds those older
than a grace period, for ``cairn gc`` and a starting server to remove. The grace period is what
keeps a live writer's file safe: nothing here knows whether its process still runs.

This module is at the bottom of the layers: it imports nothing of Cairn's.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

OBJECTS = "objects/md5"
PACKS = "packs"
TMP = "tmp"
# The installation id a store shares with its database (cairn.core.stamp), at the root.
STAMP = "cairn-installation.json"
TMP_PREFIX = ".cairn-tmp-"
# What the blob folder named its temporary files before this module: swept all the same.
_OLD_STORE_TMP = re.compile(r"[0-9]+-[0-9a-f]{32}")

# A temporary file older than this belongs to a process that died (no write takes an hour
# between creating its file and renaming it; a slow one keeps writing, so its mtime moves).
DEFAULT_TMP_GRACE_SECONDS = 3600.0


def blob_key(hexdigest: str) -> str:
    """``objects/md5/ab/cdef…``: the key of a blob in every store and in the cache."""
    return f"{OBJECTS}/{hexdigest[:2]}/{hexdigest[2:]}"


def pack_key(pack_id: str) -> str:
    """``packs/3f/3f9a…``: the key of a pack (a random 32-hex name) in every store."""
    return f"{PACKS}/{pack_id[:2]}/{pack_id}"


def tmp_name(hint: str = "") -> str:
    """A fresh process-unique temporary file name (a name only: join it to a ``tmp/``)."""
    return f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}{hint}"


def is_tmp_name(name: str, *, legacy: bool = False) -> bool:
    """Whether ``name`` is one :func:`tmp_name` gave out (``legacy``: or one a blob folder's
    ``tmp/`` named before it; never use that on a folder other programs share)."""
    if name.startswith(TMP_PREFIX):
        return True
    return legacy and _OLD_STORE_TMP.fullmatch(name) is not None


def stale_temporaries(
    folder: str | os.PathLike[str],
    older_than: float,
    now: float | None = None,
    *,
    legacy: bool = False,
) -> Iterator[Path]:
    """Temporary files in ``folder`` not modified for ``older_than`` seconds.

    Files of other names are left alone (another program's, or a user's). A folder that does
    not exist holds none.
    """
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if not is_tmp_name(entry.name, legacy=legacy) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # renamed into place meanwhile
            continue
        if now - st.st_mtime >= older_than:
            yield Path(entry.path)


def sweep_temporaries(
    folder: str | os.PathLike[str],
    older_than: float,
    now: float | None = None,
    *,
    legacy: bool = False,
) -> int:
    """Remove the :func:`stale_temporaries` of ``folder``; returns how many went."""
    removed = 0
    for path in stale_temporaries(folder, older_than, now, legacy=legacy):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed
