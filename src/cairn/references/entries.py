"""What every handler does the same way: naming entries, bounding expansions, showing URIs.

Names follow W&B's tables: a single object is named by ``name`` or else its last path segment
(``s3://b/checkpoints/model.h5`` → ``model.h5``); the objects under a prefix or directory are named
by their path below it, under ``name/`` when one is given (``s3://b/images`` → ``cat.png``, or
``images/cat.png`` with ``name="images"``).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from urllib.parse import urlparse, urlunparse

from cairn.errors import ValidationError
from cairn.manifest import normalize_entry_path

# W&B's default bound on a prefix or directory expansion, for file, s3, gs and azure.
DEFAULT_MAX_OBJECTS = 10_000_000


def object_limit(max_objects: int | None) -> int:
    return DEFAULT_MAX_OBJECTS if max_objects is None else max_objects


def single_name(uri: str, name: str | None, path: str) -> str:
    """The entry path of one object at ``path`` (a key or file path) referenced by ``uri``.

    Raises:
        ValidationError: no name was given and ``path`` has no last segment to infer one from.
        InvalidPathError: the name is not a valid entry path.
    """
    if name is not None:
        return normalize_entry_path(name)
    base = posixpath.basename(path.rstrip("/"))
    if not base:
        raise ValidationError(
            f"cannot infer an entry name from reference {display_uri(uri)!r}; pass name="
        )
    return normalize_entry_path(base)


def member_name(name: str | None, relative: str) -> str:
    """The entry path of an object found ``relative`` below an expanded prefix or directory."""
    return normalize_entry_path(f"{name}/{relative}" if name else relative)


def dir_prefix(key: str) -> str:
    """The listing prefix for ``key`` read as a folder: ``images`` → ``images/``, ``""`` → ``""``.

    The trailing ``/`` is what keeps ``s3://b/images`` from picking up ``s3://b/images2/x``.
    """
    key = key.rstrip("/")
    return f"{key}/" if key else ""


def too_many(uri: str, limit: int) -> ValidationError:
    return ValidationError(
        f"reference {display_uri(uri)!r} expands to more than max_objects={limit} objects; "
        "raise max_objects or reference a narrower prefix"
    )


def display_uri(uri: str) -> str:
    """``uri`` fit for a message: no ``user:password@`` and no query (tokens travel there)."""
    parsed = urlparse(uri)
    netloc = parsed.netloc.rpartition("@")[2]
    return urlunparse((parsed.scheme, netloc, parsed.path, "", "", ""))


def env_fingerprint(env: Mapping[str, str], prefixes: tuple[str, ...]) -> str:
    """A hash of the variables starting with ``prefixes``: a cache key for SDK clients.

    Clients are costly to build, so handlers keep them; a changed environment (new credentials,
    another endpoint) must give a new client, and the key must not hold the secrets themselves.
    """
    h = hashlib.sha256()
    for key in sorted(k for k in env if k.startswith(prefixes)):
        h.update(f"{key}\x00{env[key]}\x00".encode())
    return h.hexdigest()
