"""``serialize`` and ``deserialize``: the two calls the SDK makes for ``Artifact.add``/``get``.

The kinds, in the order ``deserialize`` tries their suffixes (``<name>.<kind>.json``), are
listed once in :data:`KINDS`; the same table maps a table cell's ``_type`` to its class.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cairn.errors import UnsupportedObjectError, ValidationError
from cairn.manifest import normalize_entry_path
from cairn.media.base import ArtifactReader, Media, Writer
from cairn.media.files import Audio, Html, Object3D, Video
from cairn.media.image import BoundingBoxes2D, Classes, Image, ImageMask
from cairn.media.table import JoinedTable, PartitionedTable, Table

KINDS: dict[str, type[Media]] = {
    cls._log_type: cls
    for cls in (
        Table,
        PartitionedTable,
        JoinedTable,
        Image,
        Audio,
        Video,
        Html,
        Object3D,
        Classes,
        ImageMask,
        BoundingBoxes2D,
    )
}

SUPPORTED = ", ".join(cls.__name__ for cls in KINDS.values())


def serialize(obj: object, name: str, staging: Path) -> list[tuple[str, Path]]:
    """Write ``obj`` and every file it needs into ``staging``.

    Returns (artifact path, local file) pairs: the object's JSON at ``name.<kind>.json`` first,
    then its payloads under ``media/``, each path once.

    Raises:
        UnsupportedObjectError: ``obj`` is not a supported media object (a TypeError, as in
            W&B; the message names the supported kinds).
        InvalidPathError: ``name`` is not a valid entry path.
        ColumnTypeError, LocalPathError: a table cell or payload could not be written.
    """
    if not isinstance(obj, Media) or type(obj)._log_type not in KINDS:
        raise UnsupportedObjectError(
            f"cannot add a {type(obj).__name__} to an artifact: add() takes one of {SUPPORTED}"
        )
    if not isinstance(name, str):
        raise ValidationError(f"name must be a string, got {type(name).__name__}")
    json_path = normalize_entry_path(type(obj).with_suffix(normalize_entry_path(name)))
    writer = Writer(staging)
    doc = obj._to_json(writer)
    local = writer.stage_json(doc)
    return [(json_path, local), *((p, f) for p, f in writer.pairs if p != json_path)]


def deserialize(
    name: str,
    read: Callable[[str], Path | None],
    list_paths: Callable[[str], list[str]],
) -> object:
    """Rebuild the object stored at ``name`` (with or without its ``.<kind>.json`` suffix).

    ``read(path)`` gives a local copy of an entry or None; ``list_paths(prefix)`` lists the
    entries under a folder.

    Raises:
        EntryNotFoundError: no ``name.<kind>.json`` entry for any kind (a ``KeyError``).
        InvalidPathError: ``name`` is not a valid entry path.
        ValidationError: the stored JSON is not what its kind expects.
    """
    return ArtifactReader(read, list_paths, KINDS).get(name)
