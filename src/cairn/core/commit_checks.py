"""What a commit must satisfy beyond its blobs being held: bounds, sizes, one kind per path.

The bounds keep one request from costing the server without limit; each refusal is a
:class:`~cairn.errors.LimitExceededError` naming its bound (``details["limit"]``), so a client
can tell which to respect. Sizes and the file/folder rule keep every committed version
downloadable: a version that claims other sizes than its blobs have, or holds both ``a`` and
``a/b``, could never be written to a folder.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from cairn.errors import FileFolderConflictError, LimitExceededError, SizeMismatchError
from cairn.manifest import Manifest
from cairn.manifest.digest import stored_blob
from cairn.manifest.paths import MAX_PATH_LEN, file_folder_clash

GiB = 1 << 30


@dataclass(frozen=True)
class CommitLimits:
    """Bounds on one version; a server announces its own (``ServerConfig``)."""

    max_entries: int = 10_000_000
    max_path_length: int = MAX_PATH_LEN  # characters; the path column holds no more
    max_manifest_bytes: int = 4 * GiB  # the stored manifest's canonical JSON


def exceeded(limit: str, maximum: int, actual: int, what: str) -> LimitExceededError:
    return LimitExceededError(
        f"{what}: {actual:,} is over this server's {limit} of {maximum:,}",
        details={"limit": limit, "max": maximum, "actual": actual},
    )


def check_entries(limits: CommitLimits, paths: Iterable[str], count: int) -> None:
    """Refuse too many entries or too long a path.

    Raises:
        LimitExceededError: ``max_entries`` or ``max_path_length`` exceeded.
    """
    if count > limits.max_entries:
        raise exceeded("max_entries", limits.max_entries, count, "entries in this version")
    for p in paths:
        if len(p) > limits.max_path_length:
            err = exceeded(
                "max_path_length", limits.max_path_length, len(p), f"entry path {p[:80]!r}…"
            )
            err.details["path"] = p
            raise err


def check_paths(paths: Iterable[str], files: Container[str] = ()) -> None:
    """Refuse a path that is both a file and a folder (``a`` and ``a/b``).

    Raises:
        FileFolderConflictError: naming both entries.
    """
    clash = file_folder_clash(paths, files)
    if clash is not None:
        folder, inside = clash
        raise FileFolderConflictError(
            f"{folder!r} cannot be a file and also hold {inside!r}: an entry is a file or a "
            "folder, not both",
            details={"paths": [folder, inside]},
        )


def check_sizes(manifest: Manifest, stored: Mapping[str, int]) -> None:
    """Refuse an entry whose claimed size differs from its stored blob's (``stored``: blob →
    size, for the blobs the caller holds).

    Raises:
        SizeMismatchError: naming the first such entry.
    """
    for e in manifest:
        if e.ref is not None:
            continue
        actual = stored.get(stored_blob(e.digest, e.extra))
        if actual is not None and e.size != actual:
            raise SizeMismatchError(
                f"entry {e.path!r} claims {e.size} bytes but its blob holds {actual}",
                details={"path": e.path, "claimed": e.size, "stored": actual},
            )


def check_manifest_bytes(limits: CommitLimits, size: int) -> None:
    """Raises LimitExceededError if the stored manifest would be over ``max_manifest_bytes``."""
    if size > limits.max_manifest_bytes:
        raise exceeded(
            "max_manifest_bytes", limits.max_manifest_bytes, size, "this version's manifest"
        )
