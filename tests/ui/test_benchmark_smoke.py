"""``python -m benchmarks.ui_pages`` still runs, at a tiny scale (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from benchmarks import ui_pages

from tests.ui.conftest import CHROMIUM


def test_the_page_benchmark_renders_every_page(tmp_path: Path) -> None:
    out = tmp_path / "ui.json"
    assert (
        ui_pages.main(["--versions", "30", "--files", "2500", "--repeat", "1", "--out", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    assert report["versions"] == 30 and report["files"] == 2500
    assert len(report["pages"]) == 8
    assert all(p["bytes"] > 0 and p["median_ms"] > 0 for p in report["pages"].values())


def test_the_page_benchmark_times_first_paint_in_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: apt-get install -y --no-install-recommends chromium")
    out = tmp_path / "ui.json"
    argv = ["--versions", "30", "--files", "2500", "--repeat", "1", "--browser", "--out", str(out)]
    assert ui_pages.main(argv) == 0
    pages = json.loads(out.read_text())["pages"]
    assert all(p["first_paint_ms"] > 0 for p in pages.values())
