"""``cairn.data_types``: the media classes under the module name W&B code uses
(``wandb.data_types.PartitionedTable``)."""

from cairn.errors import ColumnTypeError
from cairn.media.files import Audio, Html, Object3D, Video
from cairn.media.image import BoundingBoxes2D, Classes, Image, ImageMask
from cairn.media.table import JoinedTable, PartitionedTable, Table

__all__ = [
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
]
