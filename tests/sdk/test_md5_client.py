"""Every byte of a file is MD5'd once on the client: when it is added, never again (issue 14).

``hashlib.md5`` is replaced by a counting wrapper for the test's own process. On a server
backend the server is another process, so what is counted is the client's hashing alone; on
the embedded store the store runs in this process, so only adding is counted there.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import log

SMALL = [(f"small/{i}.bin", bytes([i]) * (4096 + i)) for i in range(20)]
LARGE = [("large/a.bin", b"A" * (3 << 20) + b"tail"), ("large/b.bin", bytes(range(256)) * 8192)]
FILES = SMALL + LARGE
# Other things the client hashes (the manifest's lines, version digests): tiny beside the files.
NOT_FILE_BYTES = 256 * 1024


@dataclass
class Tally:
    total: int = 0
    finished: Counter[str] = field(default_factory=Counter)  # hex digest -> bytes hashed into it
    times: Counter[str] = field(default_factory=Counter)  # hex digest -> objects finishing on it
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def md5_tally(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tally]:
    real = hashlib.md5
    tally = Tally()

    class Counting:
        name = "md5"
        digest_size = 16
        block_size = 64

        def __init__(self, data: Any = b"", **kwargs: Any) -> None:
            self._h = real(**kwargs)
            self._n = 0
            self._done = False
            if data:
                self.update(data)

        def update(self, data: Any) -> None:
            n = memoryview(data).nbytes
            with tally.lock:
                tally.total += n
            self._n += n
            self._h.update(data)

        def _finish(self) -> None:
            if not self._done:
                self._done = True
                h = self._h.hexdigest()
                with tally.lock:
                    tally.finished[h] += self._n
                    tally.times[h] += 1

        def digest(self) -> bytes:
            self._finish()
            return self._h.digest()

        def hexdigest(self) -> str:
            self._finish()
            return self._h.hexdigest()

        def copy(self) -> Any:
            raise NotImplementedError

    monkeypatch.setattr(hashlib, "md5", Counting)
    yield tally


def _write_files(env: CairnEnv) -> dict[str, str]:
    for rel, data in FILES:
        write(env.work / "d" / rel, data)
    # independent of the patched hashlib: computed before it is patched, by the fixture order
    return {rel: hashlib.new("md5", data).hexdigest() for rel, data in FILES}


def _check_once(tally: Tally, digests: dict[str, str]) -> None:
    sizes = {digests[rel]: len(data) for rel, data in FILES}
    for h, size in sizes.items():
        assert tally.times[h] == 1, f"blob {h} was hashed {tally.times[h]} times"
        assert tally.finished[h] == size
    assert tally.total <= sum(sizes.values()) + NOT_FILE_BYTES


def test_adding_hashes_every_byte_once(cairn_env: CairnEnv, md5_tally: Tally) -> None:
    digests = _write_files(cairn_env)
    md5_tally.total = 0
    md5_tally.finished.clear()
    md5_tally.times.clear()
    art = wandb.Artifact("d", type="dataset")
    art.add_dir(str(cairn_env.work / "d"))
    _check_once(md5_tally, digests)


@pytest.mark.parametrize("cairn_env", ["server-sqlite", "server-postgres-s3"], indirect=True)
def test_logging_hashes_nothing_again_on_the_client(
    cairn_env: CairnEnv, project: str, md5_tally: Tally
) -> None:
    digests = _write_files(cairn_env)
    md5_tally.total = 0
    md5_tally.finished.clear()
    md5_tally.times.clear()
    art = wandb.Artifact("d", type="dataset")
    art.add_dir(str(cairn_env.work / "d"))
    logged = log(project, art)
    _check_once(md5_tally, digests)
    # and what the server stored is those bytes
    out = logged.download(root=str(cairn_env.work / "out"))
    for rel, data in FILES:
        assert (cairn_env.work / "out" / rel).read_bytes() == data, out
