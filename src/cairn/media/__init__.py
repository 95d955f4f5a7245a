"""Rich objects inside artifacts: tables, images, audio, video, HTML and 3-D objects.

``Artifact.add(obj, name)`` calls :func:`serialize`, which writes ``name.<kind>.json`` and the
object's payloads under ``media/`` in W&B's layout (so artifacts move between the two systems);
``Artifact.get(name)`` calls :func:`deserialize`. The heavy libraries some types use (numpy,
pandas, pillow, soundfile: the ``media`` extra) are imported only when such a type is used.
"""

from cairn.errors import ColumnTypeError
from cairn.media import data_types
from cairn.media.codec import KINDS, deserialize, serialize
from cairn.media.files import Audio, Html, Object3D, Video
from cairn.media.image import BoundingBoxes2D, Classes, Image, ImageMask
from cairn.media.table import JoinedTable, PartitionedTable, Table

__all__ = [
    "KINDS",
    "Audio",
    "BoundingBoxes2D",
    "Classes",
    "ColumnTypeError",
    "Html",
    "Image",
    "ImageMask",
    "JoinedTable",
    "Object3D",
    "PartitionedTable",
    "Table",
    "Video",
    "data_types",
    "deserialize",
    "serialize",
]
