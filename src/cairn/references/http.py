"""``http://`` and ``https://`` references: one file served over HTTP, through the stdlib.

Recorded, as W&B does: the ``ETag`` with its surrounding quotes stripped as digest, the ``ETag``
exactly as sent as ``extra["etag"]``, and
``Content-Length`` as size; a server that sends no ETag gets the URI as digest (so only the
size, when it is known, can show a change). Loading fetches the URL again and refuses bytes
whose ETag or length is not the recorded one.

There is no listing over HTTP, so a URL is always one entry and ``max_objects`` does not apply.
Proxies come from the usual ``http_proxy``/``https_proxy``/``no_proxy`` variables. The URL is
written into the manifest, so ``user:password@`` in it is refused rather than saved.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.message import Message
from http.client import HTTPException, HTTPResponse
from urllib.parse import unquote, urlparse

from cairn.cache.memo import ChecksumMemo
from cairn.errors import (
    DigestMismatchError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
)
from cairn.manifest import ManifestEntry
from cairn.references.entries import display_uri, single_name

CHUNK = 1 << 20
DEFAULT_TIMEOUT = 60.0  # seconds without a byte before a request fails
USER_AGENT = "cairn-references"


def _etag(headers: Message) -> str | None:
    """The ETag exactly as sent (quotes and any ``W/`` kept), or None."""
    return headers.get("ETag") or None


def _etag_digest(etag: str) -> str:
    # W&B's rule, so the same URL gets the same entry and version digest in both systems:
    # leading/trailing quotes stripped, anything else (a weak validator's W/) kept.
    return etag.strip('"')


def _length(headers: Message) -> int | None:
    raw = headers.get("Content-Length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class HttpHandler:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    @classmethod
    def create(cls, memo: ChecksumMemo, env: Mapping[str, str]) -> HttpHandler:
        return cls()

    def store(
        self, uri: str, name: str | None, *, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """One entry for the URL: its ETag and length, or just the URI with ``checksum=False``.

        Raises:
            ValidationError: the URL carries credentials, or no name can be inferred.
            NotFoundError: the server answers 404 or 410.
            PermissionDeniedError: the server answers 401 or 403.
            StorageError: the server cannot be reached or fails.
        """
        _refuse_credentials(uri)
        entry_name = single_name(uri, name, unquote(urlparse(uri).path))
        if not checksum:
            return [ManifestEntry(path=entry_name, digest=uri, ref=uri)]
        what = f"reference {display_uri(uri)!r}"
        with self.errors(what), self._open(uri) as response:
            etag, size = _etag(response.headers), _length(response.headers)
        extra = {"etag": etag} if etag else {}
        digest = _etag_digest(etag) if etag else uri
        return [ManifestEntry(path=entry_name, digest=digest, size=size, ref=uri, extra=extra)]

    def load(self, entry: ManifestEntry, dest: str) -> None:
        """Fetch the URL into ``dest`` if its ETag and length are still the recorded ones.

        Raises:
            DigestMismatchError: the ETag or the length differs from the recorded one.
            NotFoundError, PermissionDeniedError, StorageError: as for :meth:`store`.
        """
        if entry.ref is None:
            raise ValidationError(f"entry {entry.path!r} is not a reference")
        _refuse_credentials(entry.ref)
        what = f"entry {entry.path!r} ({display_uri(entry.ref)})"
        checked = entry.digest != entry.ref  # recorded with an ETag
        written = 0
        with open(dest, "wb") as out, self.errors(what), self._open(entry.ref) as response:
            etag = _etag(response.headers)
            if checked and (etag is None or _etag_digest(etag) != entry.digest):
                raise DigestMismatchError(f"{what}: the resource changed since it was logged")
            while chunk := response.read(CHUNK):
                out.write(chunk)
                written += len(chunk)
        if entry.size is not None and written != entry.size:
            raise DigestMismatchError(f"{what}: got {written} bytes, {entry.size} were recorded")

    def _open(self, uri: str) -> HTTPResponse:
        request = urllib.request.Request(uri, headers={"User-Agent": USER_AGENT})
        response: HTTPResponse = urllib.request.urlopen(request, timeout=self.timeout)
        return response

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate urllib and socket exceptions raised in the block (the one place)."""
        try:
            yield
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410):
                raise NotFoundError(f"{what}: the server answered {exc.code}") from None
            if exc.code in (401, 403):
                raise PermissionDeniedError(f"{what}: the server answered {exc.code}") from None
            raise StorageError(f"{what}: the server answered {exc.code}") from None
        except urllib.error.URLError as exc:
            raise StorageError(f"{what}: cannot reach the server ({exc.reason})") from None
        except (HTTPException, TimeoutError, ConnectionError) as exc:
            raise StorageError(f"{what}: the transfer failed ({type(exc).__name__})") from None


def _refuse_credentials(uri: str) -> None:
    parsed = urlparse(uri)
    if parsed.username is not None or parsed.password is not None:
        raise ValidationError(
            f"reference {display_uri(uri)!r} carries credentials (user:password@); they would be "
            "saved in the manifest, so they are refused"
        )
