"""The public surface of ``cairn`` is exactly this list: a change to it is a decision."""

from __future__ import annotations

import types

import cairn

EXPORTED = [
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


def test_all_is_pinned() -> None:
    assert sorted(cairn.__all__) == sorted(EXPORTED)


def test_every_exported_name_resolves() -> None:
    for name in cairn.__all__:
        getattr(cairn, name)  # raises AttributeError for a name that is listed but missing


def test_config_is_the_run_config_not_the_settings_module() -> None:
    # ``cairn.config`` must be W&B's ``wandb.config`` even though a submodule has that name.
    assert not isinstance(cairn.config, types.ModuleType)
