from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.fake import FakeArtifact


@pytest.fixture
def fake(tmp_path: Path) -> FakeArtifact:
    return FakeArtifact(tmp_path / "fake")
