"""URLs a client moves bytes with, without its API key: presigned by S3, or signed by us.

* Uploads: on an S3 store, a presigned PUT to the caller's staging key with ``Content-MD5``
  signed in (admitted later by :func:`cairn.server.multipart.confirm`, as REST's single
  PUTs); on a folder store, ``PUT /api/v1/blobs/signed/<grant>`` served here, which verifies
  the bytes against the digest while storing them.
* Downloads: a blob stored as an object of its own on S3 is a presigned GET; a blob on a
  folder store, or inside a pack (no single object to presign), is
  ``GET /api/v1/blobs/signed/<grant>/<name>`` served here, with ``Range`` support.
* A pending version's manifest: ``PUT /api/v1/blobs/signed/<grant>`` with a ``manifest``
  grant (always ours: the server reads it into the version's entries).

The grants are :mod:`cairn.core.signed_urls`; they last ``presign_expires`` seconds, like
presigned URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from cairn.core.access import Principal
from cairn.core.signed_urls import GET, MANIFEST, PUT, UrlSigner
from cairn.manifest.digest import hex_to_b64
from cairn.server import multipart
from cairn.server.state import ServerState

SIGNED_PATH = "/api/v1/blobs/signed"


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
        put = state.s3.presign_staged_put(digest, multipart.staging_tag(who), None, expires=expires)
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
            out[digest] = state.s3.presign_get(digest, expires=expires).url
        else:
            out[digest] = _signed(base_url, sign.sign(GET, who.name, digest, expires), name)
    return out
