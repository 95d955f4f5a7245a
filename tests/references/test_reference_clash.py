"""An object store can hold keys ``d/a`` and ``d/a/b`` at once; no artifact can (a path is a
file or a folder), so referencing such a prefix fails at the add, naming both, and adds
nothing (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn
from cairn import errors
from tests.references.conftest import make_remote


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_a_prefix_holding_a_file_and_a_folder_of_one_name_is_refused(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = make_remote(kind, request, tmp_path)
    r.configure(monkeypatch)
    r.put("d/a", b"a file")
    r.put("d/a/b", b"inside a folder of the same name")
    art = cairn.Artifact("refs", type="dataset")
    with pytest.raises(errors.FileFolderConflictError, match=r"'a'.*'a/b'"):
        art.add_reference(r.uri("d"))
    assert art.manifest.entries == {}
