"""The registry (which handler for which URI, install hints), URI rules that need no server, and
the tracking handler for schemes Cairn cannot read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import cairn
from cairn.cache.memo import ChecksumMemo
from cairn.errors import CairnError, NotImplementedFeatureError, ValidationError
from cairn.references import handler_for, kind_of
from cairn.references.entries import DEFAULT_MAX_OBJECTS, dir_prefix, display_uri
from tests.conftest import CairnEnv


@pytest.fixture
def memo(tmp_path: Path) -> ChecksumMemo:
    return ChecksumMemo(tmp_path / "memo.sqlite")


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("file:///data/x", "file"),
        ("http://example.com/x.bin", "http"),
        ("https://example.com/x.bin", "http"),
        ("HTTPS://Acct.Blob.Core.Windows.Net/c/x", "azure"),
        ("https://acct.blob.core.windows.net/c/x", "azure"),
        ("https://blob.core.windows.net.example.com/c/x", "http"),  # the suffix is the host's
        ("s3://bucket/key", "s3"),
        ("gs://bucket/key", "gs"),
        ("ftp://host/x", "tracking"),
        ("azure://whatever/x", "tracking"),
        ("tracking://x", "tracking"),
    ],
)
def test_kind_of(uri: str, kind: str) -> None:
    assert kind_of(uri) == kind


@pytest.mark.parametrize(
    ("uri", "module", "extra"),
    [
        ("s3://b/k", "boto3", "s3"),
        ("gs://b/k", "google.cloud.storage", "gcs"),
        ("https://acct.blob.core.windows.net/c/k", "azure.storage.blob", "azure"),
    ],
)
def test_missing_client_library_names_the_extra(
    uri: str, module: str, extra: str, memo: ChecksumMemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an uninstalled package looks like
    with pytest.raises(ImportError, match=rf"pip install 'cairn\[{extra}\]'"):
        handler_for(uri, memo)


def test_prefix_and_display_rules() -> None:
    assert DEFAULT_MAX_OBJECTS == 10_000_000
    assert [dir_prefix(k) for k in ("", "/", "images", "images/", "a/b//")] == [
        "",
        "",
        "images/",
        "images/",
        "a/b/",
    ]
    assert display_uri("https://u:hunter2@h/p/x?sig=abc#f") == "https://h/p/x"


def test_http_url_with_credentials_is_refused_without_echoing_them(memo: ChecksumMemo) -> None:
    uri = "http://alice:hunter2-secret@127.0.0.1:9/file.bin"
    for checksum in (True, False):
        with pytest.raises(ValidationError) as info:
            handler_for(uri, memo).store(uri, None, checksum=checksum, max_objects=None)
        assert "hunter2-secret" not in str(info.value)


def test_azure_sas_in_the_uri_is_refused_without_echoing_it(memo: ChecksumMemo) -> None:
    pytest.importorskip("azure.storage.blob")
    uri = "https://acct.blob.core.windows.net/c/k.bin?sv=2024&sig=TOPSECRETSIG"
    with pytest.raises(ValidationError, match="AZURE_STORAGE_SAS_TOKEN") as info:
        handler_for(uri, memo).store(uri, None, checksum=True, max_objects=None)
    assert "TOPSECRETSIG" not in str(info.value)


@pytest.mark.parametrize(
    ("uri", "name", "path"),
    [
        ("ftp://host/data/x.bin", "x.bin", "x.bin"),
        ("ftp://host/data/x.bin", "raw/x.bin", "raw/x.bin"),
        ("hdfs://namenode/warehouse/table/", "./table/", "table"),
        ("custom://thing", "thing", "thing"),
    ],
)
def test_tracking_records_the_uri(uri: str, name: str, path: str, memo: ChecksumMemo) -> None:
    (entry,) = handler_for(uri, memo).store(uri, name, checksum=True, max_objects=1)
    assert (entry.path, entry.digest, entry.ref, entry.size) == (path, uri, uri, None)


@pytest.mark.parametrize("uri", ["ftp://host/data/x.bin", "custom://thing"])
def test_tracking_without_a_name_is_refused(uri: str, memo: ChecksumMemo) -> None:
    with pytest.raises(ValueError, match="name="):
        handler_for(uri, memo).store(uri, None, checksum=True, max_objects=1)


def test_tracking_entry_is_not_downloadable(memo: ChecksumMemo, tmp_path: Path) -> None:
    (entry,) = handler_for("ftp://h/x.bin", memo).store(
        "ftp://h/x.bin", "x.bin", checksum=True, max_objects=None
    )
    with pytest.raises(NotImplementedFeatureError, match=r"'x\.bin'.*tracked, not downloadable"):
        handler_for("ftp://h/x.bin", memo).load(entry, str(tmp_path / "x"))


def test_tracked_reference_through_the_sdk(cairn_env: CairnEnv, project: str) -> None:
    art = cairn.Artifact("tracked", type="dataset")
    art.add_reference("ftp://archive.example/data/x.bin", name="x.bin")
    with cairn.init(project=project, job_type="log") as run:
        run.log_artifact(art)
    with cairn.init(project=project, job_type="use") as run:
        used = run.use_artifact("tracked:latest")
        entry = used.get_entry("x.bin")
        assert (entry.digest, entry.size) == ("ftp://archive.example/data/x.bin", None)
        with pytest.raises(CairnError, match=r"x\.bin"):
            used.download(root=str(cairn_env.work / "a"))
        root = Path(used.download(root=str(cairn_env.work / "b"), allow_missing_references=True))
        assert not (root / "x.bin").exists()
