"""Cairn on its embedded store (SQLite + a blob folder in CAIRN_DIR), in the client process.

The downloads use a second cache folder that starts empty (``download_cold``), as a colleague's
machine would; ``download_warm`` then reads the same cache into a new folder (ordinary writable
copies, the default) and ``download_warm_link`` into another with ``CAIRN_LINK_MODE=hardlink``
(read-only links to the cache objects). Blobs added are
the rows of the store's ``blobs`` table (the manifest is a blob too, so a log adds one more
than the files it uploads).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from benchmarks.targets.base import Target

PROJECT = "bench"
PAGE = 1000


class CairnEmbedded(Target):
    name = "cairn-embedded"

    def available(self) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec("cairn") else "cairn is not installed"

    def env(self, op: str) -> dict[str, str]:
        assert self.state is not None
        env = super().env(op)
        reading = op.startswith("download") or op in ("verify", "files_page")
        env.update(
            CAIRN_DIR=str(self.state / "store"),
            CAIRN_CACHE_DIR=str(self.state / ("cache-reader" if reading else "cache")),
            CAIRN_CONFIG=str(self.state / "no-config.toml"),
            CAIRN_PROJECT=PROJECT,
            CAIRN_LINK_MODE="hardlink" if op == "download_warm_link" else "copy",
        )
        return env

    def supports(self, workload: Any, op: str) -> str | None:
        return None

    def count_blobs(self) -> int | None:
        """Rows of the store's ``blobs`` table: small blobs live in packs, so files in the
        store would undercount them."""
        import sqlite3

        assert self.state is not None
        db = self.state / "store" / "cairn.db"
        if not db.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM blobs").fetchone()[0])


# -- the worker side (also used by the server targets: only the environment differs) -----------


def prepare(spec: dict[str, Any]) -> None:
    """Import before the clock starts, as the peers' workers do: ``cairn`` imports its
    backends (SQLAlchemy, httpx: about 0.5 s) only when the first run or API call opens one."""
    import cairn
    import cairn.backend.http
    import cairn.backend.local  # noqa: F401


def _artifact(spec: dict[str, Any]) -> Any:
    import cairn

    return cairn.Api().artifact(f"{PROJECT}/{spec['name']}:latest")


def log(spec: dict[str, Any]) -> dict[str, Any]:
    import time

    import cairn

    t0 = time.perf_counter()
    art = cairn.Artifact(spec["name"], type="dataset")
    art.add_dir(spec["data"])
    added = time.perf_counter()
    with cairn.init(project=PROJECT, job_type="bench") as run:
        run.log_artifact(art)
    art.wait()
    # The split, for the JSON: hashing and snapshotting the folder, then upload and commit.
    return {
        "version": art.version,
        "files": art.file_count,
        "add_s": round(added - t0, 3),
        "commit_s": round(time.perf_counter() - added, 3),
    }


def download(spec: dict[str, Any]) -> dict[str, Any]:
    art = _artifact(spec)
    art.download(root=spec["dest"])
    return {"version": art.version}


def verify(spec: dict[str, Any]) -> dict[str, Any]:
    _artifact(spec).verify(root=spec["state"] + "/dl-cold")
    return {}


def files_page(spec: dict[str, Any]) -> dict[str, Any]:
    """Time and memory to get the first page of ``files()`` of a huge version."""
    import time

    import psutil

    art = _artifact(spec)
    rss0 = psutil.Process(os.getpid()).memory_info().rss
    t0 = time.perf_counter()
    page = next(iter(art.files(per_page=PAGE).pages()))
    seconds = time.perf_counter() - t0
    rss1 = psutil.Process(os.getpid()).memory_info().rss
    return {
        "seconds": seconds,
        "entries": len(page),
        "rss_growth": rss1 - rss0,
        # White-box, and only informative: whether the whole manifest came into memory.
        "manifest_loaded": getattr(art, "_manifest", None) is not None,
    }


OPS = {
    "log": log,
    "relog": log,
    "log_incr": log,
    "download_cold": download,
    "download_warm": download,
    "download_warm_link": download,
    "verify": verify,
    "files_page": files_page,
}
