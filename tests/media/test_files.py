"""cairn.Audio, Video, Html and Object3D: each stored as one payload file beside its JSON."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cairn.errors import LocalPathError, NotImplementedFeatureError, ValidationError
from cairn.media import Audio, Html, Object3D, Video
from tests.media.fake import FakeArtifact, round_trip


def test_audio_from_samples(fake: FakeArtifact) -> None:
    samples = np.sin(np.linspace(0, 100, 800)).astype(np.float32)
    clip = Audio(samples, sample_rate=8000, caption="tone")
    assert clip.format == "wav" and clip.duration == pytest.approx(0.1)
    pairs = fake.add(clip, "sound")
    assert next(p for p, _ in pairs) == "sound.audio-file.json"
    assert pairs[1][0].startswith("media/audio/") and pairs[1][0].endswith(".wav")
    doc = fake.json("sound.audio-file.json")
    assert (doc["_type"], doc["caption"], doc["sample_rate"]) == ("audio-file", "tone", 8000)
    got = fake.get("sound")
    assert got == clip
    data, rate = got.read()
    assert rate == 8000 and len(data) == 800
    assert np.allclose(data, samples, atol=1e-3)  # 16-bit PCM


def test_audio_from_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.flac"
    soundfile.write(path, np.zeros(100), 1000)
    clip = Audio(str(path))
    got = round_trip(clip, tmp_path)
    assert got == clip and got.format == "flac" and got.caption is None
    assert got != Audio(str(path), caption="other")
    with pytest.raises(ValidationError, match="sample_rate"):
        Audio(np.zeros(10))
    with pytest.raises(LocalPathError):
        Audio(str(tmp_path / "missing.wav"))


def test_video_from_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    clip = Video(path, caption="c", fps=4)
    art = FakeArtifact(tmp_path / "art")
    pairs = art.add(clip, "v")
    assert pairs[1][0].startswith("media/videos/") and pairs[1][0].endswith(".mp4")
    got = art.get("v")
    assert got == clip and got.fps == 4 and got.format == "mp4"
    assert Video(io.BytesIO(path.read_bytes()), format="mp4", caption="c") == clip
    with pytest.raises(ValidationError):
        Video(tmp_path / "clip.avi")
    with pytest.raises(NotImplementedFeatureError):
        Video(np.zeros((2, 3, 4, 4), dtype=np.uint8))


def test_html_from_string_and_file(tmp_path: Path) -> None:
    page = Html("<html><body><a href='x'>x</a></body></html>")
    assert page.html.startswith('<html><head><base target="_blank"></head>')
    assert "wandb" not in page.html  # nothing external is linked
    got = round_trip(page, tmp_path)
    assert got == page and got.html == page.html
    path = tmp_path / "p.html"
    path.write_text("<p>plain</p>", encoding="utf-8")
    raw = Html(str(path), inject=False)
    assert raw.html == "<p>plain</p>"
    assert round_trip(raw, tmp_path, "raw") == raw
    assert Html(io.StringIO("<p>io</p>"), inject=False).html == "<p>io</p>"
    with pytest.raises(ValidationError):
        Html(42)


def test_object3d(tmp_path: Path, fake: FakeArtifact) -> None:
    path = tmp_path / "tri.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    mesh = Object3D(str(path))
    fake.add(mesh, "mesh")
    assert fake.json("mesh.object3D-file.json")["path"].startswith("media/object3D/")
    assert fake.get("mesh") == mesh
    cloud = Object3D(np.random.default_rng(0).random((10, 3)), caption="pts")
    pairs = fake.add(cloud, "cloud")
    assert pairs[1][0].endswith(".pts.json")
    got = fake.get("cloud")
    assert got == cloud and got.format == "pts.json"
    assert Object3D(io.StringIO(path.read_text()), file_type="obj") == mesh
    with pytest.raises(ValidationError):
        Object3D(np.zeros((3, 5)))
    with pytest.raises(ValidationError):
        Object3D(str(tmp_path / "x.fbx"))


def test_media_in_table_cells(tmp_path: Path) -> None:
    from cairn.media import Table

    path = tmp_path / "tri.obj"
    path.write_text("v 0 0 0\n")
    t = Table(columns=["audio", "page", "mesh"])
    t.add_data(Audio(np.zeros(10), sample_rate=10), Html("<p>1</p>"), Object3D(path))
    t.add_data(None, Html("<p>2</p>"), None)
    assert round_trip(t, tmp_path) == t
