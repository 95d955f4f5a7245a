"""Cairn/W&B media files as the preview draws them: a ``Table`` (``*.table.json``) and an
``Image`` (``*.image-file.json``, or an image cell of a table) with its boxes and masks.

The on-disk formats are :mod:`cairn.media.table` and :mod:`cairn.media.image`; the media
files they name (``media/images/…``) are paths from the version's root. Nothing here trusts the
JSON: every value that reaches a page is escaped by the template, and a malformed box or cell is
shown as text or left out rather than failing the page.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 500
# Box colours by class id (readable on light and dark images).
PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    label: str
    colour: str


@dataclass(frozen=True)
class AnnotatedImage:
    path: str  # the image file, from the version's root
    width: int | None
    height: int | None
    caption: str | None
    boxes: tuple[Box, ...] = ()
    masks: tuple[tuple[str, str], ...] = ()  # (layer, mask PNG path)


@dataclass(frozen=True)
class Cell:
    text: str = ""
    sort: str = ""  # what the column sorts by
    image: AnnotatedImage | None = None


@dataclass(frozen=True)
class TableView:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: int
    notes: tuple[str, ...] = field(default=())


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else None


def _box(raw: Any, width: int | None, height: int | None, labels: dict[str, str]) -> Box | None:
    """A box in image pixels, or None if it cannot be placed."""
    if not isinstance(raw, dict) or not isinstance(raw.get("position"), dict):
        return None
    pos = raw["position"]
    mid = pos.get("middle")
    if isinstance(mid, list | tuple) and len(mid) == 2:
        mx, my, bw, bh = _num(mid[0]), _num(mid[1]), _num(pos.get("width")), _num(pos.get("height"))
        if None in (mx, my, bw, bh):
            return None
        assert mx is not None and my is not None and bw is not None and bh is not None
        x0, x1, y0, y1 = mx - bw / 2, mx + bw / 2, my - bh / 2, my + bh / 2
    else:
        found = [_num(pos.get(k)) for k in ("minX", "maxX", "minY", "maxY")]
        if any(v is None for v in found):
            return None
        x0, x1, y0, y1 = (v for v in found if v is not None)
    if raw.get("domain") != "pixel":  # W&B's default: fractions of the image's size
        if not width or not height:
            return None
        x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
    cid = raw.get("class_id")
    label = raw.get("box_caption")
    if not isinstance(label, str):
        label = labels.get(str(cid), f"class {cid}") if cid is not None else ""
    colour = PALETTE[cid % len(PALETTE)] if isinstance(cid, int) else PALETTE[0]
    return Box(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0), label, colour)


def annotated_image(doc: dict[str, Any]) -> AnnotatedImage | None:
    """An image-file document (or table cell) as an image with its boxes and masks."""
    path = doc.get("path")
    if not isinstance(path, str):
        return None
    w, h = doc.get("width"), doc.get("height")
    width = w if isinstance(w, int) and w > 0 else None
    height = h if isinstance(h, int) and h > 0 else None
    boxes: list[Box] = []
    raw_boxes = doc.get("boxes")
    if isinstance(raw_boxes, dict):
        for layer in raw_boxes.values():
            items = layer.get("box_data") if isinstance(layer, dict) else layer
            labels = layer.get("class_labels", {}) if isinstance(layer, dict) else {}
            labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
            for raw in items if isinstance(items, list) else []:
                box = _box(raw, width, height, labels)
                if box is not None:
                    boxes.append(box)
    masks: list[tuple[str, str]] = []
    raw_masks = doc.get("masks")
    if isinstance(raw_masks, dict):
        for layer, mask in raw_masks.items():
            if isinstance(mask, dict) and isinstance(mask.get("path"), str):
                masks.append((str(layer), mask["path"]))
    caption = doc.get("caption")
    return AnnotatedImage(
        path=path,
        width=width,
        height=height,
        caption=caption if isinstance(caption, str) else None,
        boxes=tuple(boxes),
        masks=tuple(masks),
    )


def _cell(value: Any) -> Cell:
    if isinstance(value, dict) and value.get("_type") == "image-file":
        image = annotated_image(value)
        if image is not None:
            return Cell(text=image.caption or "", sort=image.path, image=image)
    if value is None:
        return Cell()
    if isinstance(value, bool | int | float):
        return Cell(text=str(value), sort=repr(float(value)))
    if isinstance(value, str):
        return Cell(text=value, sort=value)
    text = str(value)
    return Cell(text=text, sort=text)


def table_view(doc: Any) -> TableView:
    """The first :data:`MAX_ROWS` rows of a table document.

    Raises:
        ValueError: not a table document (no ``columns`` list and ``data`` rows).
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), list):
        raise ValueError("not a table: no list of columns")
    data = doc.get("data")
    if not isinstance(data, list):
        raise ValueError("not a table: no rows")
    columns = tuple(str(c) for c in doc["columns"])
    rows = tuple(
        tuple(_cell(v) for v in (row if isinstance(row, list) else [row]))
        for row in data[:MAX_ROWS]
    )
    notes = (f"the first {MAX_ROWS} of {len(data)} rows",) if len(data) > MAX_ROWS else ()
    return TableView(columns=columns, rows=rows, total=len(data), notes=notes)
