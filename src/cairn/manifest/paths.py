"""Normalising the logical paths of entries inside an artifact (the one home of this rule).

An entry path is POSIX-style and relative, normalised as W&B does: ``./a//b/`` becomes ``a/b``
and ``a/./b`` becomes ``a/b``. ``:`` is an ordinary character (``2024-01-01T12:00:00.json``).
Anything that could escape the download root or be read two ways is refused rather than
repaired: absolute paths, ``..`` segments, ``.`` alone, drive-like forms at the start
(``C:``, ``C:/x``, ``a:b``: one ASCII letter then ``:``, which Windows reads as a drive),
backslashes, NUL bytes and line breaks (which would also make the version digest's
``path:digest`` lines ambiguous).
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterable

from cairn.errors import InvalidPathError

MAX_PATH_LEN = 4096
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def normalize_entry_path(name: str | os.PathLike[str]) -> str:
    """Return the canonical form of an entry path, or raise :class:`InvalidPathError`."""
    raw = os.fspath(name)
    if not isinstance(raw, str):
        raise InvalidPathError(f"entry path must be a string, got {type(raw).__name__}")
    if not raw:
        raise InvalidPathError("entry path is empty")
    if len(raw) > MAX_PATH_LEN:
        raise InvalidPathError(f"entry path is longer than {MAX_PATH_LEN} characters")
    for bad, why in (
        ("\x00", "a NUL byte"),
        ("\n", "a line break"),
        ("\r", "a line break"),
        ("\\", "a backslash (use '/')"),
    ):
        if bad in raw:
            raise InvalidPathError(f"entry path {raw!r} contains {why}")
    if raw.startswith("/"):
        raise InvalidPathError(f"entry path {raw!r} is absolute; give a path inside the artifact")
    if _DRIVE_RE.match(raw):
        raise InvalidPathError(f"entry path {raw!r} starts like a drive ({raw[:2]!r})")
    out: list[str] = []
    for part in raw.split("/"):
        if part == "..":
            raise InvalidPathError(f"entry path {raw!r} has a '..' segment")
        if part in ("", "."):  # `a//b`, `./a`, `a/./b` and `a/` name what `a/b`, `a` name
            continue
        out.append(part)
    if not out:
        raise InvalidPathError(f"entry path {raw!r} names the artifact root, not an entry")
    return "/".join(out)


def file_folder_clash(paths: Iterable[str], files: Container[str] = ()) -> tuple[str, str] | None:
    """The first path that is a file and also a folder of another, as ``(file, inside)``.

    ``paths`` are checked against each other and against ``files`` (entries already present).
    ``a`` and ``a/b`` cannot both be entries: no download could hold both. None if none clash.
    """
    given = paths if isinstance(paths, (set, frozenset, dict)) else set(paths)
    for path in given:
        cut = path.find("/")
        while cut != -1:
            folder = path[:cut]
            if folder in given or folder in files:
                return folder, path
            cut = path.find("/", cut + 1)
    return None
