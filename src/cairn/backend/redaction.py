"""Presigned URLs never reach a log.

A presigned store URL is a bearer credential: its query string carries the signature (and the
access key id). httpx logs every request's full URL at INFO (``HTTP Request: PUT https://…``),
so anyone who turns INFO logging on would print them. :func:`install` puts a filter on the
``httpx`` logger that cuts the query string off every URL in its records.
"""

from __future__ import annotations

import logging
import re

import httpx

_QUERY = re.compile(r"(https?://[^\s?\"']*)\?[^\s\"']*")
REDACTED = "?[redacted]"


def redact(url: object) -> str:
    """``url`` as text with its query string (a signature, perhaps) replaced."""
    return _QUERY.sub(lambda m: m.group(1) + REDACTED, str(url))


class RedactQueries(logging.Filter):
    """Rewrites a record's URLs without their query strings; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(a) if isinstance(a, httpx.URL) or (isinstance(a, str) and "?" in a) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = redact(record.msg)
        return True


def install(logger_name: str = "httpx") -> None:
    """Filter ``logger_name``'s records (once, however often it is called)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactQueries) for f in logger.filters):
        logger.addFilter(RedactQueries())
