"""The team backend: the Backend protocol over HTTP to a Cairn server.

Every request, to the server or to a presigned store URL, goes through :meth:`HttpBackend._send`:
the one place where httpx exceptions and error bodies become :mod:`cairn.errors`, so SDK code
sees the same exceptions it would see from the embedded store.

Transfers (DESIGN.md, "Commit protocol"): ``missing_blobs`` asks in batches of up to
:data:`DIGEST_BATCH` digests; uploads and downloads run in a thread pool over one pooled
``httpx.Client``. If the server's store can presign (S3), bytes go straight to the store — one
signed PUT per blob, or a resumable multipart upload for large ones — otherwise they stream
through the server (``PUT/GET /api/v1/blobs/{digest}``) without being held in memory.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx

from cairn.backend import packing, redaction
from cairn.backend.base import BlobDownload, BlobUpload, Progress
from cairn.backend.packing import ChunkReader
from cairn.backend.retrying import RETRY_STATUSES, RetryableAnswer, RetryPolicy, retry_after
from cairn.config import Settings
from cairn.errors import (
    AuthenticationError,
    BlobNotFoundError,
    CairnError,
    ConflictError,
    DigestMismatchError,
    NotFoundError,
    NotImplementedFeatureError,
    PermissionDeniedError,
    ServerError,
    StorageError,
    ValidationError,
    error_for_code,
    make_error,
)
from cairn.faults import fault_point
from cairn.manifest import Manifest
from cairn.manifest.hashcopy import write_verified
from cairn.manifest.packstream import MEDIA_TYPE as PACK_TYPE
from cairn.manifest.packstream import read_header
from cairn.records import (
    CollectionRecord,
    DiffEntry,
    DiffSummary,
    HistoryEvent,
    LineageRecord,
    RegistryRecord,
    RunRecord,
    RunUpdate,
    StorageReport,
    TypeRecord,
    VersionRecord,
    VersionSpec,
    VersionUpdate,
)
from cairn.version import __version__

T = TypeVar("T")
CHUNK = 1 << 20
DIGEST_BATCH = 10_000
PACKS_IN_FLIGHT = 4
MANIFEST_DIGEST_HEADER = "X-Cairn-Manifest-Digest"
REQUEST_ID_HEADER = "X-Request-Id"
# A commit carries a fresh key; the server answers a repeat with the version it already made.
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Methods whose repetition cannot change the outcome (RFC 9110, 9.2.2); other requests say so.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_XML_FIELD = re.compile(r"<(Code|Message)>([^<]*)</\1>")
TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=600.0, pool=600.0)

# When an error body carries a code this client does not know, its HTTP status decides.
_BY_STATUS: dict[int, type[CairnError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    501: NotImplementedFeatureError,
}


def _seg(value: str) -> str:
    """One URL path segment; '.' and '..' are escaped so no client normalises them away."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def _error_from(response: httpx.Response, *, direct: bool) -> CairnError:
    """The exception an error response stands for; a server's request id is in its message
    and details, so a user's report can be found in the server's log."""
    error = _error_for(response, direct=direct)
    request_id = response.headers.get(REQUEST_ID_HEADER)
    if request_id and not direct:
        error.message = f"{error.message} (request id {request_id})"
        error.details = {**error.details, "request_id": request_id}
    return error


def _error_for(response: httpx.Response, *, direct: bool) -> CairnError:
    status = response.status_code
    if direct:
        # A presigned store URL answers in the store's own (XML) dialect: its code and message
        # are kept, the markup is not.
        code, said = _store_error(response.text)
        if code in ("BadDigest", "InvalidDigest"):
            return DigestMismatchError(
                f"the bytes sent do not hash to the digest they were added with (did the file "
                f"change after it was added?); the store refused them: {said}",
                details={"code": code},
            )
        if status == 404:
            return BlobNotFoundError(
                f"the blob store has no such object ({said})", details={"code": code}
            )
        return StorageError(f"the blob store answered {status} ({said})", details={"code": code})
    try:
        body = response.json()
        err = body["error"]
        code, message = str(err["code"]), str(err["message"])
        details = err.get("details") or {}
    except (ValueError, KeyError, TypeError):
        cls = _BY_STATUS.get(status, ServerError if status >= 500 else CairnError)
        return make_error(cls.code, f"server answered {status}: {response.text[:500]}")
    if error_for_code(code) is CairnError:
        cls = _BY_STATUS.get(status, ServerError if status >= 500 else CairnError)
        return make_error(cls.code, message, {**details, "code": code})
    return make_error(code, message, details)


def _store_error(text: str) -> tuple[str, str]:
    """An S3-style XML error body as (code, a plain sentence)."""
    fields = dict(_XML_FIELD.findall(text[:4000]))
    code = fields.get("Code", "")
    message = fields.get("Message", "").strip()
    if code or message:
        return code, f"{code}: {message}" if code and message else code or message
    plain = " ".join(re.sub(r"<[^>]*>", " ", text[:500]).split())
    return "", plain or "no details"


def _run_all(fn: Callable[[T], None], items: Sequence[T], workers: int) -> None:
    """``fn`` over ``items`` in a pool; the first failure cancels what has not started."""
    if not items:
        return
    if len(items) == 1 or workers <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        _, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()  # type: ignore[misc]


def _file_range(path: str, offset: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise StorageError(f"{path} shrank while it was being uploaded")
            left -= len(chunk)
            yield chunk


def _check_size(b: BlobUpload, size: int) -> None:
    """A file whose size changed since it was hashed cannot hash to its digest any more."""
    if size != b.size:
        raise DigestMismatchError(
            f"{b.path} is {size} bytes now, {b.size} when it was added, so its bytes no longer "
            f"hash to {b.digest}; add it again",
            details={"expected": b.digest, "path": b.path},
        )


def _md5_b64(path: str, offset: int, length: int) -> str:
    h = hashlib.md5()
    for chunk in _file_range(path, offset, length):
        h.update(chunk)
    return base64.b64encode(h.digest()).decode()


class HttpBackend:
    """The SDK's backend for a Cairn server at ``settings.base_url``."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.base_url:
            raise ValidationError("the HTTP backend needs a server URL (CAIRN_BASE_URL)")
        self.base_url = settings.base_url.rstrip("/")
        self.workers = max(1, settings.transfer_workers)
        limits = httpx.Limits(
            max_connections=self.workers + 4, max_keepalive_connections=self.workers + 4
        )
        headers = {"User-Agent": f"cairn/{__version__}"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        # Loading the CA bundle costs ~0.1 s, a tenth of an unchanged re-log. A plain-HTTP
        # server reached without a proxy never needs it: this client talks only to its base
        # URL and follows no redirect. Anything else (https, any case; a proxy) verifies.
        plain = httpx.URL(self.base_url).scheme == "http" and not any(
            os.environ.get(k) for k in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
        )
        self._retry = RetryPolicy.from_settings(settings)
        redaction.install()
        self._api = httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            headers=headers,
            timeout=TIMEOUT,
            transport=transport or httpx.HTTPTransport(retries=2, limits=limits, verify=not plain),
        )
        self._limits = limits
        self._direct_client: httpx.Client | None = None
        self._direct_lock = threading.Lock()
        self._info: dict[str, Any] | None = None
        self._entity: str | None = None

    def _direct(self) -> httpx.Client:
        """The client for presigned store URLs, made on first use (many versions never need
        it). They carry their own signature and must never see the API key, and they go to
        the store, never through the ``transport`` tests use to reach an in-process app."""
        with self._direct_lock:
            if self._direct_client is None:
                self._direct_client = httpx.Client(
                    timeout=TIMEOUT, transport=httpx.HTTPTransport(retries=2, limits=self._limits)
                )
            return self._direct_client

    # -- the one boundary --------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        direct: bool = False,
        idempotent: bool | None = None,
        json: Any = None,
        params: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
        into: str | None = None,
        sink: Callable[[IO[bytes]], None] | None = None,
        progress: Progress | None = None,
    ) -> httpx.Response:
        """Send one request, retried per :mod:`cairn.backend.retrying`; return the response,
        or raise the :mod:`cairn.errors` it means.

        ``content`` may be a function returning the body, called again for each attempt (a
        streamed body can be sent only once). ``idempotent`` (by default: by the method) says
        whether a request whose connection broke may be sent again. ``into`` streams the
        response body to that file (never whole in memory); ``sink`` is handed the body as a
        readable file instead. Either starts over if an attempt breaks off.
        """
        client = self._direct() if direct else self._api
        where = url if not direct else url.split("?", 1)[0]
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS

        def attempt() -> httpx.Response:
            payload = content() if callable(content) else content
            request = client.build_request(
                method, url, json=json, params=params, content=payload, headers=headers
            )
            response = client.send(request, stream=True)
            try:
                if not response.is_success:
                    response.read()
                    error = _error_from(response, direct=direct)
                    if response.status_code in RETRY_STATUSES:
                        wait = retry_after(response.headers.get("Retry-After"))
                        raise RetryableAnswer(error, response.status_code, wait)
                    raise error
                if sink is not None:
                    with io.BufferedReader(ChunkReader(response.iter_bytes(CHUNK)), CHUNK) as body:
                        sink(body)
                    return response
                if into is None:
                    response.read()
                    return response
                with open(into, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        if progress is not None:
                            progress(len(chunk))
                return response
            finally:
                response.close()

        # A one-shot body (an iterator) cannot be sent twice.
        replayable = content is None or callable(content) or isinstance(content, bytes | str)
        try:
            if not replayable:
                return attempt()
            return self._retry.call(attempt, idempotent=idempotent, what=f"{method} {where}")
        except RetryableAnswer as exc:
            raise exc.error from None
        except httpx.TimeoutException as exc:
            raise StorageError(f"{method} {where} timed out: {exc}") from exc
        except httpx.HTTPError as exc:
            what = "the blob store" if direct else f"the Cairn server at {self.base_url}"
            raise StorageError(f"cannot reach {what} ({method} {where}): {exc}") from exc

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._send(method, url, **kwargs).json()

    def _server_info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = self._json("GET", "/server")
        return self._info

    def _presigned(self) -> bool:
        return bool(self._server_info().get("presigned"))

    def _packs(self) -> dict[str, Any] | None:
        """The server's pack sizes (``GET /server``), or None if it takes no pack streams."""
        packs = self._server_info().get("packs")
        return dict(packs) if isinstance(packs, dict) else None

    @staticmethod
    def _project(entity: str, project: str) -> str:
        return f"/projects/{_seg(entity)}/{_seg(project)}"

    def default_entity(self) -> str:
        if self._entity is None:
            self._entity = str(self._json("GET", "/viewer")["entity"])
        return self._entity

    # -- runs and lineage --------------------------------------------------------------------
    def create_run(
        self,
        entity: str,
        project: str,
        *,
        run_id: str | None = None,
        name: str | None = None,
        job_type: str | None = None,
        group: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> RunRecord:
        body = {
            "run_id": run_id,
            "name": name,
            "job_type": job_type,
            "group": group,
            "config": config,
        }
        return RunRecord.from_wire(
            self._json("POST", f"{self._project(entity, project)}/runs", json=body)
        )

    def _run(self, entity: str, project: str, run_id: str) -> str:
        return f"{self._project(entity, project)}/runs/{_seg(run_id)}"

    def finish_run(self, entity: str, project: str, run_id: str, state: str = "finished") -> None:
        url = f"{self._run(entity, project, run_id)}/finish"
        self._send("POST", url, json={"state": state}, idempotent=True)

    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord:
        return RunRecord.from_wire(self._json("GET", self._run(entity, project, run_id)))

    def use_version(
        self,
        entity: str,
        project: str,
        run_id: str,
        version_id: str,
        use_as: str | None = None,
        link_id: str | None = None,
    ) -> None:
        self._send(
            "POST",
            f"{self._run(entity, project, run_id)}/inputs",
            json={"version_id": version_id, "use_as": use_as, "link_id": link_id},
        )

    def version_producer(self, version_id: str) -> RunRecord | None:
        run = self._json("GET", f"/versions/{_seg(version_id)}/producer")["run"]
        return RunRecord.from_wire(run) if run is not None else None

    def version_consumers(self, version_id: str) -> list[RunRecord]:
        runs = self._json("GET", f"/versions/{_seg(version_id)}/consumers")["runs"]
        return [RunRecord.from_wire(r) for r in runs]

    def run_versions(
        self, entity: str, project: str, run_id: str, *, used: bool
    ) -> list[VersionRecord]:
        out = self._json(
            "GET",
            f"{self._run(entity, project, run_id)}/versions",
            params={"used": "true" if used else "false"},
        )
        return [VersionRecord.from_wire(v) for v in out["versions"]]

    # -- what a run records --------------------------------------------------------------------
    def update_run(self, entity: str, project: str, run_id: str, change: RunUpdate) -> int:
        # Encoded here, not by httpx: history keeps NaN and infinities, as W&B's does.
        body = json.dumps(change.to_wire(), allow_nan=True, separators=(",", ":"))
        out = self._json(
            "PATCH",
            self._run(entity, project, run_id),
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        return int(out["stored"])

    def run_history(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        min_step: int = 0,
        max_step: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"min_step": min_step, "limit": limit}
        if max_step is not None:
            params["max_step"] = max_step
        out = self._json("GET", f"{self._run(entity, project, run_id)}/history", params=params)
        return list(out["rows"])

    def list_runs(
        self,
        entity: str,
        project: str,
        *,
        filters: dict[str, Any] | None = None,
        newest_first: bool = True,
        after: int | None = None,
        limit: int = 50,
    ) -> tuple[list[RunRecord], int | None]:
        params: dict[str, Any] = {"newest_first": str(newest_first).lower(), "limit": limit}
        if filters:
            params["filters"] = json.dumps(filters)
        if after is not None:
            params["after"] = after
        out = self._json("GET", f"{self._project(entity, project)}/runs", params=params)
        return [RunRecord.from_wire(r) for r in out["runs"]], out["next"]

    # -- the commit protocol -----------------------------------------------------------------
    def begin_version(self, spec: VersionSpec) -> str:
        # Repeating a begin whose answer was lost leaves one more PENDING version: invisible,
        # and collected with the other abandoned ones.
        return str(self._json("POST", "/versions", json=spec.to_wire(), idempotent=True)["id"])

    def missing_blobs(self, digests: Sequence[str]) -> list[str]:
        wanted = list(dict.fromkeys(digests))
        out: list[str] = []
        for i in range(0, len(wanted), DIGEST_BATCH):
            batch = wanted[i : i + DIGEST_BATCH]
            body = {"digests": batch}
            out.extend(self._json("POST", "/blobs/missing", json=body, idempotent=True)["missing"])
        return out

    def add_entries(self, version_id: str, manifest: Manifest) -> int:
        url = f"/versions/{_seg(version_id)}/entries"
        # Entries merge: the same entries again add nothing.
        return int(
            self._json("POST", url, idempotent=True, **_streamed_json({}, manifest))["added"]
        )

    def commit_version(
        self,
        version_id: str,
        manifest: Manifest | None,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> VersionRecord:
        fields = {"aliases": list(aliases), "tags": list(tags)}
        url = f"/versions/{_seg(version_id)}/commit"
        key = _idempotency_key()
        if manifest is None:
            out = self._json("POST", url, json=fields, headers=key, idempotent=True)
            return VersionRecord.from_wire(out)
        request = _streamed_json(fields, manifest)
        request["headers"].update(key)
        return VersionRecord.from_wire(self._json("POST", url, idempotent=True, **request))

    def commit_if_unchanged(
        self,
        version_id: str,
        digest: str,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
    ) -> VersionRecord | None:
        if not self._server_info().get("commit_unchanged"):
            return None  # an older server: the caller commits the manifest
        url = f"/versions/{_seg(version_id)}/commit-unchanged"
        body = {"digest": digest, "aliases": list(aliases), "tags": list(tags)}
        out = self._json("POST", url, json=body, headers=_idempotency_key(), idempotent=True)
        found = out["version"]
        return VersionRecord.from_wire(found) if found is not None else None

    def abort_version(self, version_id: str) -> None:
        self._send("POST", f"/versions/{_seg(version_id)}/abort", idempotent=True)

    # -- uploads -----------------------------------------------------------------------------
    def upload_blobs(self, blobs: Sequence[BlobUpload], progress: Progress | None = None) -> None:
        if not blobs:
            return
        packs = self._packs()
        if packs is not None:
            small = [b for b in blobs if b.size < int(packs["threshold"])]
            if small:
                self._upload_packs(small, packs, progress)
            blobs = [b for b in blobs if b.size >= int(packs["threshold"])]
            if not blobs:
                return
        if self._presigned():
            self._upload_direct(blobs, progress)
            return

        def put(b: BlobUpload) -> None:
            with open(b.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self._send(
                    "PUT",
                    f"/blobs/{b.digest}",
                    content=lambda: _Reading(f, progress),
                    headers={
                        "Content-Length": str(size),
                        "Content-Type": "application/octet-stream",
                    },
                )

        _run_all(put, blobs, self.workers)

    def _upload_packs(
        self, blobs: Sequence[BlobUpload], packs: dict[str, Any], progress: Progress | None
    ) -> None:
        """Send small blobs as pack streams of about ``packs["target"]`` bytes, in parallel."""
        groups = packing.group(
            blobs,
            lambda b: b.size,
            target=int(packs["target"]),
            max_items=int(packs["max_blobs"]),
        )

        def send(group: list[BlobUpload]) -> None:
            chunks, length = packing.pack_body(group)
            try:
                self._send(
                    "POST",
                    "/blobs/packs",
                    idempotent=True,  # content-addressed: the same blobs again store nothing
                    content=lambda: iter(chunks),
                    headers={"Content-Length": str(length), "Content-Type": PACK_TYPE},
                )
            except DigestMismatchError as exc:
                raise packing.name_changed_files(exc, group) from None
            if progress is not None:
                progress(length)

        # Each pack is held in memory while it is sent: a few at a time keep that bounded.
        _run_all(send, groups, min(self.workers, PACKS_IN_FLIGHT))

    def _upload_direct(self, blobs: Sequence[BlobUpload], progress: Progress | None) -> None:
        by_digest = {b.digest: b for b in blobs}
        plan: list[dict[str, Any]] = []
        items = list(by_digest.values())
        for i in range(0, len(items), DIGEST_BATCH):
            body = {
                "blobs": [{"digest": b.digest, "size": b.size} for b in items[i : i + DIGEST_BATCH]]
            }
            plan.extend(self._json("POST", "/blobs/uploads", json=body, idempotent=True)["uploads"])
        singles = [p for p in plan if "put" in p]
        multis = [p for p in plan if "multipart" in p]

        def put(p: dict[str, Any]) -> None:
            b = by_digest[p["digest"]]
            req = p["put"]
            with open(b.path, "rb") as f:
                _check_size(b, os.fstat(f.fileno()).st_size)
                self._send(
                    req["method"],
                    req["url"],
                    direct=True,
                    content=lambda: _Reading(f, progress),
                    headers=dict(req["headers"]),
                )

        def multipart(p: dict[str, Any]) -> None:
            b = by_digest[p["digest"]]
            try:
                self._upload_multipart(b, p["multipart"], progress)
            except NotFoundError:
                # The upload is gone: a completion cut off half-way (its server killed) used it
                # up without recording the blob, or it expired. The bytes are content-addressed,
                # so sending them again under a new upload is safe; if the blob was recorded
                # after all, the new plan is empty.
                body = {"blobs": [{"digest": b.digest, "size": b.size}]}
                plan = self._json("POST", "/blobs/uploads", json=body, idempotent=True)
                for q in plan["uploads"]:
                    self._upload_multipart(b, q["multipart"], progress)

        # Large blobs first: each runs its own parts in parallel.
        for p in multis:
            multipart(p)
        _run_all(put, singles, self.workers)
        for i in range(0, len(singles), DIGEST_BATCH):
            body = {
                "blobs": [
                    {"digest": p["digest"], "size": by_digest[p["digest"]].size}
                    for p in singles[i : i + DIGEST_BATCH]
                ]
            }
            self._send("POST", "/blobs/confirm", json=body, idempotent=True)

    def _upload_multipart(
        self, b: BlobUpload, upload: dict[str, Any], progress: Progress | None
    ) -> None:
        """Send the parts the store lacks (an interrupted upload resumes), then complete."""
        upload_id, part_size = str(upload["upload_id"]), int(upload["part_size"])
        size = os.path.getsize(b.path)
        _check_size(b, size)
        count = max(1, -(-size // part_size))
        done = {int(d["number"]): int(d["size"]) for d in upload.get("done", [])}
        todo: list[tuple[int, int, int]] = []
        for n in range(1, count + 1):
            offset = (n - 1) * part_size
            length = min(part_size, size - offset)
            if done.get(n) == length:
                if progress is not None:
                    progress(length)
                continue
            todo.append((n, offset, length))

        def send_part(part: tuple[int, int, int]) -> None:
            n, offset, length = part
            md5 = _md5_b64(b.path, offset, length)
            body = {"upload_id": upload_id, "parts": [{"number": n, "md5": md5, "size": length}]}
            url = f"/blobs/{b.digest}/parts"
            req = self._json("POST", url, json=body, idempotent=True)["parts"][0]
            self._send(
                req["method"],
                req["url"],
                direct=True,
                content=lambda: _counting(_file_range(b.path, offset, length), progress),
                headers=dict(req["headers"]),
            )

        _run_all(send_part, todo, self.workers)
        body = {"upload_id": upload_id}
        self._send("POST", f"/blobs/{b.digest}/complete", json=body, idempotent=True)

    # -- reading -----------------------------------------------------------------------------
    def get_version(self, version_id: str) -> VersionRecord:
        return VersionRecord.from_wire(self._json("GET", f"/versions/{_seg(version_id)}"))

    def resolve(self, entity: str, project: str, collection: str, alias: str) -> VersionRecord:
        coll = f"{self._project(entity, project)}/collections/{_seg(collection)}"
        url = f"{coll}/versions/{_seg(alias)}"
        return VersionRecord.from_wire(self._json("GET", url))

    def get_manifest(self, version_id: str) -> tuple[str, bytes]:
        response = self._send("GET", f"/versions/{_seg(version_id)}/manifest")
        return response.headers.get(MANIFEST_DIGEST_HEADER, ""), response.content

    def list_files(
        self,
        version_id: str,
        *,
        names: Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        limit = max(1, min(int(limit), 10_000))
        url = f"/versions/{_seg(version_id)}/files"
        if names is None:
            params: dict[str, Any] = {"limit": limit}
            if after is not None:
                params["after"] = after
            out = self._json("GET", url, params=params)
        else:
            body = {"names": list(names), "after": after, "limit": limit}
            out = self._json("POST", f"{url}/query", json=body, idempotent=True)
        return list(out["files"]), out["next"]

    def fetch_blobs(
        self, blobs: Sequence[BlobDownload], progress: Progress | None = None
    ) -> set[str]:
        """Small blobs come many to a request, large ones stream to their files; every one is
        hashed on arrival (all digests are returned as checked)."""
        if not blobs:
            return set()
        if self._presigned():
            return self._fetch_direct(blobs, progress)
        packs = self._packs()
        small: list[BlobDownload] = []
        large = list(blobs)
        if packs is not None:
            threshold = int(packs["threshold"])
            small = [b for b in blobs if b.size is not None and b.size < threshold]
            large = [b for b in blobs if b.size is None or b.size >= threshold]

        def get(b: BlobDownload) -> None:
            def sink(body: IO[bytes]) -> None:  # hashed as it is written: never read back
                write_verified(body, b.dest, b.digest, progress)

            self._send("GET", f"/blobs/{b.digest}", sink=sink)

        if small:
            assert packs is not None
            self._fetch_packed(small, packs, progress)
        _run_all(get, large, self.workers)
        return {b.digest for b in blobs}

    def _fetch_packed(
        self, blobs: Sequence[BlobDownload], packs: dict[str, Any], progress: Progress | None
    ) -> None:
        """Fetch small blobs many to a request: ``POST /blobs/read`` answers a pack stream."""
        dests = _dests(blobs)
        unique = [next(iter(g)) for g in _by_digest(blobs).values()]
        groups = packing.group(
            unique,
            lambda b: b.size or 0,
            target=int(packs.get("range_bytes", packs["target"])),
            max_items=int(packs["max_blobs"]),
        )

        def read(group: list[BlobDownload]) -> None:
            def sink(body: IO[bytes]) -> None:
                layout = read_header(body, max_blobs=len(group))
                packing.split_into(body, layout, dests, progress)

            body = {"digests": [b.digest for b in group]}
            self._send("POST", "/blobs/read", json=body, sink=sink, idempotent=True)

        _run_all(read, groups, self.workers)

    def _fetch_direct(self, blobs: Sequence[BlobDownload], progress: Progress | None) -> set[str]:
        """Fetch straight from the store: a GET per blob of its own, a ranged GET per run of
        neighbours in a pack."""
        dests = _dests(blobs)
        digests = list(dests)
        singles: dict[str, dict[str, Any]] = {}
        ranges: list[dict[str, Any]] = []
        for i in range(0, len(digests), DIGEST_BATCH):
            body = {"digests": digests[i : i + DIGEST_BATCH]}
            plan = self._json("POST", "/blobs/downloads", json=body, idempotent=True)
            singles.update(plan["downloads"])
            ranges.extend(plan.get("ranges", []))
        covered = set(singles) | {d for r in ranges for d, _ in r["blobs"]}
        absent = [d for d in digests if d not in covered]
        if absent:
            raise BlobNotFoundError(f"blob {absent[0]} not found", details={"missing": absent})

        def get_single(digest: str) -> None:
            req = singles[digest]
            first, *more = dests[digest]

            def sink(body: IO[bytes]) -> None:
                write_verified(body, first, digest, progress)

            self._send(
                req["method"], req["url"], direct=True, headers=dict(req["headers"]), sink=sink
            )
            for dest in more:
                shutil.copyfile(first, dest)

        def get_range(req: dict[str, Any]) -> None:
            layout = [(str(d), int(n)) for d, n in req["blobs"]]

            def sink(body: IO[bytes]) -> None:
                packing.split_into(body, layout, dests, progress)

            self._send(
                req["method"], req["url"], direct=True, headers=dict(req["headers"]), sink=sink
            )

        jobs = [functools.partial(get_range, r) for r in ranges]
        jobs += [functools.partial(get_single, d) for d in singles]
        _run_all(lambda job: job(), jobs, self.workers)
        return set(digests)

    def list_versions(
        self,
        entity: str,
        project: str,
        collection: str,
        *,
        after_index: int | None = None,
        limit: int = 50,
        tags: Sequence[str] | None = None,
    ) -> tuple[list[VersionRecord], int | None]:
        params: dict[str, Any] = {"limit": max(1, min(int(limit), 1000))}
        if after_index is not None:
            params["after_index"] = after_index
        if tags:
            params["tag"] = list(tags)
        url = f"{self._project(entity, project)}/collections/{_seg(collection)}/versions"
        out = self._json("GET", url, params=params)
        return [VersionRecord.from_wire(v) for v in out["versions"]], out["next"]

    def get_collection(self, entity: str, project: str, name: str) -> CollectionRecord:
        url = f"{self._project(entity, project)}/collections/{_seg(name)}"
        return CollectionRecord.from_wire(self._json("GET", url))

    def list_collections(
        self, entity: str, project: str, type_name: str | None = None
    ) -> list[CollectionRecord]:
        out: list[CollectionRecord] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if type_name is not None:
                params["type"] = type_name
            if after is not None:
                params["after"] = after
            page = self._json("GET", f"{self._project(entity, project)}/collections", params=params)
            out.extend(CollectionRecord.from_wire(c) for c in page["collections"])
            after = page["next"]
            if after is None:
                return out

    def list_types(self, entity: str, project: str) -> list[TypeRecord]:
        out = self._json("GET", f"{self._project(entity, project)}/types")
        return [TypeRecord.from_wire(t) for t in out["types"]]

    # -- changing ----------------------------------------------------------------------------
    def update_version(self, version_id: str, change: VersionUpdate) -> VersionRecord:
        body = {
            "description": change.description,
            "metadata": change.metadata,
            "aliases": list(change.aliases) if change.aliases is not None else None,
            "tags": list(change.tags) if change.tags is not None else None,
            "clear_description": change.clear_description,
            "ttl_seconds": change.ttl_seconds,
        }
        if change.latest is not None:  # sent only when set: a server before it refuses the key
            body["latest"] = change.latest
        return VersionRecord.from_wire(
            self._json("PATCH", f"/versions/{_seg(version_id)}", json=body)
        )

    def delete_version(
        self, version_id: str, *, delete_aliases: bool = False, delete_links: bool = False
    ) -> None:
        self._send(
            "DELETE",
            f"/versions/{_seg(version_id)}",
            params={
                "delete_aliases": "true" if delete_aliases else "false",
                "delete_links": "true" if delete_links else "false",
            },
        )

    # -- portfolios, registries, collections, TTL --------------------------------------------
    def link_version(
        self, version_id: str, entity: str, project: str, portfolio: str, aliases: Sequence[str]
    ) -> VersionRecord:
        body: dict[str, Any] = {"entity": entity, "project": project, "portfolio": portfolio}
        body["aliases"] = list(aliases)
        url = f"/versions/{_seg(version_id)}/links"
        return VersionRecord.from_wire(self._json("POST", url, json=body))

    def unlink_version(self, link_id: str) -> None:
        self._send("DELETE", f"/links/{_seg(link_id)}")

    def set_link_aliases(self, link_id: str, aliases: Sequence[str]) -> VersionRecord:
        url = f"/links/{_seg(link_id)}/aliases"
        return VersionRecord.from_wire(self._json("PUT", url, json={"aliases": list(aliases)}))

    def version_links(self, version_id: str) -> list[VersionRecord]:
        out = self._json("GET", f"/versions/{_seg(version_id)}/links")
        return [VersionRecord.from_wire(v) for v in out["versions"]]

    def update_collection(
        self,
        entity: str,
        project: str,
        name: str,
        *,
        description: str | None,
        tags: Sequence[str] | None,
    ) -> CollectionRecord:
        url = f"{self._project(entity, project)}/collections/{_seg(name)}"
        body = {"description": description, "tags": list(tags) if tags is not None else None}
        return CollectionRecord.from_wire(self._json("PATCH", url, json=body))

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        self._send("DELETE", f"{self._project(entity, project)}/collections/{_seg(name)}")

    def list_registries(self, entity: str | None = None) -> list[RegistryRecord]:
        params = {"entity": entity} if entity is not None else None
        out = self._json("GET", "/registries", params=params)
        return [RegistryRecord.from_wire(r) for r in out["registries"]]

    def expire_versions(self, *, dry_run: bool = False) -> list[VersionRecord]:
        out = self._json("POST", "/gc/expire", json={"dry_run": dry_run})
        return [VersionRecord.from_wire(v) for v in out["versions"]]

    def set_default_ttl(self, entity: str, seconds: int | None) -> None:
        self._send("PUT", f"/entities/{_seg(entity)}/ttl", json={"seconds": seconds})

    def get_default_ttl(self, entity: str) -> int | None:
        seconds = self._json("GET", f"/entities/{_seg(entity)}/ttl")["seconds"]
        return int(seconds) if seconds is not None else None

    # -- lineage, history and diffs ----------------------------------------------------------
    def version_lineage(self, version_id: str, *, direction: str, depth: int) -> LineageRecord:
        out = self._json(
            "GET",
            f"/versions/{_seg(version_id)}/lineage",
            params={"direction": direction, "depth": depth},
        )
        return LineageRecord.from_wire(out)

    def run_lineage(
        self, entity: str, project: str, run_id: str, *, direction: str, depth: int
    ) -> LineageRecord:
        out = self._json(
            "GET",
            f"{self._run(entity, project, run_id)}/lineage",
            params={"direction": direction, "depth": depth},
        )
        return LineageRecord.from_wire(out)

    def _history(
        self, url: str, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        out = self._json("GET", url, params=params)
        return [HistoryEvent.from_wire(e) for e in out["events"]], out["next"]

    def version_history(
        self, version_id: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        return self._history(f"/versions/{_seg(version_id)}/history", after, limit)

    def collection_history(
        self, entity: str, project: str, collection: str, *, after: int | None, limit: int
    ) -> tuple[list[HistoryEvent], int | None]:
        url = f"{self._project(entity, project)}/collections/{_seg(collection)}/history"
        return self._history(url, after, limit)

    def diff_summary(self, a: str, b: str) -> DiffSummary:
        return DiffSummary.from_wire(self._json("GET", f"/versions/{_seg(a)}/diff/{_seg(b)}"))

    def diff_entries(
        self, a: str, b: str, *, after: str | None, limit: int
    ) -> tuple[list[DiffEntry], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        out = self._json("GET", f"/versions/{_seg(a)}/diff/{_seg(b)}/entries", params=params)
        return [DiffEntry.from_wire(e) for e in out["entries"]], out["next"]

    # -- maintenance -------------------------------------------------------------------------
    def collect_garbage(self, *, pending_older_than: timedelta = timedelta(hours=24)) -> int:
        body = {"pending_older_than_seconds": pending_older_than.total_seconds()}
        return int(self._json("POST", "/gc", json=body)["dropped"])

    def reclaim_storage(
        self, *, grace: timedelta = timedelta(hours=24), repack_below: float = 0.5
    ) -> StorageReport:
        body = {"grace_seconds": grace.total_seconds(), "repack_below": repack_below}
        return StorageReport.from_wire(self._json("POST", "/gc/storage", json=body))

    def close(self) -> None:
        self._api.close()
        with self._direct_lock:
            if self._direct_client is not None:
                self._direct_client.close()
                self._direct_client = None


class _Reading:
    """A file's bytes as an iterator of chunks, reporting progress (httpx streams it)."""

    def __init__(self, f: IO[bytes], progress: Progress | None) -> None:
        self._f = f
        self._progress = progress

    def __iter__(self) -> Iterator[bytes]:
        self._f.seek(0)  # from the start again if an attempt is retried
        while chunk := self._f.read(CHUNK):
            if self._progress is not None:
                self._progress(len(chunk))
            yield chunk


def _counting(chunks: Iterator[bytes], progress: Progress | None) -> Iterator[bytes]:
    for chunk in chunks:
        if progress is not None:
            progress(len(chunk))
        yield chunk


def _by_digest(blobs: Sequence[BlobDownload]) -> dict[str, list[BlobDownload]]:
    out: dict[str, list[BlobDownload]] = {}
    for b in blobs:
        out.setdefault(b.digest, []).append(b)
    return out


def _dests(blobs: Sequence[BlobDownload]) -> dict[str, list[str]]:
    """Each digest's destination files (one blob may be wanted in several places)."""
    return {d: [b.dest for b in group] for d, group in _by_digest(blobs).items()}


def _idempotency_key() -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: uuid.uuid4().hex}


def _streamed_json(fields: dict[str, Any], manifest: Manifest) -> dict[str, Any]:
    """Request arguments for ``{**fields, "manifest": manifest}`` as JSON, streamed a thousand
    entries at a time: a manifest of a million entries is never one document in memory. The
    body is a function, so a retry streams it again."""

    def body() -> Iterator[bytes]:
        head = json.dumps(fields, separators=(",", ":"))[:-1]
        yield (head + ("," if fields else "") + '"manifest":').encode()
        yield from manifest.iter_canonical()
        fault_point("log.mid_commit")  # the server has the manifest but not the body's end
        yield b"}"

    return {"content": body, "headers": {"Content-Type": "application/json"}}
