"""What every media object shares, and the two helpers that move them in and out of an artifact.

A media object turns itself into a JSON document (``_to_json``) with the help of a
:class:`Writer`, which stages the binary payloads it needs, and comes back from that document
(``_from_json``) with the help of a :class:`Reader`, which fetches entries of the artifact.
The layout is W&B's, so artifacts move between the two systems::

    <name>.<kind>.json                       the object's JSON document
    media/<subdir>/<md5 hex[:20]>.<ext>      each binary payload, named by its content

Payload paths are artifact-relative and the JSON refers to them by that path. Naming a payload
by its content means the same image used in a thousand rows is stored once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cairn.errors import EntryNotFoundError, LocalPathError, ValidationError
from cairn.manifest import normalize_entry_path

_CHUNK = 1 << 20


class Media:
    """Base of every object ``Artifact.add`` accepts.

    Subclasses set ``_log_type`` (the ``<kind>`` in ``<name>.<kind>.json`` and the ``_type``
    of their JSON) and implement ``_to_json`` / ``_from_json``.
    """

    _log_type: ClassVar[str] = ""

    def _to_json(self, writer: Writer) -> Any:
        raise NotImplementedError

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Media:
        raise NotImplementedError

    @classmethod
    def with_suffix(cls, name: str) -> str:
        """``name`` with this kind's ``.<kind>.json`` suffix (unchanged if it has it)."""
        suffix = f".{cls._log_type}.json"
        return name if name.endswith(suffix) else name + suffix

    def __ne__(self, other: object) -> bool:
        return not self == other


class FileMedia(Media):
    """A media object backed by one payload file (an image, a clip, a page, a mesh).

    The payload is either bytes made in memory (an image encoded from an array) or a local
    file (a path the user gave, or the downloaded entry of a logged artifact). Its SHA-256 is
    taken once, when the object is made, and identifies the content for equality.
    """

    _subdir: ClassVar[str] = "media"

    def __init__(self) -> None:
        self._bytes: bytes | None = None
        self._source: Path | None = None
        self._ext = ""
        self._sha256 = ""
        self._size = 0
        self._caption: str | None = None

    def _set_bytes(self, data: bytes, ext: str) -> None:
        self._bytes, self._source, self._ext = data, None, ext
        self._sha256 = hashlib.sha256(data).hexdigest()
        self._size = len(data)

    def _set_file(self, path: str | os.PathLike[str], ext: str) -> None:
        """Point at a local file.

        Raises:
            LocalPathError: there is no such file.
        """
        p = Path(path)
        if not p.is_file():
            raise LocalPathError(f"no such file: {os.fspath(path)!r}")
        h = hashlib.sha256()
        size = 0
        with p.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                size += len(chunk)
        self._bytes, self._source, self._ext = None, p, ext
        self._sha256, self._size = h.hexdigest(), size

    def _payload_bytes(self) -> bytes:
        if self._bytes is not None:
            return self._bytes
        assert self._source is not None
        return self._source.read_bytes()

    @property
    def caption(self) -> str | None:
        return self._caption

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the payload bytes."""
        return self._sha256

    @property
    def size(self) -> int:
        """Size of the payload in bytes."""
        return self._size

    @property
    def format(self) -> str:
        """The payload's extension without the dot (``png``, ``wav``, ``pts.json``)."""
        return self._ext

    def _file_json(self, writer: Writer) -> dict[str, Any]:
        """The fields every file-backed object writes: its type, payload path, hash and size."""
        return {
            "_type": self._log_type,
            "path": writer.add_payload(self),
            "sha256": self._sha256,
            "size": self._size,
        }

    def _load_file(self, doc: dict[str, Any], reader: Reader) -> None:
        """Point this (fresh) object at the payload ``doc`` names.

        Raises:
            ValidationError: the document has no ``path``.
            EntryNotFoundError: the artifact has no such entry.
        """
        path = doc.get("path")
        if not isinstance(path, str):
            raise ValidationError(f"{self._log_type} JSON has no payload 'path'")
        local = reader.file(path)
        ext = _extension_of(path) or self._ext
        self._set_file(local, ext)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, FileMedia)
            and self._sha256 == other._sha256
            and self._caption == other._caption
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        where = str(self._source) if self._source is not None else f"{self._size} bytes"
        return f"{type(self).__name__}({where}, format={self._ext!r})"


def _extension_of(path: str) -> str:
    """``media/images/ab.png`` → ``png``; keeps compound ones (``x.pts.json`` → ``pts.json``)."""
    base = path.rsplit("/", 1)[-1]
    if base.endswith(".pts.json"):
        return "pts.json"
    if base.endswith(".mask.png"):
        return "mask.png"
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


class Writer:
    """Collects the files one ``serialize`` call produces, staged in a private folder.

    ``pairs`` lists (artifact path, local file), each path once, in the order first added.
    """

    def __init__(self, staging: Path) -> None:
        self._staging = staging
        self._pairs: dict[str, Path] = {}
        self._count = 0
        # id(obj) -> (obj, path): the same object in many table rows is staged once. The object
        # is kept alongside so its id cannot be reused by another object mid-serialisation.
        self._done: dict[int, tuple[object, str]] = {}

    @property
    def pairs(self) -> list[tuple[str, Path]]:
        return list(self._pairs.items())

    def _local(self, hint: str) -> Path:
        # Local names are private to this call: a counter keeps them distinct whatever the
        # artifact paths are (two payloads may share a basename in different folders).
        self._count += 1
        return self._staging / f"{self._count:06d}-{hint}"

    def add_payload(self, media: FileMedia) -> str:
        """Stage ``media``'s payload; return its artifact path ``<subdir>/<md5[:20]>.<ext>``."""
        seen = self._done.get(id(media))
        if seen is not None:
            return seen[1]
        ext = media._ext
        local = self._local(f"payload.{ext}" if ext else "payload")
        md5 = hashlib.md5()
        if media._bytes is not None:
            md5.update(media._bytes)
            local.write_bytes(media._bytes)
        else:
            assert media._source is not None
            # Hash while copying so the file is read once.
            with media._source.open("rb") as src, local.open("wb") as dst:
                while chunk := src.read(_CHUNK):
                    md5.update(chunk)
                    dst.write(chunk)
        name = md5.hexdigest()[:20] + (f".{ext}" if ext else "")
        path = normalize_entry_path(f"{media._subdir}/{name}")
        if path in self._pairs:
            local.unlink()  # same content already staged by another object
        else:
            self._pairs[path] = local
        self._done[id(media)] = (media, path)
        return path

    def add_json(self, path: str, doc: Any) -> str:
        """Stage a JSON document at artifact path ``path`` (a nested object's file)."""
        path = normalize_entry_path(path)
        if path not in self._pairs:
            local = self._local(path.rsplit("/", 1)[-1])
            write_json(local, doc)
            self._pairs[path] = local
        return path

    def stage_json(self, doc: Any) -> Path:
        """Write the top-level document to a private file and return it (not a pair)."""
        local = self._local("object.json")
        write_json(local, doc)
        return local


def json_bytes(doc: Any) -> bytes:
    # NaN stays NaN (allow_nan), as W&B writes it: a float column with gaps keeps its gaps.
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_json(path: Path, doc: Any) -> None:
    path.write_bytes(json_bytes(doc))


class Reader(Protocol):
    """What ``_from_json`` may ask of the artifact being read."""

    def file(self, path: str) -> Path:
        """Local copy of entry ``path``; EntryNotFoundError if the artifact has none."""
        ...

    def get(self, name: str) -> Any:
        """The object stored at ``name`` (suffix optional); EntryNotFoundError if none."""
        ...

    def list_paths(self, prefix: str) -> list[str]:
        """Entry paths under folder ``prefix``."""
        ...

    def cell(self, doc: dict[str, Any]) -> Any:
        """A media object from a table cell's JSON, or None if its ``_type`` is not media."""
        ...


class ArtifactReader:
    """The :class:`Reader` over the two callables the SDK hands to ``deserialize``."""

    def __init__(
        self,
        read: Callable[[str], Path | None],
        list_paths: Callable[[str], list[str]],
        kinds: dict[str, type[Media]],
    ) -> None:
        self._read = read
        self._list = list_paths
        self._kinds = kinds

    def file(self, path: str) -> Path:
        local = self._read(normalize_entry_path(path))
        if local is None:
            raise EntryNotFoundError(f"the artifact has no entry {path!r}")
        return Path(local)

    def try_file(self, path: str) -> Path | None:
        local = self._read(path)
        return None if local is None else Path(local)

    def list_paths(self, prefix: str) -> list[str]:
        return list(self._list(prefix))

    def get(self, name: str) -> Any:
        path = normalize_entry_path(name)
        # A name that already carries a kind's suffix is tried as-is first.
        candidates = [
            (path, cls) for kind, cls in self._kinds.items() if path.endswith(f".{kind}.json")
        ]
        candidates += [(f"{path}.{kind}.json", cls) for kind, cls in self._kinds.items()]
        for candidate, cls in candidates:
            local = self.try_file(candidate)
            if local is not None:
                with local.open("rb") as f:
                    doc = json.load(f)
                return cls._from_json(doc, self)
        raise EntryNotFoundError(
            f"no object stored at {path!r}: the artifact has no {path}.<kind>.json "
            f"for any kind ({', '.join(self._kinds)})"
        )

    def cell(self, doc: dict[str, Any]) -> Any:
        cls = self._kinds.get(str(doc.get("_type")))
        if cls is None:
            return None
        return cls._from_json(doc, self)
