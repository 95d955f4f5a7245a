"""Each byte logged into the embedded store is MD5'd once in the whole process (issue 14).

The embedded store has one side: the bytes the client hashed when they were added are trusted
once this process has written them, so a log adds no hashing of its own. ``hashlib.md5`` is
replaced by a wrapper that keeps what every hash object was fed; a pass over a file is an
occurrence of the file's (random, so unmistakable) bytes in one object's input. Hashing in
chunks does not split an occurrence: one object's input is the concatenation of its updates.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cairn as wandb

_real_md5 = hashlib.md5


class _Fed:
    """Every MD5 object made while counting, and the bytes each was fed."""

    def __init__(self) -> None:
        self.inputs: list[bytearray] = []

    def passes_over(self, data: bytes) -> int:
        return sum(bytes(fed).count(data) for fed in self.inputs)


def _counting_md5(fed: _Fed) -> Any:
    class CountingMd5:
        def __init__(self, data: bytes = b"", **kwargs: Any) -> None:
            self._h = _real_md5(data, **kwargs)
            self._fed = bytearray(data)
            fed.inputs.append(self._fed)

        def update(self, data: Any) -> None:
            self._h.update(data)
            self._fed += bytes(data)

        def digest(self) -> bytes:
            return self._h.digest()

        def hexdigest(self) -> str:
            return self._h.hexdigest()

        def copy(self) -> Any:
            twin = CountingMd5()  # counts only what it is fed from now on: no byte twice
            twin._h = self._h.copy()
            return twin

        name = "md5"
        digest_size = 16
        block_size = 64

    return CountingMd5


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Fed]:
    counted = _Fed()
    monkeypatch.setattr(hashlib, "md5", _counting_md5(counted))
    yield counted


SMALL = 4096  # packed: under the pack threshold
LARGE = 3 << 20  # an object of its own: over it


def _file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def test_a_logged_file_is_hashed_once_at_add_and_never_again_at_log(
    tmp_path: Path, fed: _Fed
) -> None:
    small = _file(tmp_path / "small.bin", SMALL)
    large = _file(tmp_path / "large.bin", LARGE)
    art = wandb.Artifact("md5-passes", type="dataset")
    art.add_file(str(tmp_path / "small.bin"))
    art.add_file(str(tmp_path / "large.bin"))
    at_add = (fed.passes_over(small), fed.passes_over(large))
    with wandb.init(project="md5-passes") as run:
        run.log_artifact(art).wait()
    # Control: the counter sees hashing at all (add_file hashes each file).
    assert at_add[0] >= 1 and at_add[1] >= 1
    assert (fed.passes_over(small), fed.passes_over(large)) == at_add, (
        "logging into the embedded store hashed a file's bytes again"
    )
    # The version is readable and whole after all (the bytes went where they belong).
    got = wandb.Api().artifact("md5-passes/md5-passes:latest").download(str(tmp_path / "out"))
    assert (Path(got) / "small.bin").read_bytes() == small
    assert (Path(got) / "large.bin").read_bytes() == large


def test_each_byte_is_hashed_exactly_once_in_the_whole_log(tmp_path: Path, fed: _Fed) -> None:
    small = _file(tmp_path / "small.bin", SMALL)
    large = _file(tmp_path / "large.bin", LARGE)
    art = wandb.Artifact("md5-once", type="dataset")
    art.add_file(str(tmp_path / "small.bin"))
    art.add_file(str(tmp_path / "large.bin"))
    with wandb.init(project="md5-once") as run:
        run.log_artifact(art).wait()
    assert fed.passes_over(small) == 1
    assert fed.passes_over(large) == 1
