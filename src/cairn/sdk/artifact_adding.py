"""Building a draft: adding files, folders, references and rich objects, and removing them.

``add_file``/``add_dir`` hash each file once (memoised) and, under the default
``policy="mutable"``, snapshot its bytes on the same read (small files into a staging pack,
larger ones into the object cache; see :mod:`cairn.cache.hashing`), so later edits to the
original cannot change what is logged. The functions here are methods of
:class:`~cairn.sdk.artifact.Artifact`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from cairn.cache import hash_files
from cairn.cache.hashing import copy_hashing, walk_files
from cairn.errors import (
    ArtifactNotLoggedError,
    EntryConflictError,
    EntryNotFoundError,
    FileFolderConflictError,
    LocalPathError,
    PathNotInArtifactError,
    ValidationError,
)
from cairn.manifest import Manifest, ManifestEntry, b64_to_hex, normalize_entry_path
from cairn.manifest.digest import hex_to_b64
from cairn.manifest.paths import file_folder_clash
from cairn.references import handler_for
from cairn.sdk import context
from cairn.sdk.entry import ArtifactManifestEntry

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact


Policy = Literal["mutable", "immutable"]
# How an entry of a logged artifact is named as a URI (ours, and W&B's spelling).
ARTIFACT_URI_SCHEMES = ("cairn-artifact://", "wandb-artifact://")


def _check_policy(policy: object) -> Policy:
    if policy not in ("mutable", "immutable"):
        raise ValidationError(f'policy must be "mutable" or "immutable", got {policy!r}')
    return policy  # type: ignore[return-value]


def _dir_conflict(self: Artifact, manifest: Manifest, path: str) -> str | None:
    if self._dirs[path] > 0:
        return f"{path!r} is already a folder in this artifact"
    parts = path.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in manifest:
            return f"{prefix!r} is already a file in this artifact"
    return None


def _add_entries(
    self: Artifact,
    entries: Sequence[ManifestEntry],
    *,
    overwrite: bool,
    local_paths: dict[str, str] | None = None,
) -> list[ManifestEntry]:
    """Add entries all-or-nothing: every check runs before the draft changes."""
    manifest = self._ensure_draft("add")
    seen: dict[str, ManifestEntry] = {}
    # A first add_dir (W1: 20,000 entries) has nothing in the draft to conflict with.
    empty = len(manifest) == 0
    for e in entries:
        prev = seen.get(e.path)
        if prev is not None and prev.digest != e.digest:
            raise EntryConflictError(f"two different files would both be {e.path!r}")
        seen[e.path] = e
        if empty:
            continue
        old = manifest.get(e.path)
        if old is not None:
            if old.digest != e.digest and not overwrite:
                raise EntryConflictError(
                    f"{e.path!r} is already in this artifact with different content; pass "
                    "overwrite=True to replace it"
                )
            continue
        why = self._dir_conflict(manifest, e.path)
        if why is not None:
            raise FileFolderConflictError(f"cannot add {e.path!r}: {why}")
    # The same rule among the new entries themselves (a bucket may hold keys a and a/b).
    clash = file_folder_clash(seen)
    if clash is not None:
        raise FileFolderConflictError(
            f"cannot add both {clash[0]!r} and {clash[1]!r}: an entry is a file or a folder"
        )
    out = []
    dirs = self._dirs
    for e in seen.values():
        if empty or e.path not in manifest:
            path = e.path
            cut = path.find("/")
            while cut != -1:  # every folder the entry is in
                dirs[path[:cut]] += 1
                cut = path.find("/", cut + 1)
        manifest.add(e)
        out.append(e)
    if local_paths:
        self._added_local.update(local_paths)
    return out


def _hash_local(
    self: Artifact, paths: Sequence[str], *, policy: Policy, skip_cache: bool | None
) -> list[tuple[str, str, int]]:
    """(digest, local path to upload from, size) for each file, reading each at most once."""
    settings = self._local_settings()
    cache = context.cache_for(settings)
    if policy == "immutable":
        return [
            (fd.digest, fd.path, fd.size)
            for fd in hash_files(paths, cache.memo, workers=settings.hash_workers)
        ]
    if not skip_cache:
        return [
            (fd.digest, str(fd.cached), fd.size)
            for fd in hash_files(paths, cache.memo, cache=cache, workers=settings.hash_workers)
        ]
    # mutable but kept out of the cache: a private staged copy, removed after logging
    out = []
    staging = self._staging_dir()
    for p in paths:
        with open(p, "rb") as src:
            dest = staging / uuid.uuid4().hex
            h, size = copy_hashing(src, dest)
        self._staged.add(str(dest))
        out.append((hex_to_b64(h), str(dest), size))
    return out


def _staging_dir(self: Artifact) -> Path:
    if self._tmp_dir is None:
        base = self._local_settings().cache_dir / "staging"
        base.mkdir(parents=True, exist_ok=True)
        self._tmp_dir = Path(tempfile.mkdtemp(prefix="draft-", dir=base))
    return self._tmp_dir


def add_file(
    self: Artifact,
    local_path: str | os.PathLike[str],
    name: str | None = None,
    is_tmp: bool | None = False,
    skip_cache: bool | None = False,
    policy: Policy | None = "mutable",
    overwrite: bool = False,
) -> ArtifactManifestEntry:
    """Add one local file, at ``name`` (default: its basename)."""
    self._ensure_draft("add_file")
    policy = _check_policy(policy or "mutable")
    path = os.path.abspath(os.fspath(local_path))
    if not os.path.isfile(path):
        raise LocalPathError(f"path is not a file: {local_path}")
    entry_name = normalize_entry_path(name if name is not None else os.path.basename(path))
    ((digest, source, size),) = self._hash_local([path], policy=policy, skip_cache=skip_cache)
    if is_tmp:
        # A temporary file's name is arbitrary: name it by its content instead.
        folder, _, base = entry_name.rpartition("/")
        _stem, dot, ext = base.partition(".")
        base = b64_to_hex(digest)[:20] + (dot + ext if dot else "")
        entry_name = f"{folder}/{base}" if folder else base
    entry = ManifestEntry(path=entry_name, digest=digest, size=size, local_path=source)
    (added,) = self._add_entries([entry], overwrite=overwrite, local_paths={path: entry_name})
    return ArtifactManifestEntry(added, self)


def add_dir(
    self: Artifact,
    local_path: str | os.PathLike[str],
    name: str | None = None,
    skip_cache: bool | None = False,
    policy: Policy | None = "mutable",
) -> None:
    """Add every file under a folder (following links), at ``name/relpath`` or ``relpath``."""
    self._ensure_draft("add_dir")
    policy = _check_policy(policy or "mutable")
    root = os.path.abspath(os.fspath(local_path))
    if not os.path.isdir(root):
        raise LocalPathError(f"path is not a directory: {local_path}")
    prefix = normalize_entry_path(name) if name else None
    files = walk_files(Path(root))
    names = [normalize_entry_path(f"{prefix}/{rel}" if prefix else rel) for _, rel in files]
    hashed = self._hash_local([f for f, _ in files], policy=policy, skip_cache=skip_cache)
    entries = [
        ManifestEntry(path=n, digest=d, size=size, local_path=src)
        for n, (d, src, size) in zip(names, hashed, strict=True)
    ]
    self._add_entries(
        entries,
        overwrite=False,
        local_paths={f: n for (f, _), n in zip(files, names, strict=True)},
    )


@contextlib.contextmanager
def new_file(
    self: Artifact, name: str, mode: str = "x", encoding: str | None = None
) -> Iterator[IO[Any]]:
    """Open a new file; when the ``with`` block ends it is added at ``name``.

    With ``mode="x"`` (the default) a name already in the artifact raises
    EntryConflictError before the block runs; with ``"w"`` the new file replaces it.
    """
    manifest = self._ensure_draft("new_file")
    entry_name = normalize_entry_path(name)
    replace = "x" not in mode
    if entry_name in manifest and not replace:
        raise EntryConflictError(f"a file named {entry_name!r} is already in this artifact")
    if not set(mode) <= set("xwbt+") or not ({"x", "w"} & set(mode)):
        raise ValidationError(f"new_file mode {mode!r}: use a writing mode such as 'x' or 'w'")
    path = self._staging_dir() / f"new-{uuid.uuid4().hex}"
    try:
        with open(path, mode, encoding=encoding) as f:
            yield f
        self.add_file(str(path), name=entry_name, overwrite=replace)
    finally:  # added or not (the block raised), the scratch file goes
        path.unlink(missing_ok=True)
        self._added_local.pop(str(path), None)


def add_reference(
    self: Artifact,
    uri: ArtifactManifestEntry | str,
    name: str | os.PathLike[str] | None = None,
    checksum: bool = True,
    max_objects: int | None = None,
) -> Sequence[ArtifactManifestEntry]:
    """Track data that stays where it is: file, http(s), s3, gs and Azure Blob URIs;
    other schemes are tracked by URI only (see :mod:`cairn.references`)."""
    self._ensure_draft("add_reference")
    if isinstance(uri, ArtifactManifestEntry) or (
        isinstance(uri, str) and uri.startswith(ARTIFACT_URI_SCHEMES)
    ):
        entry = self._entry_reference(uri, name)
        return [ArtifactManifestEntry(e, self) for e in self._add_entries([entry], overwrite=False)]
    if not isinstance(uri, str) or "://" not in uri:
        raise ValidationError(f"reference {uri!r} must be a URI such as file:///data/x")
    if max_objects is not None and (not isinstance(max_objects, int) or max_objects < 1):
        raise ValidationError("max_objects must be a whole number of at least 1")
    cache = context.cache_for(self._local_settings())
    entry_name = os.fspath(name) if name is not None else None
    entries = handler_for(uri, cache.memo).store(
        uri, entry_name, checksum=checksum, max_objects=max_objects
    )
    return [ArtifactManifestEntry(e, self) for e in self._add_entries(entries, overwrite=False)]


def _entry_reference(
    self: Artifact, target: ArtifactManifestEntry | str, name: str | os.PathLike[str] | None
) -> ManifestEntry:
    """An entry standing for an entry of another logged artifact.

    It resolves to what that entry finally is — the same stored blob (digest, size and
    birth artifact), or the same external reference — so references never chain.
    Raises ArtifactNotLoggedError for an entry of a draft, NotFoundError if it is gone.
    """
    if isinstance(target, ArtifactManifestEntry):
        parent = target.parent_artifact()
        if parent.is_draft():
            raise ArtifactNotLoggedError("add_reference to an entry of an unlogged artifact")
        source = target.manifest_entry
    else:
        version_id, _, path = target.split("://", 1)[1].partition("/")
        if not version_id or not path:
            raise ValidationError(
                f"artifact entry URI {target!r}: use cairn-artifact://<artifact id>/<path>"
            )
        backend = context.backend_for(self._local_settings())
        rows, _ = backend.list_files(
            version_id, names=[normalize_entry_path(path)], after=None, limit=1
        )
        if not rows:
            raise EntryNotFoundError(f"no entry {path!r} in artifact {version_id}")
        source = ManifestEntry.from_json(rows[0]["path"], rows[0])
    base = source.path.rsplit("/", 1)[-1]
    return ManifestEntry(
        path=normalize_entry_path(name if name is not None else base),
        digest=source.digest,
        size=source.size,
        ref=source.ref,
        birth_artifact_id=source.birth_artifact_id,
        extra=source.extra,
    )


def add(self: Artifact, obj: Any, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
    """Store a rich object (Table, Image, …) at ``name``: ``name.<kind>.json`` + its media.

    Returns the entry of the JSON file. Raises UnsupportedObjectError (a TypeError, as in
    W&B) for an object that is not a supported media type.
    """
    self._ensure_draft("add")
    from cairn import media

    staging = Path(tempfile.mkdtemp(prefix="add-", dir=self._staging_dir()))
    try:
        files = media.serialize(obj, name, staging)
        entries = [
            self.add_file(str(local), name=path, overwrite=overwrite) for path, local in files
        ]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entries[0]


def setitem(self: Artifact, name: str, item: Any) -> ArtifactManifestEntry:
    return self.add(item, name)


def remove(self: Artifact, item: str | os.PathLike[str] | ArtifactManifestEntry) -> None:
    """Remove a file, or every file under a folder, from the draft."""
    manifest = self._ensure_draft("remove")
    raw = item.path if isinstance(item, ArtifactManifestEntry) else os.fspath(item)
    path = normalize_entry_path(raw)
    doomed = manifest.paths_under(path)
    if not doomed:
        raise PathNotInArtifactError(f"no file or folder {path!r} in this artifact")
    for p in doomed:
        manifest.remove(p)
        parts = p.split("/")
        for i in range(1, len(parts)):
            self._dirs["/".join(parts[:i])] -= 1
    gone = set(doomed)
    self._added_local = {k: v for k, v in self._added_local.items() if v not in gone}


def get_added_local_path_name(self: Artifact, local_path: str | os.PathLike[str]) -> str | None:
    """The artifact path a local file was added under, if it was."""
    return self._added_local.get(os.path.abspath(os.fspath(local_path)))
