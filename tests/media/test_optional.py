"""The heavy libraries stay optional: not imported by ``import cairn``, and a clear ImportError
naming the pip command when a type that needs one is used without it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cairn.media import Audio, Html, Image, Table


def test_import_cairn_imports_no_heavy_library() -> None:
    code = (
        "import sys, cairn, cairn.media, cairn.media.data_types\n"
        "heavy = [m for m in ('numpy', 'pandas', 'PIL', 'soundfile') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_plain_table_and_html_work_without_them() -> None:
    code = (
        "import sys\n"
        "for m in ('numpy', 'pandas', 'PIL', 'PIL.Image', 'soundfile'):\n"
        "    sys.modules[m] = None\n"
        "import tempfile, pathlib\n"
        "from cairn.media import Table, Html, serialize\n"
        "t = Table(columns=['a'], data=[[1], [None]])\n"
        "serialize(t, 't', pathlib.Path(tempfile.mkdtemp()))\n"
        "serialize(Html('<p/>'), 'h', pathlib.Path(tempfile.mkdtemp()))\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "ok"


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def hide(*modules: str) -> None:
        for m in modules:
            monkeypatch.setitem(sys.modules, m, None)  # makes ``import m`` raise ImportError

    return hide


def test_image_without_pillow(without) -> None:  # type: ignore[no-untyped-def]
    without("PIL", "PIL.Image")
    with pytest.raises(ImportError, match=r"pillow.*pip install 'cairn\[media\]'"):
        Image(np.zeros((2, 2), dtype=np.uint8))


def test_audio_without_soundfile(without) -> None:  # type: ignore[no-untyped-def]
    without("soundfile")
    with pytest.raises(ImportError, match=r"soundfile.*pip install 'cairn\[media\]'"):
        Audio(np.zeros(4), sample_rate=4)


def test_dataframe_without_pandas(without) -> None:  # type: ignore[no-untyped-def]
    without("pandas")
    with pytest.raises(ImportError, match=r"pandas.*pip install 'cairn\[media\]'"):
        Table(columns=["a"], data=[[1]]).get_dataframe()
    assert Html("<p/>").html  # types with no library still work
