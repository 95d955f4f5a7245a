"""A page previewing one file of a version, by its kind.

Text, JSON and YAML (highlighted in the browser by the vendored highlight.js), CSV (the first
rows as a table), Parquet (needs pyarrow), images, audio and video (players over
:mod:`.raw`, which serves ranges), HTML (in a sandboxed frame), a W&B/Cairn ``Table`` as a
sortable table with its images, and an ``Image`` with its boxes and masks drawn.

Only the start of a file is read (:data:`HEAD_BYTES`, by range), so a 50 GB log previews as
fast as a small one; a document that must be parsed whole (a JSON tree, a table) is parsed only
below :data:`PARSE_LIMIT`, else its start is shown as text.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

import yaml
from fastapi import APIRouter, Request
from starlette.responses import Response

from cairn.core import blob_ranges
from cairn.core.service import Service
from cairn.server.ui import media_views
from cairn.server.ui.raw import FileReader, FileRoute, blob_of, file_of, suffix
from cairn.server.ui.render import page
from cairn.server.ui.session import service_for
from cairn.server.ui.versions import version_url

router = APIRouter(route_class=FileRoute)

HEAD_BYTES = 256 * 1024
PARSE_LIMIT = 4 * 1024 * 1024
CSV_ROWS = 50

IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif", ".svg"}
AUDIO = {".mp3", ".wav", ".ogg", ".oga", ".flac", ".m4a"}
VIDEO = {".mp4", ".m4v", ".webm", ".ogv", ".mov"}
HTML = {".html", ".htm"}
# highlight.js language by suffix (its common build); other text is shown plain.
LANGUAGES = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".py": "python",
    ".md": "markdown",
    ".xml": "xml",
    ".sh": "bash",
    ".ini": "ini",
    ".cfg": "ini",
    ".toml": "ini",
    ".js": "javascript",
    ".ts": "typescript",
    ".css": "css",
    ".sql": "sql",
    ".c": "c",
    ".cpp": "cpp",
    ".h": "c",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".diff": "diff",
    ".patch": "diff",
}


@dataclass(frozen=True)
class Preview:
    """What the template shows: ``kind`` picks the section; the rest is its data."""

    kind: str  # text | csv | parquet | image | audio | video | html | table | media-image | none
    text: str = ""
    language: str = "plaintext"
    truncated: bool = False
    rows: tuple[tuple[str, ...], ...] = ()
    table: media_views.TableView | None = None
    image: media_views.AnnotatedImage | None = None
    note: str = ""


def decode_text(data: bytes) -> str | None:
    """Text if ``data`` looks like text (no NULs; valid UTF-8 but for a cut last character)."""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8")
        return None


def _json_text(data: bytes) -> str | None:
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except ValueError:
        return None


class RangeFile(io.RawIOBase):
    """A stored blob as a seekable file whose reads are ranged reads (:mod:`blob_ranges`), so a
    reader that seeks (pyarrow reads a Parquet file's footer, then one row group) reads only
    those parts."""

    def __init__(self, svc: Service, digest: str, size: int) -> None:
        super().__init__()
        self._svc, self._digest, self._size, self._pos = svc, digest, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = blob_ranges.read_range(self._svc, self._digest, self._pos, self._pos + len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def parquet_preview(svc: Service, digest: str, size: int) -> Preview:
    """The first :data:`CSV_ROWS` rows of a Parquet file, read with pyarrow by range."""
    import pyarrow.parquet as pq  # optional: preview_of checked it is installed

    try:
        f = pq.ParquetFile(io.BufferedReader(RangeFile(svc, digest, size), 1 << 16))
        batch = next(iter(f.iter_batches(batch_size=CSV_ROWS)), None)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid, ArrowIOError: not Parquet
        return Preview("parquet", note=f"not a Parquet file pyarrow can read: {exc}")
    names = tuple(f.schema_arrow.names)
    rows = [names]
    if batch is not None:
        rows += [tuple(str(row.get(n)) for n in names) for row in batch.to_pylist()]
    total = f.metadata.num_rows
    return Preview("parquet", rows=tuple(rows), truncated=total > CSV_ROWS, note=f"{total} rows")


def preview_of(svc: Service, path: str, entry: dict[str, Any]) -> Preview:
    """Read as little of the file as its kind needs, and say how to show it."""
    name = path.rsplit("/", 1)[-1].lower()
    ext = suffix(path)
    size = entry["size"] or 0
    if ext in IMAGE:
        return Preview("image")
    if ext in AUDIO:
        return Preview("audio")
    if ext in VIDEO:
        return Preview("video")
    if ext in HTML:
        return Preview("html")
    digest = blob_of(entry)
    if ext == ".parquet":
        if find_spec("pyarrow") is None:
            return Preview("parquet", note="preview needs pyarrow (pip install pyarrow)")
        return parquet_preview(svc, digest, size)
    whole = size <= PARSE_LIMIT
    if name.endswith((".table.json", ".image-file.json")) and whole:
        try:
            doc = json.loads(blob_ranges.read_range(svc, digest, 0, size))
        except ValueError:
            doc = None
        if name.endswith(".table.json"):
            try:
                return Preview("table", table=media_views.table_view(doc))
            except ValueError:
                pass
        elif isinstance(doc, dict) and (image := media_views.annotated_image(doc)) is not None:
            return Preview("media-image", image=image)
    head = blob_ranges.read_range(svc, digest, 0, size if whole and ext == ".json" else HEAD_BYTES)
    truncated = size > len(head)
    text = decode_text(head)
    if text is None:
        return Preview("none", note="a binary file: download it to open it")
    if ext in (".csv", ".tsv"):
        lines = text if not truncated else text[: text.rfind("\n") + 1]
        reader = csv.reader(io.StringIO(lines), delimiter="\t" if ext == ".tsv" else ",")
        rows = []
        for row in reader:
            rows.append(tuple(row))
            if len(rows) > CSV_ROWS:
                break
        more = truncated or len(rows) > CSV_ROWS
        return Preview("csv", rows=tuple(rows[: CSV_ROWS + 1]), truncated=more)
    if ext == ".json" and not truncated:
        text = _json_text(head) or text
    elif ext in (".yaml", ".yml") and not truncated:
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return Preview("text", text=text, language="yaml", note=f"not valid YAML: {exc}")
    return Preview("text", text=text, language=LANGUAGES.get(ext, "plaintext"), truncated=truncated)


@router.get("/versions/{version_id}/preview/{path:path}")
def preview(request: Request, viewer: FileReader, version_id: str, path: str) -> Response:
    """A file of a version, previewed.

    Raises:
        EntryNotFoundError: no such stored file in this version.
    """
    svc = service_for(request, viewer)
    v = svc.get_version(version_id)
    entry = file_of(svc, version_id, path)
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    context = {
        "viewer": viewer,
        "v": v,
        "path": path,
        "entry": entry,
        "folder": folder,
        "page_url": version_url(v),
        "raw_base": f"/versions/{v.id}/raw/",
        "p": preview_of(svc, path, entry),
    }
    return page(request, "preview.html", context)
