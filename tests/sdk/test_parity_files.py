"""W&B parity of entry names, manifests, download paths and HTTP references (issue #15)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import MANIFEST_HEADER, b64md5, log, tree, version_digest


def test_add_dir_keeps_colons_in_names(cairn_env: CairnEnv, project: str) -> None:
    write(cairn_env.work / "d" / "2024-01-01T12:00:00.json", b"{}")
    write(cairn_env.work / "d" / "logs" / "a:b.txt", b"ab")
    art = wandb.Artifact("d", type="dataset")
    art.add_dir(str(cairn_env.work / "d"))
    logged = log(project, art)
    fetched = wandb.Api().artifact(logged.qualified_name)
    files = {"2024-01-01T12:00:00.json": b"{}", "logs/a:b.txt": b"ab"}
    assert fetched.digest == version_digest(files)
    assert tree(fetched.download(root=str(cairn_env.work / "out"))) == files


@pytest.mark.parametrize("name", ["C:", "C:/x.txt", "a:b", "z:dir/file"])
def test_drive_like_names_are_refused(cairn_env: CairnEnv, name: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(ValueError):
        art.add_file(str(write(cairn_env.work / "f.txt", b"f")), name=name)
    assert art.manifest.to_json()["contents"] == {}


@pytest.mark.parametrize(
    ("given", "stored"), [("./a//b/", "a/b"), ("a/./b", "a/b"), ("x//y.txt", "x/y.txt")]
)
def test_redundant_separators_are_normalised(
    cairn_env: CairnEnv, project: str, given: str, stored: str
) -> None:
    art = wandb.Artifact("d", type="dataset")
    entry = art.add_file(str(write(cairn_env.work / "f.txt", b"f")), name=given)
    assert entry.path == stored
    logged = log(project, art)
    assert logged.get_entry(given).path == stored
    assert logged.digest == version_digest({stored: b"f"})


def test_manifest_to_manifest_json(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "f.txt", b"f")))
    doc = log(project, art).manifest.to_manifest_json()
    assert doc["version"] == 1
    assert doc["storagePolicy"] == "wandb-storage-policy-v1"
    assert doc["contents"]["f.txt"]["digest"] == b64md5(b"f")
    assert doc["contents"]["f.txt"]["size"] == 1


def _logged(env: CairnEnv, project: str, data: bytes, path: str = "f.txt") -> wandb.Artifact:
    art = wandb.Artifact("coll", type="dataset")
    art.add_file(str(write(env.work / "src" / data.hex()[:16] / "f", data)), name=path)
    return log(project, art)


def test_download_and_file_return_absolute_paths(cairn_env: CairnEnv, project: str) -> None:
    art = _logged(cairn_env, project, b"one")
    root = art.download()
    assert os.path.isabs(root)
    assert root == os.path.abspath(os.path.join("artifacts", "coll:v0"))
    relative = art.download(root="rel")
    assert relative == os.path.abspath("rel")
    single = art.file(root="single")
    assert os.path.isabs(single) and Path(single).read_bytes() == b"one"
    assert os.path.isabs(art.get_entry("f.txt").download(root="entry"))


def test_checkout_defaults_to_one_working_copy_per_collection(
    cairn_env: CairnEnv, project: str
) -> None:
    v0 = _logged(cairn_env, project, b"zero", path="old.txt")
    v1 = _logged(cairn_env, project, b"one", path="new.txt")
    first = v0.checkout()
    second = v1.checkout()
    assert first == second == os.path.abspath(os.path.join("artifacts", "coll"))
    assert tree(second) == {"new.txt": b"one"}


# -- HTTP references ---------------------------------------------------------------------------
ETAGS = {"strong": '"abc123"', "weak": 'W/"abc123"'}


@contextlib.contextmanager
def _etag_server() -> Iterator[str]:
    """Serves ``/<kind>`` with the ETag of that kind, exactly as written in ETAGS."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            etag = ETAGS.get(self.path.lstrip("/"))
            if etag is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(b"body")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize("kind", sorted(ETAGS))
def test_http_reference_keeps_the_etag_as_w_and_b_does(
    cairn_env: CairnEnv, project: str, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    raw = ETAGS[kind]
    # W&B: the digest strips only the surrounding quotes; extra.etag keeps the header as sent.
    digest = raw.strip('"')
    with _etag_server() as url:
        art = wandb.Artifact("web", type="dataset")
        (entry,) = art.add_reference(f"{url}/{kind}", name="page.bin")
        assert (entry.digest, entry.extra, entry.size) == (digest, {"etag": raw}, 4)
        logged = log(project, art)
        expected = hashlib.md5(f"{MANIFEST_HEADER}page.bin:{digest}\n".encode()).hexdigest()
        assert logged.digest == expected
        root = Path(logged.download(root=str(cairn_env.work / "out")))
        assert (root / "page.bin").read_bytes() == b"body"
