"""The README's first example, end to end, on every backend."""

from __future__ import annotations

import cairn as wandb
from tests.conftest import CairnEnv, write


def test_issue_example_round_trip(cairn_env: CairnEnv, project: str) -> None:
    w = cairn_env.work
    write(w / "bicycle-data.h5", b"\x00" * 1000)
    write(w / "images" / "cat.png", b"cat")
    write(w / "images" / "dog.png", b"dog")
    art = wandb.Artifact("bike-dataset", type="dataset", description="bikes", metadata={"rows": 10})
    art.add_file(str(w / "bicycle-data.h5"))
    art.add_dir(str(w / "images"), name="images")
    with art.new_file("notes.txt") as f:
        f.write("hello")
    with wandb.init(project=project, job_type="preprocess") as run:
        run.log_artifact(art, aliases=["best"])
    with wandb.init(project=project, job_type="train") as run:
        path = run.use_artifact("bike-dataset:latest").download()
    got = {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in __import__("pathlib").Path(path).rglob("*")
        if p.is_file()
    }
    assert got == {
        "bicycle-data.h5": b"\x00" * 1000,
        "images/cat.png": b"cat",
        "images/dog.png": b"dog",
        "notes.txt": b"hello",
    }
    art = wandb.Api().artifact(f"{project}/bike-dataset:v0")
    art.description = "new"
    art.metadata["k"] = 1
    art.aliases.append("prod")
    art.save()
    again = wandb.Api().artifact(f"{project}/bike-dataset:prod")
    assert again.description == "new"
    assert again.metadata == {"rows": 10, "k": 1}
    assert set(again.aliases) == {"latest", "best", "prod"}
