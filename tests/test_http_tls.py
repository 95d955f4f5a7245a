"""The HTTP backend skips certificate loading only where no TLS can happen."""

from __future__ import annotations

import ssl

import pytest

from cairn.backend.http import HttpBackend
from cairn.config import Settings


def _verify_mode(base_url: str) -> ssl.VerifyMode:
    backend = HttpBackend(Settings.resolve(base_url=base_url, api_key="cairn_test"))
    try:
        # White-box: httpx keeps the transport's SSL context on its connection pool.
        return backend._api._transport._pool._ssl_context.verify_mode  # type: ignore[attr-defined]
    finally:
        backend.close()


@pytest.mark.parametrize(
    "url", ["https://cairn.example", "HTTPS://cairn.example", "Https://x:8443"]
)
def test_https_servers_are_verified_whatever_the_case(url: str) -> None:
    assert _verify_mode(url) == ssl.CERT_REQUIRED


def test_a_plain_http_server_behind_a_proxy_is_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "https://proxy.example:3128")
    assert _verify_mode("http://cairn.example") == ssl.CERT_REQUIRED


def test_a_plain_http_server_needs_no_certificates(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert _verify_mode("http://127.0.0.1:8080") == ssl.CERT_NONE
