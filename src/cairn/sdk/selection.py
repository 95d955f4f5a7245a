"""Downloading part of a version: the files whose paths match glob patterns (``cairn get``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from cairn.sdk.artifact import Artifact


def select(paths: Sequence[str], include: Sequence[str], exclude: Sequence[str]) -> list[str]:
    """The paths matching any ``include`` pattern (all, if none) and no ``exclude`` pattern.

    Patterns are :mod:`fnmatch` globs over the whole entry path, so ``*`` crosses ``/``
    (``*.csv`` matches ``train/a.csv``), as in ``wandb artifact get`` and ``hf download``.
    """
    return [
        p
        for p in paths
        if (not include or any(fnmatch.fnmatchcase(p, g) for g in include))
        and not any(fnmatch.fnmatchcase(p, g) for g in exclude)
    ]


def download_selected(
    artifact: Artifact,
    root: str | Path | None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> tuple[str, int]:
    """Download the matching files of a logged version; returns (root, how many files)."""
    paths = select(sorted(artifact.manifest.entries), include, exclude)
    target = Path(root).absolute() if root is not None else artifact._default_root()
    artifact._download_entries(paths, root=target, skip_cache=None)
    return str(target), len(paths)
