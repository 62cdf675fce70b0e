"""The SDK clients' transport: environment lookups kept per origin, the same answers as requests' own."""

from __future__ import annotations

import pytest
import requests
from azure.storage.blob._shared import constants as storage_constants

from shared.azure import transport as kiln_transport
from shared.azure.transport import STORAGE_TRANSPORT, EnvCachedSession

URL = "https://management.example.net/subscriptions/x"


def _settings(session: requests.Session, url: str = URL) -> dict[str, object]:
    return session.merge_environment_settings(url, {}, None, True, None)


def test_answers_as_requests_does_and_follows_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    cached, plain = EnvCachedSession(), requests.Session()

    assert _settings(cached) == _settings(plain)
    assert _settings(cached)["proxies"]["https"] == "http://proxy.example:3128"
    assert _settings(cached, "https://localhost:8443/x") == _settings(plain, "https://localhost:8443/x")

    monkeypatch.setenv("HTTPS_PROXY", "http://other.example:8080")  # a change is seen by the next request
    assert _settings(cached)["proxies"]["https"] == "http://other.example:8080"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    assert _settings(cached)["verify"] == "/etc/ssl/bundle.pem" == _settings(plain)["verify"]


def test_the_environment_is_read_once_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counted(url: str, no_proxy: object = None) -> dict[str, str]:
        calls.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)
    session = EnvCachedSession()
    for _ in range(5):
        _settings(session)
        _settings(session, "https://other.example.net/y")
    answer = _settings(session)
    answer["proxies"]["https"] = "changed by a caller"

    assert len(calls) == 2
    assert _settings(session)["proxies"] != answer["proxies"]  # each caller gets its own copy


def test_storage_transport_settings_are_the_storage_sdks_own() -> None:
    assert STORAGE_TRANSPORT == {
        "connection_timeout": storage_constants.CONNECTION_TIMEOUT,
        "read_timeout": storage_constants.READ_TIMEOUT,
        "connection_data_block_size": storage_constants.DATA_BLOCK_SIZE,
    }
    made = kiln_transport.storage_transport()
    assert isinstance(made.session, EnvCachedSession)
    assert made.connection_config.timeout == storage_constants.CONNECTION_TIMEOUT
    assert made.connection_config.read_timeout == storage_constants.READ_TIMEOUT
