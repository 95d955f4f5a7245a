"""Cairn: versioning for datasets and models, with the W&B Artifacts API.

``import cairn as wandb`` runs artifact code written for W&B. With no server configured,
everything is stored locally under ``CAIRN_DIR``.
"""

from __future__ import annotations

import logging as _logging
from typing import Any

from cairn import config as _settings_module  # loaded here, so the name is taken back below
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
from cairn.sdk.artifact_ttl import ArtifactTTL
from cairn.sdk.diff import diff
from cairn.sdk.entry import ArtifactManifestEntry
from cairn.sdk.init import init
from cairn.sdk.run import Run, finish, log, log_artifact, use_artifact
from cairn.version import __version__

# ``cairn.config`` is the current run's config, as ``wandb.config`` is; the settings module of
# that name stays importable (``from cairn.config import Settings``) through sys.modules, but
# ``import cairn.config as x`` would get the run's config.
del globals()["config"], _settings_module

# The `cairn` logger is the application's to configure; a library only adds a NullHandler.
# At debug level it tells which blobs were skipped (already stored), packed or sent.
_logging.getLogger("cairn").addHandler(_logging.NullHandler())

__all__ = [
    "Api",
    "Artifact",
    "ArtifactFinalizedError",
    "ArtifactManifestEntry",
    "ArtifactNotLoggedError",
    "ArtifactTTL",
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
    "config",
    "data_types",
    "diff",
    "errors",
    "finish",
    "init",
    "log",
    "log_artifact",
    "run",
    "summary",
    "use_artifact",
]


def __getattr__(name: str) -> Any:
    # ``cairn.run`` is the current run (or None), like ``wandb.run``; ``cairn.config`` and
    # ``cairn.summary`` are its config and summary. They change over time, so they are looked
    # up on each access rather than bound at import.
    if name in ("run", "config", "summary"):
        from cairn.sdk.run import current_run, pre_init

        run = current_run()
        if name == "run":
            return run
        return getattr(run, name) if run is not None else pre_init(name)
    raise AttributeError(f"module 'cairn' has no attribute {name!r}")
