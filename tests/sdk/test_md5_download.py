"""A cold download hashes every byte once on the client: as it streams into the cache, never
read back to be checked (issue 14).

``hashlib.md5`` is replaced by a counting wrapper for the download only; each hash object
remembers how many bytes it was fed and the digest it ended with, so the bytes hashed can be
attributed to the blobs they were for. An audit hook records every file opened for reading
meanwhile: nothing in the cache's ``tmp/`` (where fetched bytes land) may be read.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

import cairn as wandb
from tests.conftest import CairnEnv
from tests.sdk.helpers import log, tree

BIG = 3 * 1024 * 1024 + 17  # over the 1 MiB pack threshold: a stored object of its own
SMALL = 4096


class CountingMd5:
    made: ClassVar[list[CountingMd5]] = []

    def __init__(self, data: bytes = b"", **kwargs: Any) -> None:
        self._h = _real_md5(**kwargs)
        self.fed = 0
        self.final: str | None = None
        CountingMd5.made.append(self)
        if data:
            self.update(data)

    def update(self, data: Any) -> None:
        self.fed += memoryview(data).nbytes
        self._h.update(data)

    def hexdigest(self) -> str:
        self.final = self._h.hexdigest()
        return self.final

    def digest(self) -> bytes:
        self.final = self._h.hexdigest()
        return bytes(self._h.digest())


_real_md5 = hashlib.md5
READS: list[str] | None = None  # while a list, paths opened for reading are appended


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or READS is None:
        return
    path, mode, flags = args
    if isinstance(path, int):
        return
    reading = (
        ("r" in mode and "+" not in mode)
        if isinstance(mode, str)
        else (flags & os.O_ACCMODE) == os.O_RDONLY
    )
    if reading:
        READS.append(os.fsdecode(path))


sys.addaudithook(_audit)  # hooks cannot be removed: it does nothing unless READS is a list


@pytest.mark.parametrize("mode", ["copy", "hardlink"])
def test_cold_download_hashes_each_byte_once(
    cairn_env: CairnEnv, project: str, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    files = {
        "big.bin": secrets.token_bytes(BIG),
        "big-copy.bin": None,  # the same blob again: fetched and hashed once
        **{f"small/{i}.bin": secrets.token_bytes(SMALL) for i in range(5)},
    }
    files["big-copy.bin"] = files["big.bin"]
    src = cairn_env.work / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data or b"")
    art = wandb.Artifact("counted", type="dataset")
    art.add_dir(str(src))
    log(project, art)

    from cairn.sdk import context

    monkeypatch.setenv("CAIRN_CACHE_DIR", str(cairn_env.work / "cold-cache"))
    monkeypatch.setenv("CAIRN_LINK_MODE", mode)
    context.reset()
    got = wandb.Api().artifact(f"{project}/counted:v0")
    got.files()  # the manifest is fetched before counting starts

    blobs = {hashlib.md5(d).hexdigest(): len(d) for d in files.values() if d is not None}
    global READS
    CountingMd5.made = []
    READS = []
    monkeypatch.setattr(hashlib, "md5", CountingMd5)
    try:
        root = got.download(root=str(cairn_env.work / "out"))
    finally:
        monkeypatch.setattr(hashlib, "md5", _real_md5)
        reads, READS = READS, None

    assert tree(Path(root)) == files
    hashed = {h: sum(c.fed for c in CountingMd5.made if c.final == h) for h in blobs}
    assert hashed == blobs, "each blob's bytes hashed exactly once"
    assert sum(c.fed for c in CountingMd5.made) == sum(blobs.values()), "nothing else hashed"
    tmp = str(cairn_env.work / "cold-cache" / "tmp")
    assert [p for p in reads if p.startswith(tmp)] == [], "fetched bytes were read back"
