"""Digest and manifest formats are exactly the W&B ones (computed here independently)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, log, version_digest

EMPTY_FILE = "1B2M2Y8AsgTpgAmY7PhCfg=="
EMPTY_ARTIFACT = "64e7c61456b10382e2f3b571ac24b659"


def test_independent_helpers_match_known_vectors() -> None:
    # Guards the helpers themselves: the vectors come from behaviour-notes.md.
    assert b64md5(b"") == EMPTY_FILE
    assert version_digest({}) == EMPTY_ARTIFACT


def test_empty_file_entry_digest(tmp_path: Path) -> None:
    art = wandb.Artifact("e", type="dataset")
    entry = art.add_file(str(write(tmp_path / "empty.bin", b"")))
    assert entry.digest == EMPTY_FILE
    assert entry.size == 0
    assert art.manifest.to_json()["contents"]["empty.bin"]["digest"] == EMPTY_FILE


def test_empty_artifact_digest() -> None:
    assert wandb.Artifact("e", type="dataset").digest == EMPTY_ARTIFACT


def test_known_entry_digest(tmp_path: Path) -> None:
    art = wandb.Artifact("e", type="dataset")
    entry = art.add_file(str(write(tmp_path / "h.txt", b"hello")))
    assert entry.digest == "XUFAKrxLKna5cZ2REBfFkg=="  # base64(md5("hello"))
    assert entry.size == 5


def test_version_digest_formula(tmp_path: Path) -> None:
    files = {"b.txt": b"bee", "a/z.bin": bytes(range(256)), "A.txt": b"upper", "a.txt": b""}
    art = wandb.Artifact("d", type="dataset")
    for path, data in files.items():
        art.add_file(str(write(tmp_path / "src" / path, data)), name=path)
    assert art.digest == version_digest(files)
    assert art.size == sum(len(v) for v in files.values())
    assert len(art.manifest) == 4  # file_count needs a logged version, as in W&B


def test_logged_digest_matches_formula(cairn_env: CairnEnv, project: str) -> None:
    files = {"x/1.txt": b"one", "x/2.txt": b"two", "y": b"why"}
    art = wandb.Artifact("d", type="dataset")
    for path, data in files.items():
        art.add_file(str(write(cairn_env.work / path, data)), name=path)
    logged = log(project, art)
    fetched = wandb.Api().artifact(f"{project}/d:v0")
    assert logged.digest == fetched.digest == version_digest(files)


def test_empty_artifact_can_be_logged(cairn_env: CairnEnv, project: str) -> None:
    logged = log(project, wandb.Artifact("empty", type="dataset"))
    assert logged.version == "v0"
    assert logged.digest == EMPTY_ARTIFACT
    assert logged.file_count == 0
    assert logged.size == 0


def test_manifest_json_shape(tmp_path: Path) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(tmp_path / "a.txt", b"abc")), name="dir/a.txt")
    art.add_file(str(write(tmp_path / "b.txt", b"")))
    data = art.manifest.to_json()
    assert data["version"] == 1
    assert data["storagePolicy"] == "wandb-storage-policy-v1"
    assert data["storagePolicyConfig"] == {"storageLayout": "V2"}
    assert set(data["contents"]) == {"dir/a.txt", "b.txt"}
    a = data["contents"]["dir/a.txt"]
    assert a["digest"] == b64md5(b"abc")
    assert a["size"] == 3
    assert "ref" not in a
    assert data["contents"]["b.txt"]["digest"] == EMPTY_FILE
    assert data["contents"]["b.txt"]["size"] == 0


def test_logged_manifest_json_shape(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"abc")))
    logged = log(project, art)
    data = wandb.Api().artifact(f"{project}/d:v0").manifest.to_json()
    assert data["version"] == 1
    assert data["storagePolicy"] == "wandb-storage-policy-v1"
    assert data["storagePolicyConfig"] == {"storageLayout": "V2"}
    entry = data["contents"]["a.txt"]
    assert entry["digest"] == b64md5(b"abc")
    assert entry["size"] == 3
    assert entry["birthArtifactID"] == logged.id


_paths = st.text(alphabet="abcXY_-.0", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)
_contents = st.dictionaries(
    st.lists(_paths, min_size=1, max_size=3).map("/".join),
    st.binary(max_size=64),
    min_size=0,
    max_size=8,
).filter(
    # no path may be a folder of another (a file and a folder cannot share a name)
    lambda d: not any(p != q and q.startswith(p + "/") for p in d for q in d)
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Metadata integers are whatever a 64-bit column holds (wider ones are refused on input).
@given(contents=_contents, seed=st.integers(0, 2**16), meta=st.integers(-(2**63), 2**63 - 1))
def test_digest_depends_only_on_paths_and_digests(
    contents: dict[str, bytes], seed: int, meta: int
) -> None:
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        # The same logical content from differently named local files, added in two orders,
        # with different descriptions, metadata and policies.
        for i, data in enumerate(contents.values()):
            write(base / "one" / f"f{i}", data)
            write(base / "two" / f"g{i}.bin", data)
        items = list(enumerate(contents))
        first = wandb.Artifact("p", type="dataset", metadata={"m": meta})
        for i, path in items:
            first.add_file(str(base / "one" / f"f{i}"), name=path, policy="immutable")
        random.Random(seed).shuffle(items)
        second = wandb.Artifact("q", type="model", description="other")
        for i, path in items:
            second.add_file(str(base / "two" / f"g{i}.bin"), name=path)
        assert first.digest == second.digest == version_digest(contents)
        if contents:
            # ... and changing any one byte of content changes it
            path = next(iter(contents))
            third = wandb.Artifact("p", type="dataset")
            changed = dict(contents)
            changed[path] = contents[path] + b"!"
            for i, (p, data) in enumerate(changed.items()):
                third.add_file(str(write(base / "three" / f"h{i}", data)), name=p)
            assert third.digest != first.digest
            assert third.digest == version_digest(changed)
