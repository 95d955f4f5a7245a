"""The workloads, made by the shared generator ``shared/bench/make_data.py`` (never re-made here).

``make_data.py`` owns the bytes of W1 (many small), W2 (large) and W3 (W1 with files changed and
added). It is imported, not copied: a scaled run (``--scale``) only lowers its module constants
(file counts and sizes) before calling its ``make_w1/make_w2/make_w3``, so the data stays the
generator's, just less of it. W4 (a manifest of 1,000,000 tiny files) is not in the generator; it
is made here, deterministically, as the smallest thing that gives a huge manifest.

Layout under ``--data`` (default /tmp/cairn-bench)::

    data/scale-1/w1/ w2/ w3/ w4/     one folder per scale, reused by later runs
    data/scale-1/w1.done …           marker: the workload is complete (written last)
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MAKE_DATA = REPO.parent / "shared" / "bench" / "make_data.py"
ALL = ("w1", "w2", "w3", "w4")
W4_FILES = 1_000_000
W4_DIRS = 1000
SEED = 42


@dataclass(frozen=True)
class Workload:
    """A folder of files to version, and what a benchmark needs to know about it."""

    name: str
    path: Path
    files: int
    bytes: int
    scale: float
    base: Path | None = None  # W3: the W1 folder it was derived from
    changed: tuple[str, ...] = ()  # W3: relative paths modified or added relative to W1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "files": self.files,
            "bytes": self.bytes,
            "scale": self.scale,
            "changed": len(self.changed),
        }


def make_data_path() -> Path:
    return Path(os.environ.get("CAIRN_BENCH_MAKE_DATA", DEFAULT_MAKE_DATA))


def load_make_data(path: Path | None = None) -> ModuleType:
    """Import the shared generator as a module (it is a script, not a package)."""
    path = path or make_data_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"workload generator not found at {path}; set CAIRN_BENCH_MAKE_DATA to make_data.py"
        )
    spec = importlib.util.spec_from_file_location("cairn_bench_make_data", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _scaled(n: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(n * scale))


@contextlib.contextmanager
def _scaled_generator(md: ModuleType, scale: float) -> Iterator[ModuleType]:
    """Lower the generator's constants for a scaled run, and put them back afterwards."""
    names = ("N_SMALL", "N_DIRS", "LARGE_SIZE", "N_MOD", "N_ADD")
    saved = {n: getattr(md, n) for n in names}
    try:
        if scale != 1:
            md.N_SMALL = _scaled(saved["N_SMALL"], scale, 10)
            md.N_DIRS = min(saved["N_DIRS"], max(1, md.N_SMALL // 20))
            md.LARGE_SIZE = _scaled(saved["LARGE_SIZE"], scale, 64 * 1024)
            # Keep the W3 change small next to W1, as at full scale (40 of 20,000).
            md.N_MOD = min(saved["N_MOD"], max(1, md.N_SMALL // 100))
            md.N_ADD = min(saved["N_ADD"], max(1, md.N_SMALL // 100))
        yield md
    finally:
        for n, v in saved.items():
            setattr(md, n, v)


def _tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            files += 1
            size += os.stat(os.path.join(dirpath, n)).st_size
    return files, size


def _diff(base: Path, new: Path) -> tuple[str, ...]:
    """Relative paths under ``new`` that are absent from ``base`` or differ from it."""
    out = []
    for dirpath, _dirs, names in os.walk(new):
        for n in names:
            full = Path(dirpath) / n
            rel = full.relative_to(new).as_posix()
            old = base / rel
            if not old.is_file() or old.read_bytes() != full.read_bytes():
                out.append(rel)
    return tuple(sorted(out))


def _make_w4(root: Path, n: int) -> None:
    """``n`` tiny distinct files (their index as text) in up to 1000 folders."""
    dirs = min(W4_DIRS, max(1, n // 100))
    for d in range(dirs):
        (root / f"d{d:04d}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        with open(root / f"d{i % dirs:04d}" / f"e{i:07d}.txt", "wb") as f:
            f.write(b"%d\n" % i)


def scale_tag(scale: float) -> str:
    return "scale-" + (f"{scale:g}".replace(".", "_"))


def prepare(names: list[str], data_root: Path, scale: float, *, log: Any = print) -> list[Workload]:
    """Make (or reuse) the workloads ``names`` at ``scale`` under ``data_root``."""
    root = data_root / "data" / scale_tag(scale)
    root.mkdir(parents=True, exist_ok=True)
    md = load_make_data()
    want = set(names)
    if "w3" in want:
        want.add("w1")  # W3 is derived from W1, and its incremental log starts from W1
    out: dict[str, Workload] = {}
    with _scaled_generator(md, scale):
        for name in ALL:
            if name not in want:
                continue
            path = root / name
            done = root / f"{name}.done"
            if not done.is_file():
                log(f"making {name} at scale {scale:g} in {path} …")
                if path.exists():
                    shutil.rmtree(path)
                if name == "w1":
                    md.make_w1(str(path), SEED)
                elif name == "w2":
                    md.make_w2(str(path), SEED)
                elif name == "w3":
                    md.make_w3(str(root / "w1"), str(path), SEED)
                else:
                    _make_w4(path, _scaled(W4_FILES, scale, 100))
                files, size = _tree_size(path)
                meta: dict[str, Any] = {"files": files, "bytes": size}
                if name == "w3":
                    meta["changed"] = list(_diff(root / "w1", path))
                done.write_text(json.dumps(meta))
            meta = json.loads(done.read_text())
            out[name] = Workload(
                name=name,
                path=path,
                files=meta["files"],
                bytes=meta["bytes"],
                scale=scale,
                base=root / "w1" if name == "w3" else None,
                changed=tuple(meta.get("changed", ())),
            )
    return [out[n] for n in ALL if n in names]


def copy_tree(src: Path, dest: Path) -> None:
    """A plain copy (fresh inodes and mtimes), as a user's own working copy would be."""
    shutil.copytree(src, dest, dirs_exist_ok=True)


def apply_changes(w3: Workload, dest: Path) -> None:
    """Turn a working copy of W1 into W3 in place: only the changed and added files are written."""
    for rel in w3.changed:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(w3.path / rel, target)
