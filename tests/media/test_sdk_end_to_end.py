"""Media through the real SDK: Artifact.add / artifact[name] = obj → log_artifact →
use_artifact(...).get(name) / artifact[name], on every backend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cairn as wandb
from cairn.errors import ArtifactNotLoggedError
from cairn.media import Audio, Html, Image, JoinedTable, Object3D, Table, data_types
from tests.conftest import CairnEnv, write


def test_table_with_images_round_trip(cairn_env: CairnEnv, project: str) -> None:
    img = Image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), caption="c")
    table = Table(columns=["id", "image", "score"])
    table.add_data(0, img, 0.5)
    table.add_data(1, None, None)
    art = wandb.Artifact("media-ds", type="dataset")
    entry = art.add(table, "tables/train")
    assert entry.path == "tables/train.table.json"
    art["page"] = Html("<p>hi</p>", inject=False)
    with wandb.init(project=project) as run:
        run.log_artifact(art)
    with wandb.init(project=project) as run:
        used = run.use_artifact("media-ds:latest")
        got = used.get("tables/train")
        assert got == table
        assert got.data[0][1].caption == "c"
        assert used["page"].html == "<p>hi</p>"
        assert used.get("tables/train.table.json") == table
        names = {f.name for f in used.files()}
    assert "tables/train.table.json" in names
    assert any(n.startswith("media/images/") and n.endswith(".png") for n in names)


def test_dataframe_audio_object3d_and_joined(cairn_env: CairnEnv, project: str) -> None:
    df = pd.DataFrame({"k": [1, 2], "v": [0.5, np.nan], "s": ["a", "b"], "b": [True, False]})
    mesh_path = write(cairn_env.work / "m.obj", "v 0 0 0\n")
    left = Table(dataframe=df)
    right = Table(columns=["k", "w"], data=[[1, "x"], [2, "y"]])
    art = wandb.Artifact("media-mixed", type="dataset")
    art.add(left, "left")
    art.add(JoinedTable(left, right, "k"), "joined")
    art.add(Audio(np.zeros(16), sample_rate=16), "clip")
    art.add(Object3D(str(mesh_path)), "mesh")
    with wandb.init(project=project) as run:
        run.log_artifact(art)
    got = wandb.Api().artifact(f"{project}/media-mixed:v0")
    assert got.get("left") == left
    assert got.get("joined") == JoinedTable(left, right, "k")
    assert got.get("clip") == Audio(np.zeros(16), sample_rate=16)
    assert got.get("mesh") == Object3D(str(mesh_path))
    pd.testing.assert_frame_equal(got.get("left").get_dataframe(), df, check_dtype=False)


def test_partitioned_table_from_parts(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("parts", type="dataset")
    for i in range(3):
        art.add(Table(columns=["a", "b"], data=[[i, i * 2]]), f"parts/table_{i}")
    art.add(data_types.PartitionedTable("parts"), "whole")
    with wandb.init(project=project) as run:
        run.log_artifact(art)
    got = wandb.Api().artifact(f"{project}/parts:latest").get("whole")
    assert [row for _, row in got.iterrows()] == [[0, 0], [1, 2], [2, 4]]


def test_get_on_a_draft_and_missing_names(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("drafty", type="dataset")
    art.add(Table(columns=["a"]), "t")
    with pytest.raises(ArtifactNotLoggedError):
        art.get("t")
    with wandb.init(project=project) as run:
        run.log_artifact(art)
    logged = wandb.Api().artifact(f"{project}/drafty:latest")
    with pytest.raises(KeyError, match="nope"):
        logged.get("nope")
