"""References end to end through the SDK: add_reference, log, use, download — per scheme and
backend (``scheme_remote`` and ``cairn_env``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn
from cairn.errors import CairnError
from tests.conftest import CairnEnv
from tests.references.remotes import Remote


def files_under(root: str | Path) -> dict[str, bytes]:
    base = Path(root)
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def test_reference_round_trip_and_change(
    cairn_env: CairnEnv, project: str, scheme_remote: Remote
) -> None:
    r = scheme_remote
    r.put("data/train.csv", b"a,b\n1,2\n")
    expected = {"train.csv": b"a,b\n1,2\n"}
    art = cairn.Artifact("refs", type="dataset")
    (entry,) = art.add_reference(r.uri("data/train.csv"))
    assert (entry.path, entry.ref, entry.digest) == (
        "train.csv",
        r.uri("data/train.csv"),
        r.digest("data/train.csv"),
    )
    if r.lists:
        r.put("images/cat.png", b"cat")
        r.put("images/dog.png", b"dog")
        r.put("images2/not-me.png", b"no")
        art.add_reference(r.uri("images"), name="images")
        expected |= {"images/cat.png": b"cat", "images/dog.png": b"dog"}
    with cairn.init(project=project, job_type="log") as run:
        run.log_artifact(art)

    with cairn.init(project=project, job_type="use") as run:
        used = run.use_artifact("refs:latest")
        assert files_under(used.download(root=str(cairn_env.work / "first"))) == expected
        assert used.get_entry("train.csv").ref == r.uri("data/train.csv")

        r.put("data/train.csv", b"a,b\n9,9\n")  # same length, other bytes
        with pytest.raises(CairnError, match=r"train\.csv"):
            used.download(root=str(cairn_env.work / "second"))
        rest = used.download(root=str(cairn_env.work / "third"), allow_missing_references=True)
        expected.pop("train.csv")
        assert files_under(rest) == expected


def test_unchecked_reference_versions_only_with_its_uri(
    cairn_env: CairnEnv, project: str, scheme_remote: Remote
) -> None:
    r = scheme_remote
    r.put("model.h5", b"one")

    def log(uri: str) -> str:
        art = cairn.Artifact("unchecked", type="model")
        art.add_reference(uri, checksum=False)
        with cairn.init(project=project, job_type="log") as run:
            run.log_artifact(art)
        art.wait()
        assert art.version is not None
        return art.version

    assert log(r.uri("model.h5")) == "v0"
    r.put("model.h5", b"two, longer")
    assert log(r.uri("model.h5")) == "v0"  # the URI did not change, so neither did the version
    with cairn.init(project=project, job_type="use") as run:
        got = run.use_artifact("unchecked:v0").download(root=str(cairn_env.work / "d"))
    assert files_under(got) == {"model.h5": b"two, longer"}  # whatever is there now
    r.put("other.h5", b"x")
    assert log(r.uri("other.h5")) == "v1"
