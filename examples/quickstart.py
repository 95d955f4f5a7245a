"""Cairn quickstart: version a small dataset on the embedded store, then use it.

Run it with ``python examples/quickstart.py``. Nothing needs configuring: the store lives under
``CAIRN_DIR`` (default: your user data folder) and the cache under ``CAIRN_CACHE_DIR``.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import cairn as wandb  # the W&B Artifacts API, on Cairn's own store


def make_dataset(root: Path, seed: int, rows: int) -> None:
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    with open(root / "labels.csv", "w") as f:
        f.write("id,label\n")
        for i in range(rows):
            f.write(f"{i},{rng.choice(['bike', 'car', 'bus'])}\n")
    for i in range(5):
        (root / "images" / f"img{i}.bin").write_bytes(rng.randbytes(4096))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cairn-quickstart-"))
    data = work / "data"
    make_dataset(data, seed=1, rows=100)

    # 1. Log a dataset: the first version is v0.
    with wandb.init(project="quickstart", job_type="preprocess") as run:
        art = wandb.Artifact(
            "bike-dataset", type="dataset", description="Bikes and friends", metadata={"rows": 100}
        )
        art.add_file(str(data / "labels.csv"))
        art.add_dir(str(data / "images"), name="images")
        run.log_artifact(art, aliases=["baseline"])
    print(
        f"logged   {art.qualified_name}  digest={art.digest}  "
        f"files={art.file_count}  aliases={art.aliases}"
    )

    # 2. Logging the same content again makes no new version.
    with wandb.init(project="quickstart", job_type="preprocess") as run:
        same = wandb.Artifact("bike-dataset", type="dataset")
        same.add_file(str(data / "labels.csv"))
        same.add_dir(str(data / "images"), name="images")
        run.log_artifact(same)
    print(f"relogged {same.qualified_name}  (unchanged content, same version)")

    # 3. Change the data: the next log is a new version, and `latest` moves to it.
    make_dataset(data, seed=2, rows=120)
    with wandb.init(project="quickstart", job_type="preprocess") as run:
        art2 = wandb.Artifact("bike-dataset", type="dataset", metadata={"rows": 120})
        art2.add_file(str(data / "labels.csv"))
        art2.add_dir(str(data / "images"), name="images")
        run.log_artifact(art2)
    print(f"logged   {art2.qualified_name}  aliases={art2.aliases}")

    # 4. A training run uses the latest version: download, then verify every byte.
    with wandb.init(project="quickstart", job_type="train") as run:
        used = run.use_artifact("bike-dataset:latest")
        path = used.download(root=str(work / "download"))
        used.verify(path)
    print(f"used     {used.name} -> {path} (verified)")

    # 5. Query the store from anywhere: versions, aliases, lineage.
    api = wandb.Api()
    for version in api.artifacts("dataset", "quickstart/bike-dataset"):
        producer = version.logged_by()
        origin = f"{producer.job_type} run {producer.id}" if producer else "unknown run"
        print(f"  {version.name:<18} aliases={version.aliases!s:<24} logged by {origin}")
    baseline = api.artifact("quickstart/bike-dataset:baseline")
    latest = api.artifact("quickstart/bike-dataset:latest")
    print(
        f"baseline is {baseline.version}; latest is {latest.version}, used by "
        f"{[r.job_type for r in latest.used_by()]} runs"
    )


if __name__ == "__main__":
    main()
