"""Media backed by one file: :class:`Audio`, :class:`Video`, :class:`Html`, :class:`Object3D`.

Each is stored as ``{"_type": "<kind>", "path": "media/<subdir>/<md5[:20]>.<ext>", "sha256",
"size", …}`` (``caption`` is always written, possibly null, because W&B's reader expects it).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from cairn.errors import NotImplementedFeatureError, ValidationError
from cairn.media import _optional
from cairn.media.base import FileMedia, Reader, Writer


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


class Audio(FileMedia):
    """An audio clip: ``Audio(data_or_path, sample_rate=None, caption=None)``.

    A path is stored as it is; an array of samples (1-D, or frames x channels) is written as a
    WAV file at ``sample_rate``.

    Raises:
        ValidationError: an array without a sample rate.
        ImportError: soundfile (and numpy) are not installed, for arrays.
        LocalPathError: the path names no file.
    """

    _log_type = "audio-file"
    _subdir = "media/audio"

    def __init__(
        self, data_or_path: Any, sample_rate: float | None = None, caption: str | None = None
    ) -> None:
        super().__init__()
        self._caption = caption
        self._sample_rate = sample_rate
        self._duration: float | None = None
        if _is_path(data_or_path):
            self._set_file(data_or_path, Path(data_or_path).suffix.lstrip(".").lower())
            return
        if sample_rate is None:
            raise ValidationError("Audio from raw samples needs sample_rate")
        soundfile = _optional.require("soundfile", "cairn.Audio from an array")
        np = _optional.require("numpy", "cairn.Audio from an array")
        samples = np.asarray(data_or_path)
        buf = io.BytesIO()
        soundfile.write(buf, samples, int(sample_rate), format="WAV")
        self._set_bytes(buf.getvalue(), "wav")
        self._duration = len(samples) / float(sample_rate)

    @property
    def sample_rate(self) -> float | None:
        return self._sample_rate

    @property
    def duration(self) -> float | None:
        """Length in seconds, when known (made from samples, or read back)."""
        return self._duration

    def read(self) -> tuple[Any, int]:
        """Decode the clip: ``(samples, sample_rate)`` as soundfile returns them.

        Raises:
            ImportError: soundfile is not installed.
        """
        soundfile = _optional.require("soundfile", "Audio.read()")
        src: Any = io.BytesIO(self._bytes) if self._bytes is not None else self._source
        data, rate = soundfile.read(src)
        return data, int(rate)

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        doc = self._file_json(writer)
        doc["caption"] = self._caption
        if self._sample_rate is not None:
            doc["sample_rate"] = self._sample_rate
        if self._duration is not None:
            doc["duration"] = self._duration
        return doc

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Audio:
        obj = cls.__new__(cls)
        FileMedia.__init__(obj)
        obj._load_file(_require_dict(doc, cls._log_type), reader)
        obj._caption = doc.get("caption")
        obj._sample_rate = doc.get("sample_rate")
        obj._duration = doc.get("duration")
        return obj


_VIDEO_FORMATS = ("gif", "mp4", "webm", "ogg")


class Video(FileMedia):
    """A video file: ``Video(data_or_path, caption=None, fps=None, format=None)``.

    ``data_or_path`` is a path or a binary file object (then ``format`` is required); the
    format is one of gif, mp4, webm, ogg. Encoding frames from an array is not supported:
    write the video to a file first.

    Raises:
        ValidationError: an unknown format.
        NotImplementedFeatureError: an array of frames.
        LocalPathError: the path names no file.
    """

    _log_type = "video-file"
    _subdir = "media/videos"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,
    ) -> None:
        super().__init__()
        self._caption = caption
        self._fps = fps
        if _is_path(data_or_path):
            ext = (format or Path(data_or_path).suffix.lstrip(".")).lower()
            _check_video_format(ext)
            self._set_file(data_or_path, ext)
        elif hasattr(data_or_path, "read"):
            if format is None:
                raise ValidationError("Video from a file object needs format=")
            _check_video_format(format.lower())
            if hasattr(data_or_path, "seek"):
                data_or_path.seek(0)
            self._set_bytes(data_or_path.read(), format.lower())
        else:
            raise NotImplementedFeatureError(
                "Video from an array of frames is not supported: write the video to a file "
                "(mp4, webm, gif or ogg) and pass its path"
            )

    @property
    def fps(self) -> int | None:
        return self._fps

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        doc = self._file_json(writer)
        doc["caption"] = self._caption
        doc["format"] = self._ext
        if self._fps is not None:
            doc["fps"] = self._fps
        return doc

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Video:
        obj = cls.__new__(cls)
        FileMedia.__init__(obj)
        obj._load_file(_require_dict(doc, cls._log_type), reader)
        obj._caption = doc.get("caption")
        obj._fps = doc.get("fps")
        return obj


def _check_video_format(ext: str) -> None:
    if ext not in _VIDEO_FORMATS:
        raise ValidationError(f"video format must be one of {', '.join(_VIDEO_FORMATS)}: {ext!r}")


class Html(FileMedia):
    """An HTML page: ``Html(data, inject=True)`` from a string, a text file object, or the path
    of an existing file.

    With ``inject`` a ``<base target="_blank">`` is added to the head so links open outside a
    viewer's frame (W&B also links its stylesheet; Cairn links nothing external). The page read
    back from an artifact is the stored text, unchanged.

    Raises:
        ValidationError: ``data`` is none of those.
    """

    _log_type = "html-file"
    _subdir = "media/html"

    def __init__(self, data: Any, inject: bool = True) -> None:
        super().__init__()
        if isinstance(data, os.PathLike) or (isinstance(data, str) and _is_file(data)):
            text = Path(data).read_text(encoding="utf-8")
        elif isinstance(data, str):
            text = data
        elif hasattr(data, "read"):
            if hasattr(data, "seek"):
                data.seek(0)
            text = data.read()
            if isinstance(text, bytes):
                text = text.decode("utf-8")
        else:
            raise ValidationError("Html data must be a string, a path or a file object")
        self.html: str = _inject_base(text) if inject else text
        self._set_bytes(self.html.encode("utf-8"), "html")

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        return self._file_json(writer)

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Html:
        obj = cls.__new__(cls)
        FileMedia.__init__(obj)
        obj._load_file(_require_dict(doc, cls._log_type), reader)
        assert obj._source is not None
        obj.html = obj._source.read_text(encoding="utf-8")
        return obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Html) and self.html == other.html

    __hash__ = None  # type: ignore[assignment]


def _is_file(text: str) -> bool:
    # A long HTML string is not a path; asking the filesystem about it can fail (name too long).
    if "\n" in text or "<" in text or len(text) > 4096:
        return False
    try:
        return os.path.isfile(text)
    except (OSError, ValueError):
        return False


_BASE = '<base target="_blank">'


def _inject_base(html: str) -> str:
    if _BASE in html:
        return html
    if "<head>" in html:
        return html.replace("<head>", "<head>" + _BASE, 1)
    if "<html>" in html:
        return html.replace("<html>", f"<html><head>{_BASE}</head>", 1)
    return _BASE + html


_OBJECT3D_FORMATS = ("obj", "gltf", "glb", "babylon", "stl", "pts.json")


class Object3D(FileMedia):
    """A 3-D object: ``Object3D(data_or_path, caption=None, file_type=None)``.

    ``data_or_path`` is the path of an ``.obj``, ``.gltf``, ``.glb``, ``.babylon``, ``.stl`` or
    ``.pts.json`` file, a file object (with ``file_type``), or a numpy point cloud of shape
    Nx3 (x, y, z), Nx4 (… category) or Nx6 (… r, g, b), stored as ``.pts.json``.

    Raises:
        ValidationError: an unknown file type or point-cloud shape.
        ImportError: numpy is not installed, for point clouds.
        LocalPathError: the path names no file.
    """

    _log_type = "object3D-file"
    _subdir = "media/object3D"

    def __init__(
        self, data_or_path: Any, caption: str | None = None, file_type: str | None = None
    ) -> None:
        super().__init__()
        self._caption = caption
        if _is_path(data_or_path):
            name = Path(data_or_path).name.lower()
            ext = file_type or ("pts.json" if name.endswith(".pts.json") else name.rsplit(".")[-1])
            _check_object3d_format(ext)
            self._set_file(data_or_path, ext)
        elif hasattr(data_or_path, "read"):
            if file_type is None:
                raise ValidationError("Object3D from a file object needs file_type=")
            _check_object3d_format(file_type)
            if hasattr(data_or_path, "seek"):
                data_or_path.seek(0)
            raw = data_or_path.read()
            self._set_bytes(raw.encode("utf-8") if isinstance(raw, str) else raw, file_type)
        elif _optional.is_ndarray(data_or_path):
            if data_or_path.ndim != 2 or data_or_path.shape[1] not in (3, 4, 6):
                raise ValidationError(
                    f"a point cloud is Nx3, Nx4 or Nx6, got shape {list(data_or_path.shape)}"
                )
            points = data_or_path.tolist()
            self._set_bytes(json.dumps(points).encode("utf-8"), "pts.json")
        else:
            raise ValidationError("Object3D data must be a path, a file object or a numpy array")

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        doc = self._file_json(writer)
        if self._caption is not None:
            doc["caption"] = self._caption
        return doc

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Object3D:
        obj = cls.__new__(cls)
        FileMedia.__init__(obj)
        obj._load_file(_require_dict(doc, cls._log_type), reader)
        obj._caption = doc.get("caption")
        return obj


def _check_object3d_format(ext: str) -> None:
    if ext not in _OBJECT3D_FORMATS:
        raise ValidationError(
            f"Object3D file type must be one of {', '.join(_OBJECT3D_FORMATS)}: {ext!r}"
        )


def _require_dict(doc: Any, kind: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValidationError(f"{kind} JSON must be an object")
    return doc
