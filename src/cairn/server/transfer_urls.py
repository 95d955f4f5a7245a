"""URLs a client moves bytes with, without its API key: presigned by S3, or signed by us.

* Uploads: on an S3 store, a presigned PUT straight to the blob's key with ``Content-MD5``
  signed in (admitted later by the core's ``DirectTransfers.confirm``, as REST's single
  PUTs); on a folder store, ``PUT /api/v1/blobs/signed/<grant>`` served here, which verifies
  the bytes against the digest while storing them.
* Downloads: a blob stored as an object of its own on S3 is a presigned GET; a blob on a
  folder store, or inside a pack (no single object to presign), is
  ``GET /api/v1/blobs/signed/<grant>/<name>`` served here, with ``Range`` support.
* Large files (the client splits those of 2 GiB or more into parts): on S3, a multipart
  upload with a presigned PUT per part, each part's MD5 signed in; its id reaches the client
  inside a grant made out to the caller, so only they can complete it (and so come to hold
  the blob). On a folder store, one signed PUT of the whole file.
* A pending version's manifest: ``PUT /api/v1/blobs/signed/<grant>`` with a ``manifest``
  grant (always ours: the server reads it into the version's entries).

The grants are :mod:`cairn.core.signed_urls`; they last ``presign_expires`` seconds, like
presigned URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from cairn.core.access import Principal
from cairn.core.blobs.presigning import PresigningStore
from cairn.core.signed_urls import GET, MANIFEST, MULTIPART, PUT, UrlSigner
from cairn.core.transfer.direct import presigning, staging_tag
from cairn.errors import PermissionDeniedError
from cairn.manifest.digest import hex_to_b64
from cairn.server.state import ServerState

SIGNED_PATH = "/api/v1/blobs/signed"


def _store(state: ServerState) -> PresigningStore:
    return presigning(state.store, enabled=state.config.presign)


def signer(state: ServerState) -> UrlSigner:
    return UrlSigner(state.config.url_signing_key.encode())


def _signed(base_url: str, token: str, name: str | None = None) -> str:
    url = f"{base_url}{SIGNED_PATH}/{token}"
    return f"{url}/{quote(name, safe='')}" if name else url


def upload(state: ServerState, who: Principal, digest: str, base_url: str) -> tuple[str, list[str]]:
    """Where to PUT blob ``digest`` (hex MD5), and the headers to send (W&B's ``Name:Value``)."""
    md5 = hex_to_b64(digest)
    expires = state.config.presign_expires
    if state.presigned:
        put = _store(state).presign_put(digest, None, uploader=staging_tag(who), expires=expires)
        return put.url, [f"{k}:{v}" for k, v in put.headers.items()]
    token = signer(state).sign(PUT, who.name, digest, expires)
    return _signed(base_url, token), [f"Content-MD5:{md5}"]


def manifest_upload(
    state: ServerState, who: Principal, version_id: str, digest: str, base_url: str
) -> str:
    """Where to PUT the manifest (hex MD5 ``digest``) of pending version ``version_id``."""
    token = signer(state).sign(
        MANIFEST, who.name, version_id, state.config.presign_expires, md5=digest
    )
    return _signed(base_url, token)


def downloads(
    state: ServerState, who: Principal, blobs: Sequence[tuple[str, str]], base_url: str
) -> dict[str, str]:
    """A GET URL for each ``(digest, file name)``; the caller must be allowed to read them
    (the blobs of a version it may read, or its manifest)."""
    if not blobs:
        return {}
    expires = state.config.presign_expires
    own_objects: set[str] = set()
    if state.presigned:
        where = state.service.locate_blobs([d for d, _ in blobs])
        own_objects = {d for d, loc in where.items() if loc.pack_id is None}
    sign = signer(state)
    out: dict[str, str] = {}
    for digest, name in blobs:
        if digest in own_objects:
            out[digest] = _store(state).presign_get(digest, expires=expires).url
        else:
            out[digest] = _signed(base_url, sign.sign(GET, who.name, digest, expires), name)
    return out


# A multipart upload may take a day on a slow link; its part URLs last presign_expires.
MULTIPART_SECONDS = 24 * 3600


def multipart_upload(
    state: ServerState, who: Principal, digest: str, parts: Sequence[tuple[int, str]]
) -> dict[str, Any] | None:
    """W&B's ``uploadMultipartUrls`` for blob ``digest`` in ``parts`` ``(number, hex MD5)``,
    or None where the store has no multipart uploads (then one PUT of the whole)."""
    if not state.presigned:
        return None
    store, expires = _store(state), state.config.presign_expires
    upload_id = store.create_multipart(digest)
    token = signer(state).sign(MULTIPART, who.name, digest, MULTIPART_SECONDS, upload=upload_id)
    return {
        "uploadID": token,
        "uploadUrlParts": [
            {
                "partNumber": number,
                "uploadUrl": store.presign_part(
                    digest, upload_id, number, hex_to_b64(md5), expires=expires
                ).url,
            }
            for number, md5 in parts
        ],
    }


def complete_multipart(state: ServerState, who: Principal, digest: str, upload: str) -> int:
    """Assemble the caller's multipart upload of ``digest``, verify its MD5, admit the blob and
    record that the caller holds it; returns its size.

    Raises:
        PermissionDeniedError: ``upload`` is not a live upload of this blob by the caller.
        DigestMismatchError: the parts do not hash to ``digest`` (nothing is stored).
    """
    grant = signer(state).verify(upload, MULTIPART)
    if grant.account != who.name or grant.target != digest:
        raise PermissionDeniedError("this upload is not yours, or not of this blob")
    svc = state.service.bind(who)
    publish = not svc.stored_blobs([digest])  # stored already: the upload only proves possession
    size = int(
        _store(state).complete_multipart(digest, str(grant.extra["upload"]), publish=publish)
    )
    svc.record_blobs([(digest, size)])
    return size


def abort_multipart(state: ServerState, who: Principal, digest: str, upload: str) -> None:
    grant = signer(state).verify(upload, MULTIPART)
    if grant.account == who.name and grant.target == digest:
        _store(state).abort_multipart(digest, str(grant.extra["upload"]))
