"""One adapter per reference kind, so the conformance suite is written once.

A :class:`Remote` is a fresh namespace (a folder, a URL path, a key prefix in a shared bucket) on a
real server of its kind. It writes and deletes objects with the kind's own client (never through
Cairn), says what digest the store itself reports, and sets the environment the handler reads
(credentials and endpoint), as a user's machine would have it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cairn.references.file import file_uri
from tests.references.servers import AzuriteServer, HttpFiles, etag_of
from tests.seaweed import REGION, S3Server


def fresh(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Remote:
    kind: ClassVar[str]
    lists: ClassVar[bool] = True  # has prefixes that expand to many objects
    sees_same_size_change: ClassVar[bool] = True  # a change that keeps the length is caught

    def uri(self, key: str) -> str:
        raise NotImplementedError

    def put(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def digest(self, key: str) -> str:
        """The digest the store itself reports for ``key`` (what a handler must record)."""
        raise NotImplementedError

    def configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Set the variables the handler reads (credentials, endpoint)."""

    def versioned(self) -> Remote:
        """A fresh namespace where overwritten objects keep their old versions."""
        pytest.skip(f"{self.kind} has no object versions")

    def pinned_uri(self, key: str, version: str) -> str:
        """The URI of one version of ``key`` (only on a versioned remote)."""
        raise NotImplementedError

    def secret(self) -> str | None:
        """The secret the handler's SDK authenticates with, if any."""
        return None

    def break_credentials(self, monkeypatch: pytest.MonkeyPatch) -> str:
        """Make the handler authenticate with a wrong secret; returns that secret."""
        pytest.skip(f"{self.kind} checks no credentials")


class FileRemote(Remote):
    kind = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def uri(self, key: str) -> str:
        return file_uri(str(self.root / key))

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def delete(self, key: str) -> None:
        (self.root / key).unlink()

    def digest(self, key: str) -> str:
        return base64.b64encode(hashlib.md5((self.root / key).read_bytes()).digest()).decode()


class HttpRemote(Remote):
    kind = "http"
    lists = False

    def __init__(self, server: HttpFiles, etag: bool = True) -> None:
        self.server, self.etag, self.ns = server, etag, fresh()

    def uri(self, key: str) -> str:
        return f"{self.server.url}/{'etag' if self.etag else 'plain'}/{self.ns}/{key}"

    def put(self, key: str, data: bytes) -> None:
        self.server.put(f"{self.ns}/{key}", data)

    def delete(self, key: str) -> None:
        self.server.delete(f"{self.ns}/{key}")

    def digest(self, key: str) -> str:
        return etag_of(self.server.files[f"{self.ns}/{key}"]) if self.etag else self.uri(key)

    def configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")


class PlainHttpRemote(HttpRemote):
    kind = "http-no-etag"
    sees_same_size_change = False  # no validator: only a change of length shows

    def __init__(self, server: HttpFiles) -> None:
        super().__init__(server, etag=False)


class S3Remote(Remote):
    kind = "s3"

    def __init__(self, s3: S3Server, bucket: str) -> None:
        self.s3, self.bucket, self.ns = s3, bucket, fresh()
        self.client = s3.client()

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.ns}/{key}"

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=f"{self.ns}/{key}", Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=f"{self.ns}/{key}")

    def digest(self, key: str) -> str:
        head = self.client.head_object(Bucket=self.bucket, Key=f"{self.ns}/{key}")
        return str(head["ETag"]).strip('"')

    def configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in list(os.environ):
            if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
                monkeypatch.delenv(name)
        # Nothing from the developer's ~/.aws: only what the test sets.
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", self.s3.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", self.s3.secret_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("CAIRN_S3_ENDPOINT_URL", self.s3.endpoint_url)

    def versioned(self) -> Remote:
        bucket = self.s3.new_bucket()
        self.client.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        return S3Remote(self.s3, bucket)

    def pinned_uri(self, key: str, version: str) -> str:
        return f"{self.uri(key)}?versionId={version}"

    def secret(self) -> str:
        return self.s3.secret_key

    def break_credentials(self, monkeypatch: pytest.MonkeyPatch) -> str:
        bad = f"wrong-{uuid.uuid4().hex}"
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bad)
        return bad


class GCSRemote(Remote):
    kind = "gcs"

    def __init__(self, emulator: str, bucket: str) -> None:
        self.emulator, self.bucket_name, self.ns = emulator, bucket, fresh()

    def _bucket(self) -> Any:
        return gcs_client(self.emulator).bucket(self.bucket_name)

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self.ns}/{key}"

    def put(self, key: str, data: bytes) -> None:
        self._bucket().blob(f"{self.ns}/{key}").upload_from_string(data)

    def delete(self, key: str) -> None:
        self._bucket().blob(f"{self.ns}/{key}").delete()

    def digest(self, key: str) -> str:
        return str(self._bucket().get_blob(f"{self.ns}/{key}").md5_hash)

    def configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in list(os.environ):
            if name.startswith(("GOOGLE_", "CLOUDSDK_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", self.emulator)
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test")

    def versioned(self) -> Remote:
        return GCSRemote(self.emulator, new_gcs_bucket(self.emulator, versioned=True))

    def pinned_uri(self, key: str, version: str) -> str:
        return f"{self.uri(key)}#{version}"


def gcs_client(emulator: str) -> Any:
    """A client of the emulator that reads no environment (the test's own, not Cairn's)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator},
    )


def new_gcs_bucket(emulator: str, *, versioned: bool = False) -> str:
    client = gcs_client(emulator)
    bucket = client.bucket(fresh("cairn-test"))
    bucket.versioning_enabled = versioned
    client.create_bucket(bucket)
    return str(bucket.name)


class AzureRemote(Remote):
    kind = "azure"

    def __init__(self, server: AzuriteServer, container: str) -> None:
        self.server, self.container, self.ns = server, container, fresh()

    def _container(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(self.server.connection_string)
        return service.get_container_client(self.container)

    def uri(self, key: str) -> str:
        return self.server.uri(self.container, f"{self.ns}/{key}")

    def put(self, key: str, data: bytes) -> None:
        self._container().upload_blob(f"{self.ns}/{key}", data, overwrite=True)

    def delete(self, key: str) -> None:
        self._container().delete_blob(f"{self.ns}/{key}")

    def digest(self, key: str) -> str:
        props = self._container().get_blob_client(f"{self.ns}/{key}").get_blob_properties()
        return str(props.etag).strip('"')

    def configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in list(os.environ):
            if name.startswith("AZURE_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", self.server.connection_string)

    def versioned(self) -> Remote:
        pytest.skip("Azurite does not implement blob versioning")

    def secret(self) -> str:
        return self.server.key

    def break_credentials(self, monkeypatch: pytest.MonkeyPatch) -> str:
        bad = base64.b64encode(os.urandom(32)).decode()
        broken = self.server._replace(key=bad)
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", broken.connection_string)
        return bad


def new_azure_container(server: AzuriteServer) -> str:
    from azure.storage.blob import BlobServiceClient

    name = fresh("cairn")
    BlobServiceClient.from_connection_string(server.connection_string).create_container(name)
    return name
