"""A stand-in for an artifact that speaks the media contract (serialize → files; read/list).

It copies each staged file into its own store, as the SDK's ``add_file`` does, and removes the
staging folder at once, so a test fails if anything is read from staging after ``serialize``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cairn import media


class FakeArtifact:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Path] = {}
        self.reads: list[str] = []
        root.mkdir(parents=True, exist_ok=True)

    def add(self, obj: object, name: str) -> list[tuple[str, Path]]:
        staging = Path(tempfile.mkdtemp(dir=self.root))
        try:
            pairs = media.serialize(obj, name, staging)
            for path, local in pairs:
                dest = self.root / "store" / path
                dest.parent.mkdir(parents=True, exist_ok=True)
                if path in self.files:
                    # Same path, same content: payloads are named by their bytes.
                    assert dest.read_bytes() == local.read_bytes(), path
                shutil.copyfile(local, dest)
                self.files[path] = dest
        finally:
            shutil.rmtree(staging)
        return pairs

    def read(self, path: str) -> Path | None:
        self.reads.append(path)
        return self.files.get(path)

    def list_paths(self, prefix: str) -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix.rstrip("/") + "/"))

    def get(self, name: str) -> Any:
        return media.deserialize(name, self.read, self.list_paths)

    def json(self, path: str) -> Any:
        return json.loads(self.files[path].read_text(encoding="utf-8"))


def round_trip(obj: object, tmp_path: Path, name: str = "obj") -> Any:
    art = FakeArtifact(tmp_path / "fake")
    art.add(obj, name)
    return art.get(name)
