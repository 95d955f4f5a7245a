"""Cairn: versioning for datasets and models, with the W&B Artifacts API.

``import cairn as wandb`` runs artifact code written for W&B. With no server configured,
everything is stored locally under ``CAIRN_DIR``.
"""

from __future__ import annotations

from typing import Any

from cairn import errors
from cairn.errors import ArtifactFinalizedError, ArtifactNotLoggedError
from cairn.media import (
    Audio,
    Classes,
    Html,
    Image,
    JoinedTable,
    Object3D,
    Table,
    Video,
    data_types,
)
from cairn.sdk.api import Api
from cairn.sdk.artifact import Artifact
from cairn.sdk.diff import diff
from cairn.sdk.entry import ArtifactManifestEntry
from cairn.sdk.run import Run, finish, init, log_artifact, use_artifact
from cairn.version import __version__

__all__ = [
    "Api",
    "Artifact",
    "ArtifactFinalizedError",
    "ArtifactManifestEntry",
    "ArtifactNotLoggedError",
    "Audio",
    "Classes",
    "Html",
    "Image",
    "JoinedTable",
    "Object3D",
    "Run",
    "Table",
    "Video",
    "__version__",
    "data_types",
    "diff",
    "errors",
    "finish",
    "init",
    "log_artifact",
    "run",
    "use_artifact",
]


def __getattr__(name: str) -> Any:
    # ``cairn.run`` is the current run (or None), like ``wandb.run``: it changes over time,
    # so it is looked up on each access rather than bound at import.
    if name == "run":
        from cairn.sdk.run import current_run

        return current_run()
    raise AttributeError(f"module 'cairn' has no attribute {name!r}")
