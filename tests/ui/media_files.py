"""Files of every preview kind, for the UI's page tests and its browser tests."""

from __future__ import annotations

import io
import json
from importlib.util import find_spec

EVIL = '<script>alert("x")</script>'
# What the preview of data.parquet (Parquet's magic bytes around nothing) says.
PARQUET_NOTE = "preview needs pyarrow" if find_spec("pyarrow") is None else "not a Parquet file"


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def mask_png(width: int, height: int) -> bytes:
    """Class 1 in the left half, 0 elsewhere (a mode-L PNG of class ids)."""
    from PIL import Image

    img = Image.new("L", (width, height), 0)
    for x in range(width // 2):
        for y in range(height):
            img.putpixel((x, y), 1)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(bytes((128 + (i % 16) * 4) % 256 for i in range(int(rate * seconds))))
    return buf.getvalue()


def media_files() -> dict[str, bytes]:
    image_doc = {
        "_type": "image-file",
        "path": "media/images/cat.png",
        "format": "png",
        "width": 64,
        "height": 48,
        "caption": "a cat " + EVIL,
        "boxes": {
            "predictions": {
                "box_data": [
                    {
                        "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.8},
                        "class_id": 1,
                        "box_caption": "cat " + EVIL,
                    },
                    {
                        "position": {"middle": [40, 20], "width": 10, "height": 8},
                        "domain": "pixel",
                        "class_id": 2,
                    },
                ],
                "class_labels": {"1": "cat", "2": "dog"},
            }
        },
        "masks": {"segments": {"_type": "mask", "path": "media/images/mask/cat.mask.png"}},
    }
    table = {
        "_type": "table",
        "columns": ["id", "label", "image"],
        "data": [
            [2, "dog", {**image_doc, "boxes": None, "masks": None, "caption": "two"}],
            [10, EVIL, None],
            [1, "cat", image_doc],
        ],
    }
    return {
        "notes.txt": f"plain text {EVIL}\n".encode(),
        "config.json": json.dumps({"lr": 0.1, "name": EVIL}).encode(),
        "params.yaml": f"lr: 0.1\nname: '{EVIL}'\n".encode(),
        "rows.csv": b"id,name\n" + b"".join(f"{i},row {i}\n".encode() for i in range(120)),
        "evil.csv": f"h1,{EVIL}\n1,{EVIL}\n".encode(),
        "data.parquet": b"PAR1\x00\x00PAR1",
        "media/images/cat.png": png(64, 48, (200, 150, 90)),
        "media/images/mask/cat.mask.png": mask_png(64, 48),
        "sound.wav": wav(),
        "clip.webm": b"\x1aE\xdf\xa3" + bytes(range(256)) * 8,
        "page.html": f"<h1>Hello</h1>{EVIL}<p>from a file</p>".encode(),
        "cat.image-file.json": json.dumps(image_doc).encode(),
        "samples.table.json": json.dumps(table).encode(),
        "big.log": b"".join(f"line {i:07d}\n".encode() for i in range(60_000)),  # 780 KB
        "blob.bin": bytes(range(256)) * 4,
    }
