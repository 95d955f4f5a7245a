"""Images and what annotates them: :class:`Image`, :class:`ImageMask`, :class:`BoundingBoxes2D`,
:class:`Classes`.

An image's JSON (``<name>.image-file.json``, or a table cell)::

    {"_type": "image-file", "path": "media/images/<md5[:20]>.png", "sha256": …, "size": …,
     "format": "png", "width": w, "height": h, "caption"?: …,
     "classes"?: {"type": "classes-file", "path": "media/classes/<md5[:20]>_cls.classes.json",
                  "digest": <entry digest>},
     "masks"?: {layer: {"_type": "mask", "path": "media/images/mask/<md5[:20]>.mask.png", …}},
     "boxes"?: {layer: [box, …]}}

As in W&B, an image with masks or boxes must carry its classes (they are named from every
label the masks and boxes use when ``classes`` is not given).
"""

from __future__ import annotations

import hashlib
import io
import numbers
import os
from pathlib import Path
from typing import Any

from cairn.errors import ValidationError
from cairn.manifest import md5_b64
from cairn.media import _optional
from cairn.media.base import FileMedia, Media, Reader, Writer, json_bytes

_FEATURE = "cairn.Image"


def _pil(feature: str = _FEATURE) -> Any:
    return _optional.require("PIL.Image", feature)


def _png_bytes(pil_image: Any) -> bytes:
    buf = io.BytesIO()
    pil_image.save(buf, format="PNG")
    return buf.getvalue()


def _labels_from_json(raw: Any) -> dict[Any, str]:
    # JSON object keys are strings; class ids are usually ints, so turn "3" back into 3.
    out: dict[Any, str] = {}
    for k, v in (raw or {}).items():
        out[int(k) if isinstance(k, str) and k.lstrip("-").isdigit() else k] = v
    return out


class Classes(Media):
    """A class set: ``Classes([{"id": 0, "name": "cat"}, …])``.

    Raises:
        ValidationError: an item lacks ``id`` or ``name``.
    """

    _log_type = "classes"

    def __init__(self, class_set: list[dict[str, Any]]) -> None:
        items = list(class_set)
        for item in items:
            if not isinstance(item, dict) or "id" not in item or "name" not in item:
                raise ValidationError(f'each class needs an "id" and a "name", got {item!r}')
        self._class_set = items

    @property
    def class_set(self) -> list[dict[str, Any]]:
        return self._class_set

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        return {"_type": self._log_type, "class_set": self._class_set}

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Classes:
        if not isinstance(doc, dict) or not isinstance(doc.get("class_set"), list):
            raise ValidationError("classes JSON needs a 'class_set' list")
        return cls(doc["class_set"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Classes) and self._class_set == other._class_set

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Classes({self._class_set!r})"


class ImageMask(FileMedia):
    """A segmentation mask: ``ImageMask({"mask_data": 2-D int array, "class_labels": {…}}, key)``
    or ``ImageMask({"path": png_file}, key)``. Labels default to ``class_<n>``.

    Raises:
        ValidationError: mask data that is not 2-D integers in 0…255, or bad labels.
        ImportError: numpy or pillow is missing (for ``mask_data``).
    """

    _log_type = "mask"
    _subdir = "media/images/mask"

    def __init__(self, val: dict[str, Any], key: str = "") -> None:
        super().__init__()
        if not isinstance(val, dict):
            raise ValidationError('a mask is a dict with "mask_data" or "path"')
        self._key = key
        labels = val.get("class_labels")
        if "path" in val:
            self._set_file(val["path"], "mask.png")
        elif "mask_data" in val:
            np = _optional.require("numpy", "cairn.ImageMask")
            data = np.asarray(val["mask_data"])
            if data.ndim != 2:
                raise ValidationError(f"mask_data must be a 2-D array, got shape {data.shape}")
            if data.size and (
                not np.issubdtype(data.dtype, np.integer) or data.min() < 0 or data.max() > 255
            ):
                raise ValidationError("mask_data must hold integers between 0 and 255")
            if labels is None:
                labels = {int(c): f"class_{int(c)}" for c in np.unique(data)}
            image = _pil("cairn.ImageMask").fromarray(data.astype(np.uint8))  # 2-D uint8: mode L
            self._set_bytes(_png_bytes(image), "mask.png")
        else:
            raise ValidationError('a mask needs "mask_data" (an array) or "path" (a PNG file)')
        for k, v in (labels or {}).items():
            if not isinstance(k, numbers.Number) or not isinstance(v, str):
                raise ValidationError("class_labels must map numbers to strings")
        self._labels: dict[Any, str] = dict(labels or {})

    @property
    def class_labels(self) -> dict[Any, str]:
        return self._labels

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        doc = self._file_json(writer)
        if self._labels:
            # Not in W&B's form (it keeps labels in its run history); kept so a round trip
            # restores them. W&B ignores the extra key.
            doc["class_labels"] = {str(k): v for k, v in self._labels.items()}
        return doc

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> ImageMask:
        obj = cls.__new__(cls)
        FileMedia.__init__(obj)
        obj._ext = "mask.png"
        obj._load_file(doc, reader)
        obj._key = ""
        obj._labels = _labels_from_json(doc.get("class_labels"))
        return obj

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ImageMask)
            and self._sha256 == other._sha256
            and (not self._labels or not other._labels or self._labels == other._labels)
        )

    __hash__ = None  # type: ignore[assignment]


class BoundingBoxes2D(Media):
    """Boxes over an image: ``BoundingBoxes2D({"box_data": [box, …], "class_labels": {…}}, key)``.

    A box has a ``position`` (``minX/maxX/minY/maxY`` or ``middle/width/height``), and may have
    ``domain`` (``"pixel"``), ``class_id``, ``scores`` and ``box_caption``. In an artifact only
    the list of boxes is stored, as W&B stores it, so equality compares the boxes.

    Raises:
        ValidationError: a box without a valid position, or badly typed optional fields.
    """

    _log_type = "bounding-boxes"

    def __init__(self, val: dict[str, Any], key: str = "") -> None:
        if not isinstance(val, dict) or not isinstance(val.get("box_data"), list):
            raise ValidationError('boxes are a dict with a "box_data" list')
        for box in val["box_data"]:
            _check_box(box)
        self._boxes: list[dict[str, Any]] = val["box_data"]
        self._key = key
        labels = val.get("class_labels")
        if labels is None:
            ids = sorted({b["class_id"] for b in self._boxes if "class_id" in b})
            labels = {i: f"class_{i}" for i in ids}
        for k, v in labels.items():
            if not isinstance(k, numbers.Number) or not isinstance(v, str):
                raise ValidationError("class_labels must map numbers to strings")
        self._labels: dict[Any, str] = dict(labels)

    @property
    def box_data(self) -> list[dict[str, Any]]:
        return self._boxes

    @property
    def class_labels(self) -> dict[Any, str]:
        return self._labels

    def _to_json(self, writer: Writer) -> list[dict[str, Any]]:
        return self._boxes

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> BoundingBoxes2D:
        if isinstance(doc, dict) and "box_data" in doc:
            return cls(doc, str(doc.get("key", "")))
        if not isinstance(doc, list):
            raise ValidationError("bounding-boxes JSON is a list of boxes")
        return cls({"box_data": doc})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoundingBoxes2D) and self._boxes == other._boxes

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BoundingBoxes2D({len(self._boxes)} boxes)"


def _is_num(d: dict[str, Any], key: str) -> bool:
    return isinstance(d.get(key), numbers.Number)


def _check_box(box: Any) -> None:
    pos = box.get("position") if isinstance(box, dict) else None
    ok = isinstance(pos, dict) and (
        (
            isinstance(pos.get("middle"), (list, tuple))
            and len(pos["middle"]) == 2
            and _is_num(pos, "width")
            and _is_num(pos, "height")
        )
        or all(_is_num(pos, k) for k in ("minX", "maxX", "minY", "maxY"))
    )
    if not ok:
        raise ValidationError(
            "each box needs a position with middle, width and height, or minX, maxX, minY, maxY"
        )
    assert isinstance(box, dict)
    scores = box.get("scores")
    if scores is not None and not (
        isinstance(scores, dict)
        and all(isinstance(k, str) and isinstance(v, numbers.Number) for k, v in scores.items())
    ):
        raise ValidationError("box scores must map strings to numbers")
    if "class_id" in box and not isinstance(box["class_id"], int):
        raise ValidationError("a box's class_id must be an integer")
    if "box_caption" in box and not isinstance(box["box_caption"], str):
        raise ValidationError("a box's caption must be a string")


class Image(FileMedia):
    """An image: ``Image(data_or_path, mode=None, caption=None, grouping=None, classes=None,
    boxes=None, masks=None)``.

    ``data_or_path`` is a numpy array (HxW, HxWx3 or HxWx4; floats in 0…1 are scaled to
    0…255), a PIL image, the path of an image file (stored as it is), or another Image (copied).
    Arrays and PIL images are stored as PNG.

    Raises:
        ImportError: pillow (or numpy, for arrays) is not installed.
        LocalPathError: the path names no file.
        ValidationError: a file pillow cannot read, an array of an unsupported shape, or
            masks/boxes that are not dicts.
    """

    _log_type = "image-file"
    _subdir = "media/images"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Classes | list[dict[str, Any]] | None = None,
        boxes: dict[str, BoundingBoxes2D | dict[str, Any]] | None = None,
        masks: dict[str, ImageMask | dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self._width: int | None = None
        self._height: int | None = None
        self._grouping = grouping
        self._pil_image: Any = None
        if isinstance(data_or_path, Image):
            self._copy_from(data_or_path)
        elif isinstance(data_or_path, (str, os.PathLike)):
            pil = _pil()
            self._set_file(data_or_path, Path(data_or_path).suffix.lstrip(".").lower())
            try:
                with pil.open(self._source) as im:
                    self._width, self._height = im.size
            except OSError as exc:  # pillow's UnidentifiedImageError is an OSError
                raise ValidationError(
                    f"{os.fspath(data_or_path)!r} is not an image file pillow can read"
                ) from exc
        else:
            pil = _pil()
            if _optional.is_pil_image(data_or_path):
                image = data_or_path
            else:
                image = _array_to_pil(data_or_path, mode, pil)
            self._width, self._height = image.size
            self._set_bytes(_png_bytes(image), "png")
        if caption is not None:
            self._caption = caption
        self._boxes: dict[str, BoundingBoxes2D] | None = None
        self._masks: dict[str, ImageMask] | None = None
        self._classes: Classes | None = None
        self._set_annotations(classes, boxes, masks)

    def _copy_from(self, other: Image) -> None:
        self._bytes, self._source, self._ext = other._bytes, other._source, other._ext
        self._sha256, self._size = other._sha256, other._size
        self._caption, self._grouping = other._caption, other._grouping
        self._width, self._height = other._width, other._height

    def _set_annotations(self, classes: Any, boxes: Any, masks: Any) -> None:
        names: dict[Any, str] = {}
        if boxes:
            if not isinstance(boxes, dict):
                raise ValidationError('Image "boxes" must be a dict of layer name to boxes')
            self._boxes = {
                k: b if isinstance(b, BoundingBoxes2D) else BoundingBoxes2D(b, k)
                for k, b in boxes.items()
            }
            for b in self._boxes.values():
                names.update(b.class_labels)
        if masks:
            if not isinstance(masks, dict):
                raise ValidationError('Image "masks" must be a dict of layer name to masks')
            self._masks = {
                k: m if isinstance(m, ImageMask) else ImageMask(m, k) for k, m in masks.items()
            }
            for m in self._masks.values():
                names.update(m.class_labels)
        if classes is not None:
            items = classes.class_set if isinstance(classes, Classes) else list(classes)
            names.update({c["id"]: c["name"] for c in items})
        if names:
            self._classes = Classes([{"id": k, "name": v} for k, v in names.items()])

    # -- accessors ---------------------------------------------------------------------------

    @property
    def width(self) -> int | None:
        return self._width

    @property
    def height(self) -> int | None:
        return self._height

    @property
    def classes(self) -> Classes | None:
        return self._classes

    @property
    def masks(self) -> dict[str, ImageMask] | None:
        return self._masks

    @property
    def boxes(self) -> dict[str, BoundingBoxes2D] | None:
        return self._boxes

    @property
    def image(self) -> Any:
        """The decoded ``PIL.Image.Image``.

        Raises:
            ImportError: pillow is not installed.
        """
        if self._pil_image is None:
            pil = _pil("Image.image")
            src: Any = io.BytesIO(self._bytes) if self._bytes is not None else self._source
            im = pil.open(src)
            im.load()
            self._pil_image = im
        return self._pil_image

    def to_data_array(self) -> list[list[Any]]:
        """Pixel rows as lists (W&B's ``to_data_array``)."""
        im = self.image
        pixels = list(im.getdata())
        return [pixels[r * im.width : (r + 1) * im.width] for r in range(im.height)]

    # -- JSON --------------------------------------------------------------------------------

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        doc = self._file_json(writer)
        doc["format"] = self._ext
        if self._width is not None:
            doc["width"], doc["height"] = self._width, self._height
        if self._grouping:
            doc["grouping"] = self._grouping
        if self._caption:
            doc["caption"] = self._caption
        if self._classes is not None:
            cdoc = self._classes._to_json(writer)
            raw = json_bytes(cdoc)
            name = _md5_hex(raw)[:20]
            path = writer.add_json(f"media/classes/{name}_cls.classes.json", cdoc)
            doc["classes"] = {"type": "classes-file", "path": path, "digest": md5_b64(raw)}
        if self._boxes:
            doc["boxes"] = {k: b._to_json(writer) for k, b in self._boxes.items()}
        if self._masks:
            doc["masks"] = {k: m._to_json(writer) for k, m in self._masks.items()}
        return doc

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Image:
        if not isinstance(doc, dict):
            raise ValidationError("image JSON must be an object")
        obj = cls.__new__(cls)
        FileMedia.__init__(obj)
        obj._load_file(doc, reader)
        obj._ext = str(doc.get("format") or obj._ext)
        obj._caption = doc.get("caption")
        obj._grouping = doc.get("grouping")
        obj._width, obj._height = doc.get("width"), doc.get("height")
        obj._pil_image = None
        obj._boxes = obj._masks = obj._classes = None
        cref = doc.get("classes")
        if isinstance(cref, dict) and isinstance(cref.get("path"), str):
            got = reader.get(cref["path"])
            if isinstance(got, Classes):
                obj._classes = got
        if doc.get("masks"):
            obj._masks = {}
            for k, m in doc["masks"].items():
                mask = ImageMask._from_json(m, reader)
                mask._key = k
                obj._masks[k] = mask
        if doc.get("boxes"):
            obj._boxes = {}
            for k, b in doc["boxes"].items():
                boxes = BoundingBoxes2D._from_json(b, reader)
                boxes._key = k
                obj._boxes[k] = boxes
        return obj

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return False
        return (
            self._caption == other._caption
            and self._grouping == other._grouping
            and self._width == other._width
            and self._height == other._height
            and self._classes == other._classes
            and (self._masks or {}) == (other._masks or {})
            and (self._boxes or {}) == (other._boxes or {})
            and (self._sha256 == other._sha256 or self._same_pixels(other))
        )

    __hash__ = None  # type: ignore[assignment]

    def _same_pixels(self, other: Image) -> bool:
        # Two encodings of the same picture (a PNG re-saved by another encoder) are the
        # same image; only decoded when the bytes differ and pillow is there to decode.
        if _optional.loaded("PIL.Image") is None:
            return False
        try:
            a, b = self.image, other.image
        except OSError:  # a payload pillow cannot decode has no pixels to compare
            return False
        return bool(a.mode == b.mode and a.size == b.size and a.tobytes() == b.tobytes())


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _array_to_pil(data: Any, mode: str | None, pil: Any) -> Any:
    """A PIL image from image-like numeric data (HxW, HxWx3 or HxWx4).

    Raises:
        ValidationError: the shape is not one of those.
        ImportError: numpy is not installed.
    """
    np = _optional.require("numpy", "cairn.Image from an array")
    if hasattr(data, "numpy") and not isinstance(data, np.ndarray):
        data = data.numpy()  # eager tensors
    arr = np.asarray(data)
    if arr.ndim > 2:
        arr = arr.squeeze()
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4))):
        raise ValidationError(f"unsupported image array shape {list(arr.shape)}")
    if arr.dtype != np.uint8:
        # As W&B does: data in -1…1 is shifted to 0…1, data in 0…1 is scaled to 0…255, and
        # the result is clipped to bytes.
        arr = arr.astype(np.float64)
        if arr.size and arr.min() < 0:
            arr = (arr - arr.min()) / (float(np.ptp(arr)) or 1.0)
        if arr.size and arr.max() <= 1.0:
            arr = arr * 255
        arr = arr.clip(0, 255).astype(np.uint8)
    # Pillow infers L/RGB/RGBA from a uint8 array's shape (its mode argument is deprecated),
    # so a different requested mode is reached by converting afterwards.
    image = pil.fromarray(arr)
    return image.convert(mode) if mode and mode != image.mode else image
