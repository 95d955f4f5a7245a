"""References to entries of other artifacts resolve to the concrete blob and never chain."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn as wandb
from cairn.errors import ArtifactNotLoggedError
from tests.conftest import CairnEnv, write


def _log(project: str, name: str, files: dict[str, bytes], work: Path) -> wandb.Artifact:
    art = wandb.Artifact(name, type="dataset")
    for path, data in files.items():
        art.add_file(str(write(work / name / path, data)), name=path)
    with wandb.init(project=project) as run:
        run.log_artifact(art)
    return art


def test_entry_reference_round_trips_and_keeps_its_birth(cairn_env: CairnEnv, project: str) -> None:
    base = _log(project, "base", {"weights.bin": b"w" * 1000}, cairn_env.work)
    source = base.get_entry("weights.bin")
    derived = wandb.Artifact("derived", type="model")
    (entry,) = derived.add_reference(source)
    assert entry.path == "weights.bin"
    assert entry.digest == source.digest
    assert entry.birth_artifact_id == base.id
    with wandb.init(project=project) as run:
        run.log_artifact(derived)
    got = wandb.Api().artifact(f"{project}/derived:latest")
    assert got.get_entry("weights.bin").birth_artifact_id == base.id
    root = got.download()
    assert Path(root, "weights.bin").read_bytes() == b"w" * 1000


def test_uri_form_and_chains_resolve_to_the_first_blob(cairn_env: CairnEnv, project: str) -> None:
    base = _log(project, "origin", {"a/data.csv": b"1,2\n"}, cairn_env.work)
    middle = wandb.Artifact("middle", type="dataset")
    middle.add_reference(base.get_entry("a/data.csv"), name="copy.csv")
    with wandb.init(project=project) as run:
        run.log_artifact(middle)
    uri = middle.get_entry("copy.csv").ref_url()
    assert uri.startswith("cairn-artifact://")
    last = wandb.Artifact("last", type="dataset")
    (entry,) = last.add_reference(uri, name="final.csv")
    assert entry.ref is None  # a stored blob, not a reference to a reference
    assert entry.birth_artifact_id == base.id
    with wandb.init(project=project) as run:
        run.log_artifact(last)
    assert Path(last.get_entry("final.csv").download()).read_bytes() == b"1,2\n"


def test_entry_of_a_draft_cannot_be_referenced(cairn_env: CairnEnv) -> None:
    draft = wandb.Artifact("draft", type="dataset")
    draft.add_file(str(write(cairn_env.work / "x.txt", "x")))
    other = wandb.Artifact("other", type="dataset")
    with pytest.raises(ArtifactNotLoggedError):
        other.add_reference(draft.get_entry("x.txt"))
