"""Sending requests: the pooled clients, and :meth:`Sender._send`, the one boundary where
httpx exceptions and error answers become :mod:`cairn.errors` (retried per
:mod:`cairn.backend.retrying`). What the server announces (:class:`cairn.wire.ServerInfo`) is
read once and obeyed by uploads and downloads."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx

from cairn.backend import redaction
from cairn.backend.base import Progress
from cairn.backend.http.errors import error_from
from cairn.backend.packing import ChunkReader
from cairn.backend.retrying import RETRY_STATUSES, RetryableAnswer, RetryPolicy, retry_after
from cairn.config import Settings
from cairn.errors import StorageError, ValidationError
from cairn.version import __version__
from cairn.wire import PackLimits, ServerInfo

T = TypeVar("T")
CHUNK = 1 << 20
# Methods whose repetition cannot change the outcome (RFC 9110, 9.2.2); other requests say so.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=600.0, pool=600.0)


def seg(value: str) -> str:
    """One URL path segment; '.' and '..' are escaped so no client normalises them away."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def run_all(fn: Callable[[T], None], items: Sequence[T], workers: int) -> None:
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


class Sender:
    """Requests to a Cairn server at ``settings.base_url``, and to the store URLs it presigns."""

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
        self._info: ServerInfo | None = None
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
                    error = error_from(response, direct=direct)
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

    def server_info(self) -> ServerInfo:
        """What the server announces (``GET /server``), asked once."""
        if self._info is None:
            self._info = ServerInfo.model_validate(self._json("GET", "/server"))
        return self._info

    def _presigned(self) -> bool:
        return self.server_info().presigned

    def _packs(self) -> PackLimits | None:
        """The server's pack sizes, or None if it takes no pack streams."""
        return self.server_info().packs

    def batch(self) -> int:
        """Digests to send in one request: what the server takes."""
        return self.server_info().max_digests

    @staticmethod
    def _project(entity: str, project: str) -> str:
        return f"/projects/{seg(entity)}/{seg(project)}"

    def default_entity(self) -> str:
        if self._entity is None:
            self._entity = str(self._json("GET", "/viewer")["entity"])
        return self._entity

    def close(self) -> None:
        self._api.close()
        with self._direct_lock:
            if self._direct_client is not None:
                self._direct_client.close()
                self._direct_client = None
