"""The checksum memo answers for exactly the paths asked about, however it reads its rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.cache.memo import ChecksumMemo


@pytest.mark.parametrize("count", [3, 1500])  # a few: asked by name; many: a folder's key range
def test_lookup_answers_for_the_paths_asked_and_only_unchanged_ones(
    tmp_path: Path, count: int
) -> None:
    memo = ChecksumMemo(tmp_path / "memo.db")
    asked, other = tmp_path / "data" / "sub", tmp_path / "data" / "sub2"  # same prefix, not inside
    for folder in (asked, other):
        folder.mkdir(parents=True)
        for i in range(count):
            (folder / f"{i}.txt").write_text(str(i))
            os.utime(folder / f"{i}.txt", (1e9, 1e9))
    rows = [(str(p), os.stat(p), f"{p.name}-digest") for p in [*asked.iterdir(), *other.iterdir()]]
    memo.remember(rows)
    (asked / "0.txt").write_text("changed")
    wanted = [str(asked / f"{i}.txt") for i in range(count)]
    stats = {p: os.stat(p) for p in wanted}
    expected = {p: f"{Path(p).name}-digest" for p in wanted[1:]}
    assert memo.lookup(stats) == expected
    assert {p: d for p, (d, _) in memo.lookup_snapshots(stats).items()} == expected
    memo.close()
