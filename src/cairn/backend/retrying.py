"""The HTTP backend's one retry policy: which failures are asked again, how long to wait.

A server restarting for a few seconds, a load balancer shedding load or a connection dropped
mid-transfer must not fail a log. :class:`RetryPolicy` wraps each request of
:meth:`cairn.backend.http.HttpBackend._send` in a ``tenacity`` retrier:

==============================================  ==============================================
failure                                         retried for
==============================================  ==============================================
connection refused / connect or pool timeout    every request (it never reached the server)
429, 503                                        every request (refused before any work)
dropped connection, read/write error, timeout   idempotent requests only
502, 504                                        idempotent requests only
==============================================  ==============================================

A request is idempotent when repeating it cannot change the outcome: reads, content-addressed
uploads (a blob or pack is stored under the hash of its bytes), ``missing``/plans/parts, and
commits, which carry an ``Idempotency-Key`` the server remembers with the version it made.
Waits grow exponentially with jitter (so clients cut off together do not return together),
a ``Retry-After`` the server sends is honoured, and both the number of retries and the total
time are bounded (``CAIRN_HTTP_RETRIES``, ``CAIRN_HTTP_RETRY_SECONDS``).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import tenacity

from cairn.config import Settings

T = TypeVar("T")
log = logging.getLogger("cairn.http")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The server (or the proxy in front of it) refused before doing any work.
_NOT_HANDLED = frozenset({429, 503})
# The request never left: nothing can have happened on the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The connection broke while the request may have been in progress.
_BROKEN = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.TimeoutException)


class RetryableAnswer(Exception):
    """A server's answer worth asking again; ``error`` is what it means if retries run out."""

    def __init__(self, error: Exception, status: int, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.retry_after = retry_after


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def transient(exc: BaseException, idempotent: bool) -> bool:
    """Whether the failure ``exc`` of a request may pass if the request is sent again."""
    if isinstance(exc, RetryableAnswer):
        return idempotent or exc.status in _NOT_HANDLED
    if isinstance(exc, _NOT_SENT):
        return True
    return idempotent and isinstance(exc, _BROKEN)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed request is retried (0 retries: never)."""

    retries: int = 8
    total_seconds: float = 120.0
    first_wait: float = 0.25
    max_wait: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(retries=settings.http_retries, total_seconds=settings.http_retry_seconds)

    def call(self, fn: Callable[[], T], *, idempotent: bool, what: str) -> T:
        """``fn()``, retried while it fails transiently; the last failure is raised as is.

        ``what`` names the request in the log line each retry writes (no query string: a
        presigned URL's signature never reaches a log).
        """
        if self.retries <= 0:
            return fn()
        # Doubling waits, plus a random part so clients cut off together spread out.
        backoff = tenacity.wait_exponential(
            multiplier=self.first_wait, max=self.max_wait
        ) + tenacity.wait_random(0, self.first_wait)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            if isinstance(exc, RetryableAnswer) and exc.retry_after is not None:
                return min(exc.retry_after, self.total_seconds)
            return float(backoff(state))

        def note(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            log.warning(
                "%s failed (%s: %s); retry %d of %d in %.1f s",
                what,
                type(exc).__name__,
                exc,
                state.attempt_number,
                self.retries,
                delay,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retries + 1)
            | tenacity.stop_after_delay(self.total_seconds),
            wait=wait,
            retry=tenacity.retry_if_exception(lambda e: transient(e, idempotent)),
            before_sleep=note,
            reraise=True,
        )
        return retrying(fn)
