"""cairn.Image, ImageMask, BoundingBoxes2D and Classes: making them, storing them, equality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from cairn.errors import LocalPathError, ValidationError
from cairn.media import BoundingBoxes2D, Classes, Image, ImageMask
from tests.media.fake import FakeArtifact, round_trip


def _pixels(h: int = 5, w: int = 7) -> np.ndarray:
    return np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)


def test_from_numpy(fake: FakeArtifact) -> None:
    img = Image(_pixels(), caption="grid")
    assert (img.width, img.height, img.format) == (7, 5, "png")
    pairs = fake.add(img, "pics/one")
    paths = [p for p, _ in pairs]
    assert paths[0] == "pics/one.image-file.json"
    assert len(paths) == 2 and paths[1].startswith("media/images/") and paths[1].endswith(".png")
    doc = fake.json("pics/one.image-file.json")
    assert doc["_type"] == "image-file"
    assert doc["path"] == paths[1]
    assert (doc["width"], doc["height"], doc["caption"], doc["format"]) == (7, 5, "grid", "png")
    assert doc["sha256"] == img.sha256 and doc["size"] == img.size
    got = fake.get("pics/one")
    assert got == img
    assert np.array_equal(np.asarray(got.image), _pixels())


def test_payload_named_by_md5(fake: FakeArtifact) -> None:
    import hashlib

    img = Image(_pixels())
    pairs = fake.add(img, "x")
    path, local = pairs[1]
    digest = hashlib.md5(fake.files[path].read_bytes()).hexdigest()
    assert path == f"media/images/{digest[:20]}.png"
    assert not local.exists()  # the staging folder was the caller's to remove


def test_float_and_grey_arrays() -> None:
    grey = Image(np.linspace(0, 1, 12).reshape(3, 4))
    assert grey.image.mode == "L"
    assert np.asarray(grey.image).max() == 255
    rgba = Image(np.zeros((2, 2, 4), dtype=np.uint8))
    assert rgba.image.mode == "RGBA"
    assert Image(_pixels(), mode="L").image.mode == "L"
    with pytest.raises(ValidationError):
        Image(np.zeros((2, 2, 5)))


def test_from_pil_and_from_path(tmp_path: Path) -> None:
    pil = PILImage.fromarray(_pixels())
    a = Image(pil)
    path = tmp_path / "pic.png"
    pil.save(path)
    b = Image(str(path))
    assert b.format == "png" and (b.width, b.height) == (7, 5)
    assert a == b  # same pixels, whichever encoder wrote the bytes
    jpg = tmp_path / "pic.jpg"
    pil.save(jpg, quality=95)
    c = Image(jpg)
    got = round_trip(c, tmp_path)
    assert got.format == "jpg" and got == c and got.sha256 == c.sha256
    with pytest.raises(LocalPathError):
        Image(str(tmp_path / "missing.png"))
    assert Image(a) == a  # copying an Image


def test_inequality() -> None:
    a = Image(_pixels(), caption="a")
    assert a != Image(_pixels(), caption="b")
    assert a != Image(_pixels() + 1, caption="a")
    assert a != "a"


def test_masks_boxes_and_classes_round_trip(fake: FakeArtifact) -> None:
    mask = np.zeros((5, 7), dtype=np.uint8)
    mask[2:, 3:] = 1
    labels = {0: "background", 1: "cat"}
    boxes = {
        "box_data": [
            {
                "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6},
                "class_id": 1,
                "box_caption": "cat",
                "scores": {"acc": 0.9},
            },
            {"position": {"middle": [3, 2], "width": 2, "height": 2}, "domain": "pixel"},
        ],
        "class_labels": labels,
    }
    img = Image(
        _pixels(),
        masks={"pred": {"mask_data": mask, "class_labels": labels}},
        boxes={"pred": boxes},
        classes=Classes([{"id": 0, "name": "background"}, {"id": 1, "name": "cat"}]),
    )
    pairs = fake.add(img, "annotated")
    paths = [p for p, _ in pairs]
    assert any(p.startswith("media/images/mask/") and p.endswith(".mask.png") for p in paths)
    classes_path = next(p for p in paths if p.startswith("media/classes/"))
    assert classes_path.endswith("_cls.classes.json")
    doc = fake.json("annotated.image-file.json")
    assert doc["classes"]["type"] == "classes-file"
    assert doc["classes"]["path"] == classes_path
    assert doc["boxes"]["pred"] == boxes["box_data"]  # W&B stores the list of boxes
    assert doc["masks"]["pred"]["_type"] == "mask"
    assert fake.json(classes_path)["class_set"] == [
        {"id": 0, "name": "background"},
        {"id": 1, "name": "cat"},
    ]
    got = fake.get("annotated")
    assert got == img
    assert got.masks is not None and got.masks["pred"].class_labels == labels
    assert got.boxes is not None and got.boxes["pred"].box_data == boxes["box_data"]
    assert got.classes == img.classes


def test_masks_default_labels_and_classes() -> None:
    img = Image(_pixels(), masks={"m": {"mask_data": np.array([[0, 2], [2, 2]], dtype=np.int64)}})
    assert img.classes == Classes([{"id": 0, "name": "class_0"}, {"id": 2, "name": "class_2"}])


def test_bad_annotations() -> None:
    with pytest.raises(ValidationError):
        ImageMask({"mask_data": np.zeros((2, 2, 2), dtype=np.uint8)}, "m")
    with pytest.raises(ValidationError):
        ImageMask({"mask_data": np.full((2, 2), 300)}, "m")
    with pytest.raises(ValidationError):
        BoundingBoxes2D({"box_data": [{"position": {"minX": 0}}]}, "b")
    with pytest.raises(ValidationError):
        BoundingBoxes2D(
            {
                "box_data": [
                    {"position": {"middle": [0, 0], "width": 1, "height": 1}, "class_id": "cat"}
                ]
            },
            "b",
        )
    with pytest.raises(ValidationError):
        Classes([{"id": 1}])
    with pytest.raises(ValidationError):
        Image(_pixels(), boxes=[1])  # type: ignore[arg-type]


def test_standalone_helpers_round_trip(fake: FakeArtifact) -> None:
    classes = Classes([{"id": 1, "name": "a"}])
    fake.add(classes, "cls")
    assert fake.json("cls.classes.json") == {
        "_type": "classes",
        "class_set": [{"id": 1, "name": "a"}],
    }
    assert fake.get("cls") == classes
    mask = ImageMask({"mask_data": np.eye(3, dtype=np.uint8)}, "m")
    fake.add(mask, "mask")
    assert fake.get("mask") == mask
    boxes = BoundingBoxes2D(
        {"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": 1}, "class_id": 0}]},
        "b",
    )
    fake.add(boxes, "boxes")
    assert isinstance(fake.json("boxes.bounding-boxes.json"), list)  # W&B's form
    assert fake.get("boxes") == boxes


def test_path_that_is_not_an_image(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(ValidationError, match="not an image"):
        Image(bad)
