"""Azure Blob Storage references: ``https://<account>.blob.core.windows.net/<container>/<key>``.

Recorded per blob: the ETag (quotes stripped) as digest, the size, and ``extra["versionID"]``
when the storage account keeps blob versions (W&B's shape). ``...?versionId=V`` records that
version. Loading asks for the recorded version when there is one, and sends ``If-Match: <etag>``
so a changed blob is refused by the service itself.

Credentials, first that applies, from the usual Azure variables; none is kept by Cairn, and
none may ride in the URI (it is written into the manifest, so a SAS query is refused):

1. ``AZURE_STORAGE_CONNECTION_STRING`` whose ``AccountName`` is the URI's account. Its
   ``BlobEndpoint``, when present, is where requests go: this is how the tests (and anyone with
   a private endpoint or an emulator) point real-shaped URIs at Azurite, e.g.
   ``AccountName=acct;AccountKey=…;BlobEndpoint=http://127.0.0.1:10000/acct`` sends
   ``https://acct.blob.core.windows.net/c/k`` to ``http://127.0.0.1:10000/acct/c/k``.
2. ``AZURE_STORAGE_KEY`` (with ``AZURE_STORAGE_ACCOUNT`` naming the account).
3. ``AZURE_STORAGE_SAS_TOKEN`` (with ``AZURE_STORAGE_ACCOUNT`` naming the account, or unset).
4. ``DefaultAzureCredential`` when azure-identity is installed (managed identity, ``az login``…).
5. Anonymous access (public containers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qsl, urlparse

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobServiceClient

from cairn.cache.memo import ChecksumMemo
from cairn.errors import (
    DigestMismatchError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
)
from cairn.references import AZURE_BLOB_HOST_SUFFIX
from cairn.references.entries import env_fingerprint
from cairn.references.objectstore import (
    Location,
    ObjectChanged,
    ObjectMissing,
    ObjectStoreHandler,
    StoredObject,
)

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
ACCOUNT_ENV = "AZURE_STORAGE_ACCOUNT"
KEY_ENV = "AZURE_STORAGE_KEY"
SAS_ENV = "AZURE_STORAGE_SAS_TOKEN"
LIST_PAGE_SIZE = 1000


def _connection_string_fields(conn: str) -> dict[str, str]:
    out = {}
    for part in conn.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


@dataclass(frozen=True)
class AzureOptions:
    """The Azure variables, read once; ``repr`` and ``==`` never show the secrets."""

    env_key: str
    env: Mapping[str, str] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AzureOptions:
        picked = {k: v for k, v in env.items() if k.startswith("AZURE_")}
        return cls(env_fingerprint(picked, ("AZURE_",)), picked)


def _service_for(options: AzureOptions, account: str) -> Any:
    env = options.env
    conn = env.get(CONNECTION_STRING_ENV)
    if conn and _connection_string_fields(conn).get("accountname") == account:
        try:
            return BlobServiceClient.from_connection_string(conn)
        except ValueError:  # its text may quote the string, key and all
            raise ValidationError(
                f"{CONNECTION_STRING_ENV} is not a valid connection string"
            ) from None
    url = f"https://{account}{AZURE_BLOB_HOST_SUFFIX}"
    named = env.get(ACCOUNT_ENV)
    if env.get(KEY_ENV) and named == account:
        return BlobServiceClient(url, {"account_name": account, "account_key": env[KEY_ENV]})
    if env.get(SAS_ENV) and named in (None, "", account):
        return BlobServiceClient(url, env[SAS_ENV])
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return BlobServiceClient(url)  # anonymous: public containers only
    return BlobServiceClient(url, DefaultAzureCredential())


_services: dict[tuple[str, str], Any] = {}
_services_lock = threading.Lock()


def _service(options: AzureOptions, account: str) -> Any:
    # Kept per environment and account: download asks for a handler per referenced entry.
    key = (options.env_key, account)
    with _services_lock:
        if key not in _services:
            if len(_services) >= 16:
                _services.clear()
            _services[key] = _service_for(options, account)
        return _services[key]


def _code(exc: HttpResponseError) -> str:
    # azure-storage-blob sets ``error_code`` on the exceptions it raises; azure-core does not
    # declare it.
    return str(getattr(exc, "error_code", None) or "")


def _etag(raw: str) -> str:
    return raw.strip('"')


def _is_folder(props: Any) -> bool:
    # Accounts with a hierarchical namespace list directories as empty marker blobs.
    return bool(props.name.endswith("/") or (props.metadata or {}).get("hdi_isfolder") == "true")


def _object(props: Any) -> StoredObject:
    extra = {"versionID": props.version_id} if props.version_id else {}
    return StoredObject(props.name, _etag(props.etag), int(props.size), extra)


class AzureHandler(ObjectStoreHandler):
    scheme = "https"
    product = "Azure Blob Storage"

    def __init__(self, options: AzureOptions) -> None:
        self.options = options

    @classmethod
    def create(cls, memo: ChecksumMemo, env: Mapping[str, str]) -> AzureHandler:
        return cls(AzureOptions.from_env(env))

    def parse(self, uri: str) -> Location:
        parsed = urlparse(uri)
        host = (parsed.hostname or "").lower()
        if parsed.scheme.lower() != "https" or not host.endswith(AZURE_BLOB_HOST_SUFFIX):
            raise ValidationError(
                f"{parsed.scheme}://{host}{parsed.path} is not an Azure Blob URL "
                f"(https://<account>{AZURE_BLOB_HOST_SUFFIX}/<container>/<path>)"
            )
        where = f"https://{host}{parsed.path}"
        if parsed.username or parsed.password:
            raise ValidationError(f"azure reference {where}: credentials do not go in the URI")
        query = {k.lower(): v for k, v in parse_qsl(parsed.query, keep_blank_values=True)}
        if set(query) - {"versionid"}:
            raise ValidationError(
                f"azure reference {where}: the only query parameter understood is versionId; "
                f"a SAS token goes in {SAS_ENV}, never in the URI (it is saved in the manifest)"
            )
        container, _, key = parsed.path.lstrip("/").partition("/")
        if not container:
            raise ValidationError(f"azure reference {where} names no container")
        account = host[: -len(AZURE_BLOB_HOST_SUFFIX)]
        return Location(container, key, query.get("versionid") or None, account)

    def uri_of(self, loc: Location, key: str) -> str:
        return f"https://{loc.account}{AZURE_BLOB_HOST_SUFFIX}/{loc.bucket}/{key}"

    def _container(self, loc: Location) -> Any:
        return _service(self.options, loc.account).get_container_client(loc.bucket)

    def head(self, loc: Location) -> StoredObject | None:
        blob = self._container(loc).get_blob_client(loc.key)
        try:
            props = blob.get_blob_properties(version_id=loc.version)
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                raise
            return None  # not a blob: the caller reads the key as a prefix
        return None if _is_folder(props) else _object(props)

    def list_prefix(self, loc: Location, prefix: str) -> Iterator[StoredObject]:
        blobs = self._container(loc).list_blobs(
            name_starts_with=prefix, include=["metadata"], results_per_page=LIST_PAGE_SIZE
        )
        for props in blobs:
            if not _is_folder(props):
                yield _object(props)

    def fetch(self, loc: Location, digest: str | None, out: IO[bytes]) -> None:
        blob = self._container(loc).get_blob_client(loc.key)
        kwargs: dict[str, Any] = {"version_id": loc.version}
        if digest is not None:
            kwargs.update(etag=f'"{digest}"', match_condition=MatchConditions.IfNotModified)
        try:
            stream = blob.download_blob(**kwargs)
        except ResourceModifiedError:
            # If-Match fails the same way on a deleted blob (Azurite says 412, not 404).
            if self.head(loc) is None:
                raise ObjectMissing from None
            raise ObjectChanged from None
        except ResourceNotFoundError:
            raise ObjectMissing from None
        if digest is not None and _etag(stream.properties.etag) != digest:
            raise ObjectChanged  # an endpoint that ignored If-Match
        for chunk in stream.chunks():
            out.write(chunk)

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate azure-core exceptions raised in the block (the one place this is done).

        Messages carry the service's error code and HTTP status, never its text (which can
        quote the request) or the credentials.
        """
        try:
            yield
        except ResourceNotFoundError as exc:
            raise NotFoundError(
                f"{what}: Azure has no such container, blob or version ({_code(exc)})"
            ) from None
        except ResourceModifiedError:
            raise DigestMismatchError(
                f"{what}: the referenced blob changed since it was logged"
            ) from None
        except ClientAuthenticationError as exc:
            raise PermissionDeniedError(
                f"{what}: Azure refused the credentials ({_code(exc)}); see "
                f"{CONNECTION_STRING_ENV}, {KEY_ENV}, {SAS_ENV} or az login"
            ) from None
        except HttpResponseError as exc:
            if exc.status_code in (401, 403):
                raise PermissionDeniedError(
                    f"{what}: Azure refused access ({_code(exc)}, HTTP {exc.status_code})"
                ) from None
            raise StorageError(
                f"{what}: Azure error {_code(exc)} (HTTP {exc.status_code})"
            ) from None
        except AzureError as exc:
            raise StorageError(f"{what}: cannot reach Azure ({type(exc).__name__})") from None
